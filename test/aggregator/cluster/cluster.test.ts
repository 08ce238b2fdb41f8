import { describe, expect, it } from 'vitest';
import { Cluster } from '../../../aggregator/cluster/cluster.js';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, IPIP_NODES, makeUnavailable, nodeNamed, NOW, okData, VXLAN_NODES } from '../../helpers/reports.js';
import { fdbEntry } from '../../helpers/snapshot.js';

const buildClusterMap = (input: ReturnType<typeof inputOf>) => new Cluster(input).map;

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

  it('stale: now − receivedAt > staleAfterIntervals × intervalSeconds; stale nodes stay in the map but out of the lookups', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker2').receivedAt = '2026-11-21T14:58:29.999Z'; // 90.001 s before NOW, 3 × 30 s
    const cluster = new Cluster(inputOf(nodes));
    expect(cluster.map.nodes.map((n) => [n.node, n.stale])).toEqual([
      ['control1', false],
      ['worker1', false],
      ['worker2', true],
    ]);
    expect(cluster.fresh.map((n) => n.name)).toEqual(['control1', 'worker1']);
    expect(cluster.ownerOfTunnelIP('10.48.0.46')).toBeNull();
    expect(cluster.ownerOfTunnelIP('10.48.0.206')?.name).toBe('worker1');
    expect(cluster.ownerOfNodeIP('10.0.1.20')?.name).toBe('control1');
    expect(cluster.ownerOfAddress('10.0.1.30')?.name).toBe('worker1');
    expect(cluster.blocks.map((g) => [g.raw, g.owners.map((o) => o.name)])).toEqual([
      ['10.48.0.128/26', ['control1']],
      ['10.48.0.192/26', ['worker1']],
    ]);
    expect(cluster.block('10.48.0.192/26')?.owners.map((o) => o.name)).toEqual(['worker1']);
  });

  it('an address two nodes claim has no owner; a report with an unparseable receivedAt is stale', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker2').report.identity.tunnels[0]!.ip = '10.48.0.206';
    nodeNamed(nodes, 'control1').receivedAt = 'yesterday';
    const cluster = new Cluster(inputOf(nodes));
    expect(cluster.ownerOfTunnelIP('10.48.0.206')).toBeNull();
    expect(cluster.map.nodes[0]!.stale).toBe(true);
  });

  it("judges each node's per-peer entries against the peer's own truth", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const c1 = nodeNamed(nodes, 'control1');
    // an FDB entry for worker1's VTEP to the wrong host, beside a right one: worker1 is covered
    okData(c1, 'fdb').push(fdbEntry('66:14:9d:f4:2c:1f', 'vxlan.calico', '10.0.1.31'));
    // no FDB entry at all for worker2's VTEP
    const fdb = okData(c1, 'fdb');
    fdb.splice(fdb.findIndex((e) => e.mac === '66:4b:ff:e1:ef:01'), 1);
    // a neighbour for worker1's tunnel IP with worker2's MAC
    okData(c1, 'neighbours').find((e) => e.dst === '10.48.0.206')!.lladdr = '66:4b:ff:e1:ef:01';
    // no route for worker2's block, and worker1's block via worker2's tunnel IP
    const routes = okData(c1, 'routes');
    routes.splice(routes.findIndex((r) => r.dst === '10.48.0.0/26'), 1);
    routes.find((r) => r.dst === '10.48.0.192/26')!.gateway = '10.48.0.46';
    const cluster = new Cluster(inputOf(nodes));
    const a = cluster.node('control1')!;
    const names = (ns: { name: string }[]) => ns.map((n) => n.name);

    const f = cluster.vxlanPeerEntries(a, 'fdb', 'inet')!;
    expect(f.mismatched).toEqual([]);
    expect(names(f.missing)).toEqual(['worker2']);
    const n = cluster.vxlanPeerEntries(a, 'neighbours', 'inet')!;
    expect(n.mismatched.map((m) => [m.peer.name, m.entry.lladdr])).toEqual([['worker1', '66:4b:ff:e1:ef:01']]);
    expect(n.missing).toEqual([]);
    expect(cluster.vxlanPeerEntries(a, 'neighbours', 'inet6')).toBeNull(); // no IPv6 VXLAN tunnel

    const r = cluster.blockRoutes(a)!;
    expect(r.missing.map((m) => [m.peer.name, m.block.raw])).toEqual([['worker2', '10.48.0.0/26']]);
    expect(r.mismatched.map((m) => [m.peer.name, m.route.gateway])).toEqual([['worker1', '10.48.0.46']]);

    const w1 = cluster.node('worker1')!;
    expect(cluster.peersNotInHostSets(w1, 'inet', ['cali40all-hosts-net'])).toEqual({ sets: ['cali40all-hosts-net'], peers: [] });
    expect(cluster.peersNotInHostSets(w1, 'inet', ['felix-calico-hosts-4'])).toBeNull();
    for (const b of cluster.fresh) expect(cluster.vxlanPeerEntries(b, 'fdb', 'inet')).not.toBeNull();
  });

  it('states not built by the store (plain section arrays) are read the same, and left unfrozen', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(nodes, 'worker1'), 'neighbours').find((e) => e.dst === '10.48.0.129')!.lladdr = '66:4b:ff:e1:ef:01';
    const fromStore = correlate(inputOf(nodes)).findings;
    const plain = correlate({ nodes, now: NOW, staleAfterIntervals: 3 }).findings;
    expect(plain).toEqual(fromStore);
    expect(plain.map((f) => [f.rule, f.node, f.peer])).toEqual([['vxlan-neighbor-mac-mismatch', 'worker1', 'control1']]);
    expect(Object.isFrozen(okData(nodeNamed(nodes, 'worker1'), 'neighbours')[0])).toBe(false);
  });
});
