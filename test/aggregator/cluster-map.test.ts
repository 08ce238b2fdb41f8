import { describe, expect, it } from 'vitest';
import { buildClusterIndex, buildClusterMap } from '../../aggregator/cluster-map.js';
import { buildCluster, inputOf, IPIP_NODES, makeUnavailable, nodeNamed, okData, VXLAN_NODES } from '../helpers/reports.js';

// issue #3
describe('cluster map from the nodes’ own reports', () => {
  it('VXLAN: node IPs, tunnel device/IP/VTEP MAC/VNI/port/MTU, blocks, workloads, all-hosts members', () => {
    const map = buildClusterMap(inputOf(buildCluster(VXLAN_NODES, 'vxlan')));
    expect(map.nodes.map((n) => n.node)).toEqual(['control1', 'worker1', 'worker2']);
    const c1 = map.nodes[0]!;
    expect(c1).toMatchObject({
      node: 'control1',
      stale: false,
      nodeIPs: ['10.0.1.20'],
      blocks: ['10.48.0.128/26'],
      mtu: 8951,
      allowedHosts: ['10.0.1.20', '10.0.1.30', '10.0.1.31'],
      mode: { encapsulation: 'vxlan' },
    });
    expect(c1.tunnels).toEqual([
      { device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.48.0.129', mac: '66:c9:ee:b1:9b:47', vni: 4096, port: 4789, mtu: 8951, operstate: 'UNKNOWN', local: '10.0.1.20' },
    ]);
    expect(c1.workloads).toHaveLength(6);
  });

  it('IPIP: tunl0 with its MTU; allowedHosts null when ipsets are unavailable', () => {
    const nodes = buildCluster(IPIP_NODES, 'ipip');
    makeUnavailable(nodeNamed(nodes, 'ubuntu-4'), 'ipsets');
    const map = buildClusterMap(inputOf(nodes));
    const u4 = map.nodes.find((n) => n.node === 'ubuntu-4')!;
    expect(u4.tunnels.map((t) => [t.device, t.ip, t.mtu])).toEqual([['tunl0', '10.201.0.192', 1380]]);
    expect(u4.allowedHosts).toBeNull();
  });

  it('the links section refreshes MTU/VNI/port/MAC; without identity tunnels they come from links + addresses', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const w1 = nodeNamed(nodes, 'worker1');
    const link = okData(w1, 'links').find((l) => l.name === 'vxlan.calico')!;
    link.mtu = 1450;
    link.vxlan = { ...link.vxlan!, id: 7 };
    w1.report.identity.tunnels = [];
    const m = buildClusterMap(inputOf(nodes)).nodes.find((n) => n.node === 'worker1')!;
    expect(m.tunnels).toEqual([
      { device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.48.0.206', mac: '66:14:9d:f4:2c:1f', vni: 7, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: '10.0.1.30' },
    ]);
    expect(m.nodeIPs).toEqual(['10.0.1.30']);
  });

  it('stale: now − receivedAt > staleAfterIntervals × intervalSeconds; stale nodes stay in the map but out of the index', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker2').receivedAt = '2026-11-21T14:58:29.999Z'; // 90.001 s before NOW, 3 × 30 s
    const { map, index } = buildClusterIndex(inputOf(nodes));
    expect(map.nodes.map((n) => [n.node, n.stale])).toEqual([
      ['control1', false],
      ['worker1', false],
      ['worker2', true],
    ]);
    expect(index.fresh.map((n) => n.name)).toEqual(['control1', 'worker1']);
    expect(index.byTunnelIP.has('10.48.0.46')).toBe(false);
    expect(index.byTunnelIP.get('10.48.0.206')).toBe(1);
    expect(index.byVtepMac.get('66:14:9d:f4:2c:1f')).toBe(1);
    expect(index.byNodeIP.get('10.0.1.20')).toBe(0);
    expect(index.blockGroups.map((g) => [g.raw, g.owners])).toEqual([
      ['10.48.0.128/26', [0]],
      ['10.48.0.192/26', [1]],
    ]);
  });

  it('an address two nodes claim is ambiguous (-1) in the index; a report with an unparseable receivedAt is stale', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker2').report.identity.tunnels[0]!.ip = '10.48.0.206';
    nodeNamed(nodes, 'control1').receivedAt = 'yesterday';
    const { map, index } = buildClusterIndex(inputOf(nodes));
    expect(index.byTunnelIP.get('10.48.0.206')).toBe(-1);
    expect(map.nodes[0]!.stale).toBe(true);
  });
});
