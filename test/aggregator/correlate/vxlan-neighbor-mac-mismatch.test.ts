import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, IPIP_NODES, makeUnavailable, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const RULE = 'vxlan-neighbor-mac-mismatch';
const run = (nodes: ReturnType<typeof buildCluster>) => correlate(inputOf(nodes)).findings.filter((f) => f.rule === RULE);

// issue #3
describe('vxlan-neighbor-mac-mismatch', () => {
  it('a healthy 3-node VXLAN cluster has no findings at all', () => {
    expect(correlate(inputOf(buildCluster(VXLAN_NODES, 'vxlan'))).findings).toEqual([]);
  });

  it("flags the node whose neighbour entry for a peer's tunnel IP holds another node's MAC", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const entry = okData(nodeNamed(nodes, 'worker1'), 'neighbours').find((n) => n.dst === '10.48.0.129');
    entry!.lladdr = '66:4b:ff:e1:ef:01'; // worker2's VTEP MAC
    const f = run(nodes);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      severity: 'critical',
      node: 'worker1',
      peer: 'control1',
      subject: '10.48.0.129',
      evidence: { details: { seenMac: '66:4b:ff:e1:ef:01', expectedMac: '66:c9:ee:b1:9b:47', device: 'vxlan.calico' } },
    });
    expect(f[0]!.evidence.expected).toBe('10.48.0.129 dev vxlan.calico lladdr 66:c9:ee:b1:9b:47 PERMANENT');
    expect(f[0]!.remedy).toMatch(/ip neigh del/);
  });

  it('flags a missing neighbour entry and one without a MAC (FAILED)', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const c1 = okData(nodeNamed(nodes, 'control1'), 'neighbours');
    c1.splice(c1.findIndex((n) => n.dst === '10.48.0.46'), 1);
    const e = c1.find((n) => n.dst === '10.48.0.206')!;
    e.lladdr = null;
    e.state = ['FAILED'];
    const f = run(nodes).sort((a, b) => (a.peer! < b.peer! ? -1 : 1));
    expect(f.map((x) => [x.node, x.peer, x.evidence.details.missing ?? false])).toEqual([
      ['control1', 'worker1', false],
      ['control1', 'worker2', true],
    ]);
  });

  it('compares MACs case-insensitively', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    for (const n of okData(nodeNamed(nodes, 'worker2'), 'neighbours')) n.lladdr = n.lladdr?.toUpperCase() ?? null;
    expect(run(nodes)).toEqual([]);
  });

  it("does not judge a node whose neighbours section is unavailable, nor hold peers to a stale node's MAC", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(nodes, 'worker1'), 'neighbours').find((n) => n.dst === '10.48.0.129')!.lladdr = '66:00:00:00:00:01';
    makeUnavailable(nodeNamed(nodes, 'worker1'), 'neighbours');
    expect(run(nodes)).toEqual([]);

    const again = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(again, 'worker1'), 'neighbours').find((n) => n.dst === '10.48.0.129')!.lladdr = '66:00:00:00:00:01';
    nodeNamed(again, 'control1').receivedAt = '2026-11-21T14:50:00.000Z'; // 10 min ago, interval 30s
    expect(run(again)).toEqual([]);
  });

  it('has nothing to say about an IPIP cluster', () => {
    expect(run(buildCluster(IPIP_NODES, 'ipip'))).toEqual([]);
  });
});
