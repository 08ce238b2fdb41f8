import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, makeUnavailable, nodeNamed, okData, VXLAN_NODES, healthyDatastore } from '../../helpers/reports.js';

const RULE = 'block-affinity-mismatch';
const run = (nodes: ReturnType<typeof buildCluster>, ds = healthyDatastore()) =>
  correlate(inputOf(nodes, { datastore: ds })).findings.filter((f) => f.rule === RULE);

/** Moves worker2's blackhole block route (and identity block) to worker1. */
const moveBlock = (nodes: ReturnType<typeof buildCluster>) => {
  const w2 = nodeNamed(nodes, 'worker2');
  const w1 = nodeNamed(nodes, 'worker1');
  w2.report.identity.blocks = [];
  const r2 = okData(w2, 'routes');
  const bh = r2.splice(r2.findIndex((x) => x.type === 'blackhole'), 1)[0]!;
  w1.report.identity.blocks.push('10.48.0.0/26');
  const r1 = okData(w1, 'routes');
  r1.splice(r1.findIndex((x) => x.dst === '10.48.0.0/26'), 1, bh);
};

// issue #3
describe('block-affinity-mismatch', () => {
  it('routes agree with affinities: none', () => {
    expect(run(buildCluster(VXLAN_NODES, 'vxlan'))).toEqual([]);
  });

  it('the blackhole route sits on another node → finding on that node naming the affine node, and on the affine node', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    moveBlock(nodes);
    expect(run(nodes).map((f) => [f.node, f.peer, f.subject, f.severity])).toEqual([
      ['worker1', 'worker2', '10.48.0.0/26', 'critical'],
      ['worker2', 'worker1', '10.48.0.0/26', 'warning'],
    ]);
  });

  it('affine node lacks the route, nobody has it → finding on the affine node without a peer', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const w2 = nodeNamed(nodes, 'worker2');
    w2.report.identity.blocks = [];
    const f = run(nodes);
    expect(f.map((x) => [x.node, x.peer])).toEqual([['worker2', undefined]]);
  });

  it('no finding on a node whose routes are unavailable; affinities not read → rule does not run', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker2').report.identity.blocks = [];
    makeUnavailable(nodeNamed(nodes, 'worker2'), 'routes');
    expect(run(nodes)).toEqual([]);
    const moved = buildCluster(VXLAN_NODES, 'vxlan');
    moveBlock(moved);
    const ds = healthyDatastore();
    ds.missing = [{ part: 'blockAffinities', reason: 'crd absent' }];
    expect(run(moved, ds)).toEqual([]);
  });
});
