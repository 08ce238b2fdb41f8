import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { createCorrelateCache, type NodeState } from '../../../aggregator/correlate/types.js';
import { packedOf } from '../../../aggregator/entry-table.js';
import { ReportStore } from '../../../aggregator/store.js';
import { ackedOf, blockOf, meshSnapshot, nodeIP, nodeName, toReport, tunnelIP } from '../../../bench/aggregator-mesh.js';
import { Report } from '../../../contract/report.js';
import { SECTION_NAMES, type Sections } from '../../../contract/snapshot.js';
import { buildCluster, deepFreeze, inputOf, nodeNamed, okData, sharedMesh, VXLAN_NODES } from '../../helpers/reports.js';

const key = (f: { rule: string; node: string; peer?: string | undefined; subject?: string | undefined }) => `${f.rule}/${f.node}/${f.peer ?? ''}/${f.subject ?? ''}`;

const faulty = (): NodeState[] => {
  const nodes = buildCluster(VXLAN_NODES, 'vxlan');
  okData(nodeNamed(nodes, 'worker1'), 'neighbours').find((n) => n.dst === '10.48.0.129')!.lladdr = '66:4b:ff:e1:ef:01';
  okData(nodeNamed(nodes, 'worker2'), 'routes').find((r) => r.dst === '10.48.0.128/26')!.gateway = '10.48.0.206';
  okData(nodeNamed(nodes, 'control1'), 'fdb').find((e) => e.mac === '66:14:9d:f4:2c:1f')!.dst = '10.0.1.31';
  return nodes;
};

// issue #3
describe('shared (interned, frozen) entries and the cross-pass cache give the same findings', () => {
  it('frozen entries (as the store interns them) → the same findings as plain objects', () => {
    const plain = correlate(inputOf(faulty())).findings.map(key).sort();
    expect(plain).toEqual([
      'route-wrong-next-hop/worker2/control1/10.48.0.128/26',
      'vxlan-fdb-mismatch/control1/worker1/66:14:9d:f4:2c:1f',
      'vxlan-neighbor-mac-mismatch/worker1/control1/10.48.0.129',
    ]);
    const frozen = faulty().map((n) => ({ ...n, report: { ...n.report, sections: deepFreeze(n.report.sections) } }));
    expect(correlate(inputOf(frozen)).findings.map(key).sort()).toEqual(plain);
  });

  it('with a cache: unchanged arrays reuse results, a replaced array is rechecked, a changed truth drops the cache', () => {
    const cache = createCorrelateCache();
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const run = () => correlate({ ...inputOf(nodes), cache }).findings.map(key).sort();
    expect(run()).toEqual([]);
    expect(run()).toEqual([]);

    // worker1 reports a new neighbours section (new array) with a wrong MAC
    const w1 = nodeNamed(nodes, 'worker1');
    const healthyNeigh = okData(w1, 'neighbours');
    const broken = healthyNeigh.map((e) => (e.dst === '10.48.0.129' ? { ...e, lladdr: '66:00:00:00:00:09' } : e));
    w1.report.sections.neighbours = { status: 'ok', data: broken };
    expect(run()).toEqual(['vxlan-neighbor-mac-mismatch/worker1/control1/10.48.0.129']);
    expect(run()).toEqual(['vxlan-neighbor-mac-mismatch/worker1/control1/10.48.0.129']);
    w1.report.sections.neighbours = { status: 'ok', data: healthyNeigh };
    expect(run()).toEqual([]);

    // control1's VTEP MAC changes (its own truth) while the peers' arrays stay the same objects:
    // the cached "all good" results must not survive
    const c1 = nodeNamed(nodes, 'control1');
    c1.report.identity.tunnels[0]!.mac = '66:c9:ee:00:00:01';
    okData(c1, 'links').find((l) => l.name === 'vxlan.calico')!.mac = '66:c9:ee:00:00:01';
    expect(run()).toEqual([
      'vxlan-fdb-mismatch/worker1/control1/66:c9:ee:00:00:01',
      'vxlan-fdb-mismatch/worker2/control1/66:c9:ee:00:00:01',
      'vxlan-neighbor-mac-mismatch/worker1/control1/10.48.0.129',
      'vxlan-neighbor-mac-mismatch/worker2/control1/10.48.0.129',
    ]);
  });
});

