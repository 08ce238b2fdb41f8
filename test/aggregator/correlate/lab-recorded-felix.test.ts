/**
 * #15: the lab's two Felix releases, from real outputs recorded in the namespace lab
 * (test/fixtures/lab/felix-current: current Felix's accept-then-drop guard on cali40all-vxlan-net
 * written with iptables-nft; test/fixtures/lab/felix-legacy: older Felix's negated DROP on
 * cali40all-hosts-net written with iptables-legacy; see their SOURCES.md). Each node's recording
 * goes through the agent's own parsers, the iptables reduction (with the guard derivation), the
 * ipsets collector's set selection, identity/mode derivation and local checks into a report; then
 * correlate() runs over the three nodes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import type { NodeState } from '../../../aggregator/cluster/node-state.js';
import { summariseFamily } from '../../../agent/collectors/iptables.js';
import { parseBridgeFdbJson } from '../../../agent/parsers/bridge-fdb.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { parseIptablesSave } from '../../../agent/parsers/iptables-save.js';
import type { Finding } from '../../../contract/finding.js';
import { ok, unavailable } from '../../../contract/result.js';
import type { Sections, Snapshot } from '../../../contract/snapshot.js';
import { inputOf } from '../../helpers/reports.js';
import { iptablesSection, ipsetsSection, must, recordedSnapshot, recordedState } from '../../helpers/lab-recorded.js';

const LAB = join(import.meta.dirname, '../../fixtures/lab');

type Release = 'current' | 'legacy';

const snapshotFrom = (release: Release, dir: string, node: string): Snapshot => {
  const read = (file: string) => readFileSync(join(LAB, `felix-${release}`, dir, file), 'utf8');
  const v4 = summariseFamily('ipv4', must(parseIptablesSave(read('iptables-save-c.txt'))));
  const sets = must(parseIpsetSave(read('ipset-save.txt')));
  const sections: Sections = {
    links: ok(must(parseIpLinks(read('ip-j-d-s-link-show.json')))),
    addresses: ok(must(parseIpAddrs(read('ip-j-addr-show.json')))),
    routes: ok([...must(parseIpRoutes(read('ip-j-route-show-table-all.json'), 'inet')), ...must(parseIpRoutes(read('ip-j-6-route-show-table-all.json'), 'inet6'))]),
    neighbours: ok(must(parseIpNeigh(read('ip-j-neigh-show.json')))),
    fdb: ok(must(parseBridgeFdbJson(read('bridge-j-fdb-show.json'))).filter((e) => e.dev === 'vxlan.calico')),
    sysctls: unavailable('not-present', 'not built in this test'),
    iptables: iptablesSection(release === 'current' ? 'nft' : 'legacy', v4),
    ipsets: ipsetsSection(sets),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: unavailable('not-present', 'no BIRD socket'),
  };
  return recordedSnapshot(node, sections);
};

const stateFrom = (release: Release, dir: string, node: string): NodeState & { local: Finding[] } => recordedState(snapshotFrom(release, dir, node));

/** node1 from `dir` (the fault's recording), node2 and node3 healthy. */
const cluster = (release: Release, dir = 'healthy-node1') => [
  stateFrom(release, dir, 'node1'),
  stateFrom(release, 'healthy-node2', 'node2'),
  stateFrom(release, 'healthy-node3', 'node3'),
];
const serious = (fs: Finding[]) => fs.filter((f) => f.severity !== 'info');
const ruleOf = (rule: string, fs: { rule: string; node: string; peer?: string }[]) => fs.filter((f) => f.rule === rule).map((f) => [f.node, f.peer ?? null]);

const SET: Record<Release, string> = { current: 'cali40all-vxlan-net', legacy: 'cali40all-hosts-net' };
const GUARD: Record<Release, object> = {
  current: { family: 'ipv4', encapsulation: 'vxlan', form: 'accept-then-drop', set: 'cali40all-vxlan-net', table: 'filter', chain: 'cali-INPUT', drop: expect.objectContaining({ index: 2 }) },
  legacy: { family: 'ipv4', encapsulation: 'vxlan', form: 'negated-drop', set: 'cali40all-hosts-net', table: 'filter', chain: 'cali-INPUT', drop: expect.objectContaining({ index: 1 }) },
};

