import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { createClusterCache } from '../../../aggregator/cluster/cluster.js';
import type { NodeState } from '../../../aggregator/cluster/node-state.js';
import { packedOf } from '../../../aggregator/cluster/packed.js';
import { ReportStore } from '../../../aggregator/cluster/store.js';
import { ackedOf, blockOf, meshSnapshot, nodeIP, nodeName, toReport, tunnelIP } from '../../../bench/aggregator-mesh.js';
import { Report } from '../../../contract/report.js';
import { buildCluster, inputOf, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const key = (f: { rule: string; node: string; peer?: string | undefined; subject?: string | undefined }) => `${f.rule}/${f.node}/${f.peer ?? ''}/${f.subject ?? ''}`;

const faulty = (): NodeState[] => {
  const nodes = buildCluster(VXLAN_NODES, 'vxlan');
  okData(nodeNamed(nodes, 'worker1'), 'neighbours').find((n) => n.dst === '10.48.0.129')!.lladdr = '66:4b:ff:e1:ef:01';
  okData(nodeNamed(nodes, 'worker2'), 'routes').find((r) => r.dst === '10.48.0.128/26')!.gateway = '10.48.0.206';
  okData(nodeNamed(nodes, 'control1'), 'fdb').find((e) => e.mac === '66:14:9d:f4:2c:1f')!.dst = '10.0.1.31';
  return nodes;
};

// issue #3
describe('the cross-pass cache gives the findings a cold pass gives', () => {
  it('three faults in a mesh → exactly their three findings', () => {
    expect(correlate(inputOf(faulty())).findings.map(key).sort()).toEqual([
      'route-wrong-next-hop/worker2/control1/10.48.0.128/26',
      'vxlan-fdb-mismatch/control1/worker1/66:14:9d:f4:2c:1f',
      'vxlan-neighbor-mac-mismatch/worker1/control1/10.48.0.129',
    ]);
  });

  it('with a cache and one store: unchanged sections reuse results, a changed one is rechecked, a changed truth drops the cache', () => {
    const cache = createClusterCache();
    const store = new ReportStore();
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const run = () => correlate({ ...inputOf(nodes, { store }), cache }).findings.map(key).sort();
    expect(run()).toEqual([]);
    const routesHeld = packedOf(store.get('worker1')!.report.sections.routes);
    expect(run()).toEqual([]);
    // the same data again: the store keeps the section it holds, the results carried with it stay valid
    expect(packedOf(store.get('worker1')!.report.sections.routes)).toBe(routesHeld);

    // worker1 reports a neighbours section with a wrong MAC
    const w1 = nodeNamed(nodes, 'worker1');
    const healthyNeigh = okData(w1, 'neighbours');
    const broken = healthyNeigh.map((e) => (e.dst === '10.48.0.129' ? { ...e, lladdr: '66:00:00:00:00:09' } : e));
    w1.report.sections.neighbours = { status: 'ok', data: broken };
    expect(run()).toEqual(['vxlan-neighbor-mac-mismatch/worker1/control1/10.48.0.129']);
    expect(run()).toEqual(['vxlan-neighbor-mac-mismatch/worker1/control1/10.48.0.129']);
    w1.report.sections.neighbours = { status: 'ok', data: healthyNeigh };
    expect(run()).toEqual([]);

    // control1's VTEP MAC changes (its own truth) while the peers' sections stay the same:
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

// issue #17: route forms are judged once per distinct route entry; direct-only answers are carried
describe('route forms with the cross-pass cache', () => {
  it('a direct route in a VXLAN mesh: the same route-wrong-form findings cold and carried, and none once it is tunnelled again', () => {
    const cache = createClusterCache();
    const store = new ReportStore();
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const withCache = () => correlate({ ...inputOf(nodes, { store }), cache }).findings.map(key).sort();
    const cold = () => correlate(inputOf(nodes)).findings.map(key).sort();
    expect(withCache()).toEqual([]);

    // worker2 routes control1's block directly over the underlay (same subnet): the cluster reads
    // as CrossSubnet, so its other tunnelled same-subnet routes now have the wrong form
    const w2 = nodeNamed(nodes, 'worker2');
    const healthy = okData(w2, 'routes');
    w2.report.sections.routes = {
      status: 'ok',
      data: healthy.map((r) => (r.dst === '10.48.0.128/26' ? { ...r, gateway: '10.0.1.20', dev: 'ens5', flags: [] } : r)),
    };
    const expected = cold();
    expect(expected).toEqual([
      'route-wrong-form/control1/worker1/10.48.0.192/26',
      'route-wrong-form/control1/worker2/10.48.0.0/26',
      'route-wrong-form/worker1/control1/10.48.0.128/26',
      'route-wrong-form/worker1/worker2/10.48.0.0/26',
      'route-wrong-form/worker2/worker1/10.48.0.192/26',
    ]);
    expect(withCache()).toEqual(expected);
    expect(withCache()).toEqual(expected);

    w2.report.sections.routes = { status: 'ok', data: healthy };
    expect(cold()).toEqual([]);
    expect(withCache()).toEqual([]);
  });
});

describe('a large synthetic VXLAN mesh (correctness only; speed is benchmarked, not asserted)', () => {
  it('200 nodes, every node holding every peer’s route/neighbour/FDB entry: no finding; three faults → exactly three findings', () => {
    const N = 200;
    const AT = '2026-01-01T00:00:30.000Z';
    const pass = (faults: Parameters<typeof meshSnapshot>[3]) => {
      const store = new ReportStore();
      for (let i = 0; i < N; i++) store.ingest(Report.parse(toReport(meshSnapshot(i, N, 1, faults), { agentId: 'agent-aaaaaaaa', seq: 1 })), AT);
      return correlate({ nodes: store.nodes(), now: AT, staleAfterIntervals: 3 }).findings.map((x) => [x.rule, x.node, x.peer]).sort();
    };
    expect(pass({})).toEqual([]);
    expect(pass({ wrongNeighbourMac: [{ at: 17, peer: 134 }], missingRoute: [{ at: 17, peer: 134 }], missingFromIpset: [{ at: 134, peer: 17 }] })).toEqual([
      ['host-not-in-allowed-set', nodeName(134), nodeName(17)],
      ['route-missing', nodeName(17), nodeName(134)],
      ['vxlan-neighbor-mac-mismatch', nodeName(17), nodeName(134)],
    ]);
  }, 60_000);
});

describe('reports as the agents send them, full and then hash-only', () => {
  const N = 40;
  const faults = { wrongNeighbourMac: [{ at: 1, peer: 2 }], missingRoute: [{ at: 3, peer: 4 }], missingFromIpset: [{ at: 5, peer: 6 }] };
  const AT = '2026-01-01T00:00:30.000Z';
  const reportOf = (i: number, seq: number, acked?: Map<string, string>) => Report.parse(toReport(meshSnapshot(i, N, seq, faults), { agentId: 'agent-aaaaaaaa', seq }, acked));

  it('the same findings cold and with the cache across hash-only reports', () => {
    const expected = [
      `host-not-in-allowed-set/${nodeName(5)}/${nodeName(6)}/cali40all-hosts-net:${nodeIP(6)}`,
      `route-missing/${nodeName(3)}/${nodeName(4)}/${blockOf(4)}`,
      `vxlan-neighbor-mac-mismatch/${nodeName(1)}/${nodeName(2)}/${tunnelIP(2)}`,
    ];
    const store = new ReportStore();
    for (let i = 0; i < N; i++) expect(store.ingest(reportOf(i, 1), AT).kind).toBe('accepted');
    expect(packedOf(store.get(nodeName(0))!.report.sections.routes)).not.toBeNull();
    const cache = createClusterCache();
    const pass = () => correlate({ nodes: store.nodes(), now: AT, staleAfterIntervals: 3, cache }).findings.map(key).sort();
    expect(pass()).toEqual(expected);
    // steady state: per-peer sections travel as hashes only, the store keeps the packed sections
    for (let i = 0; i < N; i++) expect(store.ingest(reportOf(i, 2, ackedOf(toReport(meshSnapshot(i, N, 1, faults), { agentId: 'agent-aaaaaaaa', seq: 1 }))), AT).kind).toBe('accepted');
    expect(pass()).toEqual(expected);
  });
});

// issue #17: most lists are judged by summing per-entry weights; what the sum cannot tell apart must
// still give the findings the per-peer walk gives
describe('lists the counting walk cannot judge alone', () => {
  const N = 30;
  const AT = '2026-01-01T00:00:30.000Z';
  const snap = (i: number) => meshSnapshot(i, N, 1);
  const reportOf = (s: ReturnType<typeof meshSnapshot>, seq = 1) => Report.parse(toReport(s, { agentId: 'agent-aaaaaaaa', seq }));
  const findingsOf = (store: ReportStore) => correlate({ nodes: store.nodes(), now: AT, staleAfterIntervals: 3 }).findings.map(key).sort();
  const sec = <T>(s: ReturnType<typeof meshSnapshot>, name: 'routes' | 'neighbours' | 'fdb'): T[] => (s.sections[name] as unknown as { data: T[] }).data;

  it('a list holding one peer’s entry twice and another peer’s not at all: the missing peer is found in every section', () => {
    const s = snap(7);
    // node 7's entries about node 9 replaced by a second copy of its entries about node 8
    const swap = <T>(list: T[], of9: (e: T) => boolean, of8: (e: T) => boolean) => {
      const k = list.findIndex(of9);
      list[k] = list.find(of8)!;
    };
    swap(sec<{ dst: string }>(s, 'routes'), (r) => r.dst === blockOf(9), (r) => r.dst === blockOf(8));
    swap(sec<{ dst: string }>(s, 'neighbours'), (n) => n.dst === tunnelIP(9), (n) => n.dst === tunnelIP(8));
    swap(sec<{ dst: string | null }>(s, 'fdb'), (e) => e.dst === nodeIP(9), (e) => e.dst === nodeIP(8));
    const ipsets = s.sections.ipsets as { status: 'ok'; data: { hostSets: { name: string; members: string[] }[] } };
    const set = ipsets.data.hostSets.find((h) => h.name === 'cali40all-hosts-net')!;
    set.members[set.members.indexOf(nodeIP(9))] = nodeIP(8);
    const store = new ReportStore();
    for (let i = 0; i < N; i++) expect(store.ingest(reportOf(i === 7 ? s : snap(i)), AT).kind).toBe('accepted');
    expect(packedOf<unknown>(store.get(nodeName(7))!.report.sections.neighbours)!.distinct).toBe(false);
    const found = findingsOf(store);
    for (const rule of ['host-not-in-allowed-set', 'route-missing', 'vxlan-fdb-mismatch', 'vxlan-neighbor-mac-mismatch']) {
      expect(found.filter((f) => f.startsWith(`${rule}/${nodeName(7)}/${nodeName(9)}/`))).toHaveLength(1);
    }
    expect(found).toHaveLength(4);
  });

  it('two matching entries about one peer (one list holds both, lacking another peer; one no list holds any more): the same findings as a store without the stale one', () => {
    const store = new ReportStore();
    for (let i = 0; i < N; i++) store.ingest(reportOf(snap(i)), AT);
    // node 3 held its neighbour for node 5 as REACHABLE for a while: that entry stays in the table
    const reachable = snap(3);
    sec<{ dst: string; state: string[] }>(reachable, 'neighbours').find((n) => n.dst === tunnelIP(5))!.state = ['REACHABLE'];
    expect(store.ingest(reportOf(reachable, 2), AT).kind).toBe('accepted');
    expect(store.ingest(reportOf(snap(3), 3), AT).kind).toBe('accepted');
    // node 4 holds both entries for node 5 and none for node 8
    const both = snap(4);
    const neighbours = sec<{ dst: string; state: string[] }>(both, 'neighbours');
    const k8 = neighbours.findIndex((n) => n.dst === tunnelIP(8));
    neighbours[k8] = { ...neighbours.find((n) => n.dst === tunnelIP(5))!, state: ['REACHABLE'] };
    expect(store.ingest(reportOf(both, 2), AT).kind).toBe('accepted');
    expect(packedOf<unknown>(store.get(nodeName(4))!.report.sections.neighbours)!.distinct).toBe(true);
    const expected = [`vxlan-neighbor-mac-mismatch/${nodeName(4)}/${nodeName(8)}/${tunnelIP(8)}`];
    expect(findingsOf(store)).toEqual(expected);
    const fresh = new ReportStore();
    for (let i = 0; i < N; i++) fresh.ingest(reportOf(i === 4 ? both : snap(i)), AT);
    expect(findingsOf(fresh)).toEqual(expected);
  });
});
