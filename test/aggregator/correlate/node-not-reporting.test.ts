import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, VXLAN_NODES, healthyDatastore } from '../../helpers/reports.js';

const RULE = 'node-not-reporting';

// issue #3
describe('node-not-reporting', () => {
  it('every Kubernetes node reports: no finding at all with a healthy datastore', () => {
    expect(correlate(inputOf(buildCluster(VXLAN_NODES, 'vxlan'), { datastore: healthyDatastore() })).findings).toEqual([]);
  });

  it('a Kubernetes node with no report → finding on it', () => {
    const ds = healthyDatastore();
    ds.nodes.push({ name: 'worker3', internalIPs: ['10.0.1.32'] });
    ds.calicoNodePods.push({ node: 'worker3', name: 'calico-node-q2z8f', ready: true, restarts: 0 });
    const f = correlate(inputOf(buildCluster(VXLAN_NODES, 'vxlan'), { datastore: ds })).findings;
    expect(f.map((x) => [x.rule, x.node])).toEqual([[RULE, 'worker3']]);
    expect(f[0]!.evidence.details).toEqual({ internalIPs: ['10.0.1.32'] });
  });

  it('node list not read → rule does not run', () => {
    const ds = healthyDatastore();
    ds.nodes.push({ name: 'worker3', internalIPs: [] });
    ds.missing = [{ part: 'nodes', reason: 'timeout' }];
    expect(correlate(inputOf(buildCluster(VXLAN_NODES, 'vxlan'), { datastore: ds })).findings.filter((x) => x.rule === RULE)).toEqual([]);
  });
});
