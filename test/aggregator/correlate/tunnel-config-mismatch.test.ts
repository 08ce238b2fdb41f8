import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, IPIP_NODES, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const RULE = 'tunnel-config-mismatch';
const run = (nodes: ReturnType<typeof buildCluster>) => correlate(inputOf(nodes)).findings.filter((f) => f.rule === RULE);

// issue #3
describe('tunnel-config-mismatch', () => {
  it('healthy clusters: none', () => {
    expect(run(buildCluster(VXLAN_NODES, 'vxlan'))).toEqual([]);
    expect(run(buildCluster(IPIP_NODES, 'ipip'))).toEqual([]);
  });

  it('reports the minority node for VNI, port and MTU (read from the links section)', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const link = okData(nodeNamed(nodes, 'worker2'), 'links').find((l) => l.name === 'vxlan.calico')!;
    link.vxlan = { ...link.vxlan!, id: 4097, port: 8472 };
    link.mtu = 1450;
    const f = run(nodes);
    expect(f.map((x) => [x.node, x.subject, x.evidence.details.value, x.evidence.details.majority]).sort()).toEqual([
      ['worker2', 'vxlan.calico:mtu', 1450, 8951],
      ['worker2', 'vxlan.calico:port', 8472, 4789],
      ['worker2', 'vxlan.calico:vni', 4097, 4096],
    ]);
    expect(f.every((x) => x.severity === 'warning' && x.peer === undefined)).toBe(true);
  });

  it('IPIP MTU differing on one node', () => {
    const nodes = buildCluster(IPIP_NODES, 'ipip');
    okData(nodeNamed(nodes, 'ubuntu-5'), 'links').find((l) => l.name === 'tunl0')!.mtu = 1480;
    expect(run(nodes).map((x) => [x.node, x.subject, x.evidence.expected])).toEqual([['ubuntu-5', 'tunl0:mtu', 'tunl0 mtu 1380 (majority)']]);
  });

  it('a tie has no majority: every node of the group is reported', () => {
    const nodes = buildCluster(VXLAN_NODES.slice(0, 2), 'vxlan');
    okData(nodeNamed(nodes, 'worker1'), 'links').find((l) => l.name === 'vxlan.calico')!.mtu = 1450;
    const f = run(nodes);
    expect(f.map((x) => x.node).sort()).toEqual(['control1', 'worker1']);
    expect(f[0]!.evidence.expected).toBe('one mtu across the cluster');
  });

  it('a stale node with an odd value is not reported here', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(nodes, 'worker2'), 'links').find((l) => l.name === 'vxlan.calico')!.mtu = 1450;
    nodeNamed(nodes, 'worker2').receivedAt = '2026-11-21T14:00:00.000Z';
    expect(run(nodes)).toEqual([]);
  });
});