// #15
describe.each(['current', 'legacy'] as const)('recorded lab, %s Felix', (release) => {
  it('healthy: each node derives its guard and the guarding set holds every node IP; no local or cluster finding above info', () => {
    const nodes = cluster(release);
    for (const n of nodes) {
      const ipt = n.report.sections.iptables;
      expect(ipt.status === 'ok' && ipt.data.encapGuards).toEqual([GUARD[release]]);
      expect(serious(n.local), n.node).toEqual([]);
    }
    const { findings, map } = correlate(inputOf(nodes));
    expect(findings).toEqual([]);
    for (const m of map.nodes) expect([...(m.allowedHosts ?? [])].sort()).toEqual(['10.213.0.11', '10.213.0.12', '10.213.0.13']);
  });

  it('node2 missing from node1\'s guarding set: host-not-in-allowed-set on node1 naming node2, only', () => {
    const nodes = cluster(release, 'host-not-in-ipset-node1');
    const { findings } = correlate(inputOf(nodes));
    expect(ruleOf('host-not-in-allowed-set', findings)).toEqual([['node1', 'node2']]);
    expect(findings.find((f) => f.rule === 'host-not-in-allowed-set')!.evidence.details).toMatchObject({ sets: [SET[release]], peerAddresses: ['10.213.0.12'] });
  });

  it("node1's guarding set flushed: ipset-all-hosts-missing (critical) on node1, not a finding per peer", () => {
    const nodes = cluster(release, 'guard-set-flushed-node1');
    expect(ruleOf('ipset-all-hosts-missing', nodes[0]!.local)).toEqual([['node1', null]]);
    expect(nodes[0]!.local.find((f) => f.rule === 'ipset-all-hosts-missing')).toMatchObject({ severity: 'critical', evidence: { details: { set: SET[release], members: 0 } } });
    expect(ruleOf('host-not-in-allowed-set', correlate(inputOf(nodes)).findings)).toEqual([]);
  });

  it("a DROP of node2's VXLAN in node1's cali-INPUT: host-not-in-allowed-set on node1 naming node2 and the rule", () => {
    const nodes = cluster(release, 'encap-drop-input-node1');
    const ipt = nodes[0]!.report.sections.iptables;
    expect(ipt.status === 'ok' && ipt.data.dropRules.find((d) => d.index === 1 && d.chain === 'cali-INPUT')).toMatchObject({ encapsulation: 'vxlan', sources: ['10.213.0.12/32'] });
    // the injected rule sits above the guard: the guard moved one down and is still derived
    expect(ipt.status === 'ok' && ipt.data.encapGuards?.map((g) => g.drop.index)).toEqual([release === 'current' ? 3 : 2]);
    const { findings } = correlate(inputOf(nodes));
    expect(findings.filter((f) => f.rule === 'host-not-in-allowed-set').map((f) => [f.node, f.peer, f.subject])).toEqual([['node1', 'node2', 'ipv4/filter/cali-INPUT/1']]);
  });
});

// #15
describe('recorded lab, current Felix: the other faults still land on the holder', () => {
  it('wrong neighbour MAC → vxlan-neighbor-mac-mismatch on node1 naming node2', () => {
    expect(ruleOf('vxlan-neighbor-mac-mismatch', correlate(inputOf(cluster('current', 'neighbor-mac-wrong-node1'))).findings)).toEqual([['node1', 'node2']]);
  });

  it('missing block route → route-missing on node1 naming node2', () => {
    expect(ruleOf('route-missing', correlate(inputOf(cluster('current', 'route-missing-node1'))).findings)).toEqual([['node1', 'node2']]);
  });
});
