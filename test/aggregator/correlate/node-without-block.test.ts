import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, makeUnavailable, nodeNamed, okData, VXLAN_NODES, healthyDatastore } from '../../helpers/reports.js';

const RULE = 'node-without-block';

const withoutBlock = (mode: 'vxlan' | 'bgp') => {
  const nodes = buildCluster(VXLAN_NODES, mode);
  const w2 = nodeNamed(nodes, 'worker2');
  w2.report.identity.blocks = [];
  w2.report.identity.workloads = [];
  const r = okData(w2, 'routes');
  r.splice(r.findIndex((x) => x.type === 'blackhole'), 1);
  return nodes;
};

// issue #3
describe('node-without-block', () => {
  it('healthy: none', () => {
    expect(correlate(inputOf(buildCluster(VXLAN_NODES, 'vxlan'))).findings.filter((f) => f.rule === RULE)).toEqual([]);
  });

  it('VXLAN node without a block → warning; BGP node without one → info', () => {
    const v = correlate(inputOf(withoutBlock('vxlan'))).findings.filter((f) => f.rule === RULE);
    expect(v.map((f) => [f.node, f.severity])).toEqual([['worker2', 'warning']]);
    const b = correlate(inputOf(withoutBlock('bgp'))).findings.filter((f) => f.rule === RULE);
    expect(b.map((f) => [f.node, f.severity])).toEqual([['worker2', 'info']]);
  });

  it('a datastore affinity for the node means it does have a block; unavailable routes → no finding', () => {
    const nodes = withoutBlock('vxlan');
    expect(correlate(inputOf(nodes, { datastore: healthyDatastore() })).findings.filter((f) => f.rule === RULE)).toEqual([]);
    makeUnavailable(nodeNamed(nodes, 'worker2'), 'routes');
    expect(correlate(inputOf(nodes)).findings.filter((f) => f.rule === RULE)).toEqual([]);
  });
});
