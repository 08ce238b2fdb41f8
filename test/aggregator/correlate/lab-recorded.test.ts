/**
 * Reports built from real outputs recorded in the namespace lab (test/fixtures/lab, see its
 * SOURCES.md): the agent's own parsers and identity/mode derivation turn each node's recording into
 * a resolved report, then correlate() runs over the three nodes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import type { NodeState } from '../../../aggregator/cluster/node-state.js';
import { ok, unavailable, type Parsed } from '../../../contract/result.js';
import type { Sections } from '../../../contract/snapshot.js';
import { deriveIdentity } from '../../../agent/derive/identity.js';
import { deriveMode } from '../../../agent/derive/mode.js';
import { parseBridgeFdbJson } from '../../../agent/parsers/bridge-fdb.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { inputOf, NOW } from '../../helpers/reports.js';

const LAB = join(import.meta.dirname, '../../fixtures/lab');
const read = (dir: string, file: string) => readFileSync(join(LAB, dir, file), 'utf8');
const must = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`fixture did not parse: ${p.error.message}`);
  return p.value;
};

const HOST_SETS = ['cali40all-hosts-net', 'cali60all-hosts-net', 'felix-calico-hosts-4', 'felix-calico-hosts-6'];

const stateFrom = (dir: string, node: string): NodeState => {
  const sets = must(parseIpsetSave(read(dir, 'ipset-save.txt')));
  const sections: Sections = {
    links: ok(must(parseIpLinks(read(dir, 'ip-j-d-s-link-show.json')))),
    addresses: ok(must(parseIpAddrs(read(dir, 'ip-j-addr-show.json')))),
    routes: ok([...must(parseIpRoutes(read(dir, 'ip-j-route-show-table-all.json'), 'inet')), ...must(parseIpRoutes(read(dir, 'ip-j-6-route-show-table-all.json'), 'inet6'))]),
    neighbours: ok(must(parseIpNeigh(read(dir, 'ip-j-neigh-show.json')))),
    fdb: ok(must(parseBridgeFdbJson(read(dir, 'bridge-j-fdb-show.json'))).filter((e) => e.dev === 'vxlan.calico')),
    sysctls: unavailable('not-present', 'not built in this test'),
    iptables: unavailable('not-present', 'not built in this test'),
    ipsets: ok({ hostSets: sets.filter((s) => HOST_SETS.includes(s.name)), caliSetSizes: Object.fromEntries(sets.map((s) => [s.name, s.members.length])) }),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: unavailable('not-present', 'no BIRD socket'),
  };
  const identity = deriveIdentity(sections);
  return {
    node,
    receivedAt: NOW,
    report: {
      schemaVersion: 1,
      node,
      agentId: `lab-${node}`,
      seq: 1,
      agentVersion: '0.1.0',
      intervalSeconds: 10,
      takenAt: NOW,
      sentAt: NOW,
      mode: deriveMode(sections, identity),
      identity,
      sections,
      checks: [],
      findings: [],
    },
  };
};

const truth = JSON.parse(readFileSync(join(LAB, 'cluster.json'), 'utf8')) as {
  nodes: { name: string; nodeIp: string; block: string; tunnelIp: string; vtepMac: string }[];
};

// issue #3
describe('correlation over reports built from the recorded lab', () => {
  it("healthy lab: the cluster map matches the lab's truth and there is no finding", () => {
    const nodes = ['node1', 'node2', 'node3'].map((n) => stateFrom(`healthy-${n}`, n));
    const { map, findings } = correlate(inputOf(nodes));
    expect(findings).toEqual([]);
    for (const t of truth.nodes) {
      const m = map.nodes.find((n) => n.node === t.name)!;
      expect(m.nodeIPs).toContain(t.nodeIp);
      expect(m.blocks).toEqual([t.block]);
      expect(m.tunnels.find((x) => x.device === 'vxlan.calico')).toMatchObject({ ip: t.tunnelIp, mac: t.vtepMac, vni: 4096, port: 4789, mtu: 1450 });
      expect(m.allowedHosts).toEqual(expect.arrayContaining(truth.nodes.map((x) => x.nodeIp)));
    }
  });

  it('recorded fault (node1 neighbour for node2 → 66:de:ad:be:ef:01): vxlan-neighbor-mac-mismatch on node1 naming node2, nothing else', () => {
    const nodes = [stateFrom('neighbor-mac-wrong-node1', 'node1'), stateFrom('healthy-node2', 'node2'), stateFrom('healthy-node3', 'node3')];
    const { findings } = correlate(inputOf(nodes));
    expect(findings.map((f) => [f.rule, f.node, f.peer, f.subject])).toEqual([['vxlan-neighbor-mac-mismatch', 'node1', 'node2', '10.244.2.0']]);
    expect(findings[0]!.evidence.details).toMatchObject({ seenMac: '66:de:ad:be:ef:01', expectedMac: '66:2d:bf:44:a6:8b' });
  });
});
