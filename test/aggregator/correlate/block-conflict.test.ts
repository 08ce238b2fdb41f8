import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import type { DatastoreView } from '../../../aggregator/correlate/types.js';
import { buildCluster, inputOf, makeUnavailable, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const RULE = 'block-conflict';
const run = (nodes: ReturnType<typeof buildCluster>, datastore?: DatastoreView) =>
  correlate(inputOf(nodes, datastore ? { datastore } : {})).findings.filter((f) => f.rule === RULE);

const claim = (nodes: ReturnType<typeof buildCluster>, on: string, block: string) => {
  const n = nodeNamed(nodes, on);
  n.report.identity.blocks.push(block);
  okData(n, 'routes').push({ family: 'inet', type: 'blackhole', dst: block, gateway: null, dev: null, protocol: '80', scope: 'global', flags: [], table: 'main', metric: null, prefsrc: null, nexthops: [] });
};

// issue #3
describe('block-conflict', () => {
  it('healthy cluster: none', () => {
    expect(run(buildCluster(VXLAN_NODES, 'vxlan'))).toEqual([]);
  });

  it('the same block on two nodes → one finding on each (no datastore to say who is right)', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    claim(nodes, 'worker2', '10.48.0.192/26');
    const f = run(nodes);
    expect(f.map((x) => [x.node, x.peer, x.subject]).sort()).toEqual([
      ['worker1', 'worker2', '10.48.0.192/26'],
      ['worker2', 'worker1', '10.48.0.192/26'],
    ]);
    expect(f[0]!.severity).toBe('critical');
  });

  it('an overlapping (containing) block is a conflict; with a block affinity only the wrong holder is named', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    claim(nodes, 'control1', '10.48.0.0/24');
    const ds: DatastoreView = {
      nodes: [], calicoNodePods: [], ipPools: [],
      blockAffinities: [{ node: 'worker2', cidr: '10.48.0.0/26', state: 'confirmed' }],
      missing: [{ part: 'nodes', reason: 't' }, { part: 'calicoNodePods', reason: 't' }, { part: 'ipPools', reason: 't' }],
    };
    const all = run(nodes);
    // 10.48.0.0/24 overlaps worker2's 10.48.0.0/26, worker1's 10.48.0.192/26 (and control1's own /26 is ignored)
    expect(all.filter((x) => x.node === 'control1').map((x) => x.peer).sort()).toEqual(['worker1', 'worker2']);
    const withDs = run(nodes, ds);
    expect(withDs.some((x) => x.node === 'worker2' && x.peer === 'control1')).toBe(false);
    expect(withDs.some((x) => x.node === 'control1' && x.peer === 'worker2' && x.evidence.details.affinityNode === 'worker2')).toBe(true);
  });

  it('the same workload address on two nodes → finding on both', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker2').report.identity.workloads.push({ ip: '10.48.0.130', dev: 'cali99aa88bb77c' });
    const f = run(nodes);
    expect(f.map((x) => [x.node, x.peer, x.subject]).sort()).toEqual([
      ['control1', 'worker2', '10.48.0.130'],
      ['worker2', 'control1', '10.48.0.130'],
    ]);
  });

  it('a node whose routes section is unavailable takes no part', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    claim(nodes, 'worker2', '10.48.0.192/26');
    makeUnavailable(nodeNamed(nodes, 'worker2'), 'routes');
    expect(run(nodes)).toEqual([]);
  });
});