describe('a large synthetic VXLAN mesh (correctness only; speed is benchmarked, not asserted)', () => {
  it('1000 nodes, every node holding every peer’s route/neighbour/FDB entry: no finding; three faults → exactly three findings', () => {
    const nodes = sharedMesh(1000);
    expect(correlate(inputOf(nodes)).findings).toEqual([]);
    const a = nodes[17]!;
    const b = nodes[734]!;
    const bSpec = b.report.identity;
    // a: wrong MAC for b's tunnel IP (a new, unshared entry replaces the interned one)
    const neigh = okData(a, 'neighbours');
    const ni = neigh.findIndex((e) => e.dst === bSpec.tunnels[0]!.ip);
    neigh[ni] = { ...neigh[ni]!, lladdr: '66:de:ad:be:ef:01' };
    // a: no route for b's block
    const routes = okData(a, 'routes');
    routes.splice(routes.findIndex((r) => r.dst === bSpec.blocks[0]), 1);
    // b: its all-hosts set lacks a's node IP
    const ipsets = okData(b, 'ipsets');
    ipsets.hostSets = [{ ...ipsets.hostSets[0]!, members: ipsets.hostSets[0]!.members.filter((m) => m !== a.report.identity.nodeIPs[0]) }];
    const f = correlate(inputOf(nodes)).findings.map((x) => [x.rule, x.node, x.peer]);
    expect(f.sort()).toEqual([
      ['host-not-in-allowed-set', b.node, a.node],
      ['route-missing', a.node, b.node],
      ['vxlan-neighbor-mac-mismatch', a.node, b.node],
    ]);
  });
});

describe('the rules read the store layout (entry ids) and find what they find on plain reports', () => {
  const N = 40;
  const faults = { wrongNeighbourMac: [{ at: 1, peer: 2 }], missingRoute: [{ at: 3, peer: 4 }], missingFromIpset: [{ at: 5, peer: 6 }] };
  const AT = '2026-01-01T00:00:30.000Z';
  const reportOf = (i: number, seq: number, acked?: Map<string, string>) => Report.parse(toReport(meshSnapshot(i, N, seq, faults), { agentId: 'agent-aaaaaaaa', seq }, acked));
  const plainNodes = (): NodeState[] =>
    Array.from({ length: N }, (_, i) => {
      const r = reportOf(i, 1);
      const sections = Object.fromEntries(SECTION_NAMES.map((name) => [name, r.sections[name].data])) as unknown as Sections;
      return { node: r.node, receivedAt: AT, report: { ...r, sections } };
    });

  it('packed (ReportStore) and plain NodeStates give the same findings, cold and with the cache across hash-only reports', () => {
    const plain = correlate(inputOf(plainNodes(), { now: AT })).findings.map(key).sort();
    expect(plain).toEqual([
      `host-not-in-allowed-set/${nodeName(5)}/${nodeName(6)}/cali40all-hosts-net:${nodeIP(6)}`,
      `route-missing/${nodeName(3)}/${nodeName(4)}/${blockOf(4)}`,
      `vxlan-neighbor-mac-mismatch/${nodeName(1)}/${nodeName(2)}/${tunnelIP(2)}`,
    ]);
    const store = new ReportStore();
    for (let i = 0; i < N; i++) expect(store.ingest(reportOf(i, 1), AT).kind).toBe('accepted');
    expect(packedOf(store.get(nodeName(0))!.report.sections.routes)).not.toBeNull();
    const cache = createCorrelateCache();
    const pass = () => correlate({ ...inputOf(store.nodes(), { now: AT }), cache }).findings.map(key).sort();
    expect(pass()).toEqual(plain);
    // steady state: per-peer sections travel as hashes only, the store keeps the packed sections
    for (let i = 0; i < N; i++) expect(store.ingest(reportOf(i, 2, ackedOf(toReport(meshSnapshot(i, N, 1, faults), { agentId: 'agent-aaaaaaaa', seq: 1 }))), AT).kind).toBe('accepted');
    expect(pass()).toEqual(plain);
  });
});
