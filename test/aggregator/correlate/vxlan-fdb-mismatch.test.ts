import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, IPIP_NODES, makeUnavailable, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const RULE = 'vxlan-fdb-mismatch';
const run = (nodes: ReturnType<typeof buildCluster>) => correlate(inputOf(nodes)).findings.filter((f) => f.rule === RULE);

// issue #3
describe('vxlan-fdb-mismatch', () => {
  it('healthy VXLAN and VXLAN CrossSubnet clusters: no finding', () => {
    expect(run(buildCluster(VXLAN_NODES, 'vxlan'))).toEqual([]);
    expect(run(buildCluster(VXLAN_NODES, 'vxlan-crosssubnet'))).toEqual([]);
  });

  it("flags an FDB entry whose dst is another node's IP, naming who that is", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(nodes, 'control1'), 'fdb').find((e) => e.mac === '66:14:9d:f4:2c:1f')!.dst = '10.0.1.31';
    const f = run(nodes);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      severity: 'critical',
      node: 'control1',
      peer: 'worker1',
      subject: '66:14:9d:f4:2c:1f',
      evidence: { details: { seenDst: '10.0.1.31', expectedDst: '10.0.1.30', seenDstOwner: 'worker2' } },
    });
    expect(f[0]!.evidence.expected).toBe('66:14:9d:f4:2c:1f dev vxlan.calico dst 10.0.1.30 self permanent');
  });

  it('flags a missing FDB entry', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const fdb = okData(nodeNamed(nodes, 'worker2'), 'fdb');
    fdb.splice(fdb.findIndex((e) => e.mac === '66:c9:ee:b1:9b:47'), 1);
    const f = run(nodes);
    expect(f.map((x) => [x.node, x.peer, x.evidence.details.missing])).toEqual([['worker2', 'control1', true]]);
  });

  it('an extra wrong entry beside the right one is not a finding (the right one wins)', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(nodes, 'worker2'), 'fdb').push({ mac: '66:c9:ee:b1:9b:47', dev: 'vxlan.calico', dst: '10.0.1.99', flags: ['self'], state: null, vni: null, port: null });
    expect(run(nodes)).toEqual([]);
  });

  it('skips a node whose fdb section is unavailable; ignores IPIP clusters', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(nodes, 'worker1'), 'fdb').length = 0;
    makeUnavailable(nodeNamed(nodes, 'worker1'), 'fdb', 'permission-denied');
    expect(run(nodes)).toEqual([]);
    expect(run(buildCluster(IPIP_NODES, 'ipip'))).toEqual([]);
  });
});
