/**
 * issue #19: IPIP Always from real outputs of the IPIP lab mode, recorded inside user-mode-linux
 * (test/fixtures/lab/ipip, see its SOURCES.md): tunl0 with the tunnel address and MTU 1480,
 * `<block> via <peer node IP> dev tunl0 onlink proto bird`, BIRD 1.6's mesh, current Felix's IPIP
 * guard on cali40all-hosts-net written with iptables-legacy. Each node's recording goes through the
 * agent's own parsers (iptables-legacy-save -c, ipset save, BIRD's raw control-socket reply), the
 * iptables reduction with the guard derivation, identity/mode derivation and the local checks into a
 * report; correlate() runs over both nodes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import type { NodeState } from '../../../aggregator/cluster/node-state.js';
import { pathForm } from '../../../aggregator/diagnose/path.js';
import { summariseFamily } from '../../../agent/collectors/iptables.js';
import { parseBirdProtocols } from '../../../agent/parsers/bird.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { parseIptablesSave } from '../../../agent/parsers/iptables-save.js';
import type { Finding } from '../../../contract/finding.js';
import { ok, unavailable } from '../../../contract/result.js';
import type { Sections, Snapshot } from '../../../contract/snapshot.js';
import { inputOf } from '../../helpers/reports.js';
import { iptablesSection, ipsetsSection, must, recordedSnapshot, recordedState } from '../../helpers/lab-recorded.js';

const LAB = join(import.meta.dirname, '../../fixtures/lab/ipip');
const read = (dir: string, file: string) => readFileSync(join(LAB, dir, file), 'utf8');
const truth = JSON.parse(readFileSync(join(LAB, 'cluster.json'), 'utf8')) as { nodes: { name: string; nodeIp: string; block: string; tunnelIp: string; pods: { ip: string }[] }[] };
const T = (node: string) => truth.nodes.find((n) => n.name === node)!;

const snapshotFrom = (dir: string, node: string): Snapshot => {
  const v4 = summariseFamily('ipv4', must(parseIptablesSave(read(dir, 'iptables-legacy-save-c.txt'))));
  const sets = must(parseIpsetSave(read(dir, 'ipset-save.txt')));
  const sections: Sections = {
    links: ok(must(parseIpLinks(read(dir, 'ip-j-d-s-link-show.json')))),
    addresses: ok(must(parseIpAddrs(read(dir, 'ip-j-addr-show.json')))),
    routes: ok(must(parseIpRoutes(read(dir, 'ip-j-route-show-table-all.json'), 'inet'))),
    neighbours: ok(must(parseIpNeigh(read(dir, 'ip-j-neigh-show.json')))),
    fdb: ok([]),
    sysctls: unavailable('not-present', 'not built in this test'),
    iptables: iptablesSection('legacy', v4),
    ipsets: ipsetsSection(sets),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: ok({ socket: `/run/bird-${node}.ctl`, protocols: must(parseBirdProtocols(read(dir, 'bird-show-protocols.txt'))) }),
  };
  return recordedSnapshot(node, sections);
};

const stateFrom = (dir: string, node: string): NodeState & { local: Finding[] } => recordedState(snapshotFrom(dir, node));

/** both nodes, `holder` from the fault's recording and the other healthy */
const cluster = (kase = 'healthy', holder?: 'node1' | 'node2') =>
  (['node1', 'node2'] as const).map((n) => stateFrom(n === holder ? `${kase}-${n}` : `healthy-${n}`, n));
const serious = <F extends { severity: string }>(fs: F[]): F[] => fs.filter((f) => f.severity !== 'info');
const brief = (fs: { rule: string; node: string; peer?: string }[]) => fs.map((f) => `${f.rule} ${f.node}${f.peer ? `→${f.peer}` : ''}`).sort();

describe('IPIP Always, recorded in user-mode-linux', () => {
  it('healthy: mode ipip with BGP on iptables-legacy, tunl0 the tunnel, the guard derived as IPIP on cali40all-hosts-net; no local or cluster finding above info', () => {
    const nodes = cluster();
    for (const n of nodes) {
      const t = T(n.node);
      expect(n.report.mode).toMatchObject({ encapsulation: 'ipip', bgp: true, policyDataplane: 'iptables-legacy' });
      expect(n.report.identity.tunnels).toEqual([expect.objectContaining({ device: 'tunl0', kind: 'ipip', ip: t.tunnelIp, mtu: 1480 })]);
      const ipt = n.report.sections.iptables;
      expect(ipt.status === 'ok' && ipt.data.encapGuards).toEqual([
        expect.objectContaining({ family: 'ipv4', encapsulation: 'ipip', form: 'accept-then-drop', set: 'cali40all-hosts-net', table: 'filter', chain: 'cali-INPUT' }),
      ]);
      expect(serious(n.local), n.node).toEqual([]);
    }
    const { findings, map } = correlate(inputOf(nodes));
    expect(serious(findings)).toEqual([]);
    for (const m of map.nodes) expect([...(m.allowedHosts ?? [])].sort()).toEqual(truth.nodes.map((n) => n.nodeIp).sort());
  });

  it('healthy: the route to the peer block is the IPIP form (via the peer node IP, dev tunl0, onlink, proto bird) and the diagnosis path is tunnelled', () => {
    const [n1] = cluster();
    const r = n1!.report.sections.routes;
    const toPeer = r.status === 'ok' ? r.data.find((x) => x.dst === T('node2').block) : undefined;
    expect(toPeer).toMatchObject({ gateway: T('node2').nodeIp, dev: 'tunl0', protocol: 'bird', flags: expect.arrayContaining(['onlink']) });
    expect(pathForm(n1!.report, T('node2').pods[0]!.ip)).toMatchObject({ form: 'tunnel' });
  });

  it('block route missing on node1: route-missing on node1 naming node2, only', () => {
    expect(brief(serious(correlate(inputOf(cluster('block-route-missing', 'node1'))).findings))).toEqual(['route-missing node1→node2']);
  });

  it("node1 missing from node2's guarding set: host-not-in-allowed-set on node2 naming node1, only", () => {
    const { findings } = correlate(inputOf(cluster('client-not-in-set', 'node2')));
    expect(brief(serious(findings))).toEqual(['host-not-in-allowed-set node2→node1']);
    expect(findings.find((f) => f.rule === 'host-not-in-allowed-set')!.evidence.details).toMatchObject({ sets: ['cali40all-hosts-net'], peerAddresses: [T('node1').nodeIp] });
  });

  it("reply route missing on node2: route-missing on node2 naming node1, only", () => {
    expect(brief(serious(correlate(inputOf(cluster('reply-route-missing', 'node2'))).findings))).toEqual(['route-missing node2→node1']);
  });

  it("a DROP in node2's cali-FORWARD: the agent reads the rule and its counted packets (what iptables-drops-rising compares between snapshots)", () => {
    const [, n2] = cluster('forward-drop', 'node2');
    const ipt = n2!.report.sections.iptables;
    const drop = ipt.status === 'ok' ? ipt.data.dropRules.find((d) => d.chain === 'cali-FORWARD') : undefined;
    expect(drop).toMatchObject({ index: 1, target: 'DROP' });
    expect(drop!.packets).toBeGreaterThan(0);
  });
});
