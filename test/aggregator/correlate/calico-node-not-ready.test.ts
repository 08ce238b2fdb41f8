import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, VXLAN_NODES, healthyDatastore } from '../../helpers/reports.js';

const RULE = 'calico-node-not-ready';
const run = (ds: ReturnType<typeof healthyDatastore>) =>
  correlate(inputOf(buildCluster(VXLAN_NODES, 'vxlan'), { datastore: ds })).findings.filter((f) => f.rule === RULE);

// issue #3
describe('calico-node-not-ready', () => {
  it('all Ready with few restarts: none', () => {
    expect(run(healthyDatastore())).toEqual([]);
  });

  it('not Ready → critical; Ready but restarting → warning; no pod on a node → critical', () => {
    const ds = healthyDatastore();
    ds.calicoNodePods[0]!.ready = false;
    ds.calicoNodePods[1]!.restarts = 12;
    ds.calicoNodePods.splice(2, 1);
    expect(run(ds).map((f) => [f.node, f.severity, f.subject])).toEqual([
      ['control1', 'critical', 'calico-node-7xk2p'],
      ['worker1', 'warning', 'calico-node-b9wq4'],
      ['worker2', 'critical', 'missing'],
    ]);
  });

  it('pod list not read → no finding', () => {
    const ds = healthyDatastore();
    ds.calicoNodePods = [];
    ds.missing = [{ part: 'calicoNodePods', reason: 'forbidden' }];
    expect(run(ds)).toEqual([]);
  });
});
