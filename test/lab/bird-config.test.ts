/**
 * issue #19: the lab's BIRD configuration (pure rendering) and the BGP lab plans. The config is
 * what BIRD 1.6 runs in test/lab/bgp.test.ts; these checks pin the calico-node shapes it models.
 */
import { describe, expect, it } from 'vitest';
import { meshProtocolName, protocolStates, renderBirdConfig, type BirdNodeConfig } from '../../lab/bird.js';
import { birdConfigFor, directPair, planLab, validateRouting, withoutVxlanRules, calicoFilterRules } from '../../lab/topology.js';

const base: BirdNodeConfig = {
  nodeName: 'node2',
  nodeIp: '10.213.0.12',
  blocks: ['10.244.2.0/26'],
  pool: '10.244.0.0/16',
  poolEncapsulation: 'none',
  peers: [
    { name: 'node1', nodeIp: '10.213.0.11' },
    { name: 'node3', nodeIp: '10.213.0.13' },
  ],
};

describe('lab BIRD config (calico-node mesh shape)', () => {
  it('one mesh protocol per peer named after its IP, the lower IP passive, the own block exported and blackholed', () => {
    const c = renderBirdConfig(base);
    expect(c).toContain('router id 10.213.0.12;');
    expect(c).toMatch(/protocol bgp Mesh_10_213_0_11 from bgp_template \{\n {2}neighbor 10\.213\.0\.11 as 64512;\n {2}source address 10\.213\.0\.12;\n {2}graceful/);
    expect(c).toMatch(/protocol bgp Mesh_10_213_0_13 from bgp_template \{\n {2}neighbor 10\.213\.0\.13 as 64512;\n {2}source address 10\.213\.0\.12;\n {2}passive on;/);
    expect(c).toContain('  route 10.244.2.0/26 blackhole;');
    expect(c).toContain('  if ( net = 10.244.2.0/26 ) then { accept; }');
    expect(c).toMatch(/template bgp bgp_template \{\n(?: {2}[^\n]*\n)*? {2}local as 64512;\n {2}multihop;\n {2}gateway recursive;\n {2}import all;\n {2}export filter calico_export_to_bgp_peers;/);
    expect(c).toMatch(/protocol kernel \{[^}]*learn;[^}]*scan time 2;[^}]*export filter calico_kernel_programming;[^}]*graceful restart;/);
    expect(c).toContain('interface -"cali*", -"kube-ipvs*", "*";');
  });

  it('VXLAN pools stay out of the kernel (Felix programs them); without encapsulation BIRD programs them', () => {
    expect(renderBirdConfig({ ...base, poolEncapsulation: 'vxlan' })).toMatch(/filter calico_kernel_programming \{\n {2}if \( net ~ 10\.244\.0\.0\/16 \) then \{ reject; \}/);
    expect(renderBirdConfig(base)).toMatch(/filter calico_kernel_programming \{\n {2}if \( net ~ 10\.244\.0\.0\/16 \) then \{ accept; \}/);
  });

  // #19
  it('IPIP: the kernel protocol syncs with its own kernel table and exports nothing to it; main only without one', () => {
    const c = renderBirdConfig({ ...base, poolEncapsulation: 'ipip', kernelTable: 100 });
    expect(c).toMatch(/protocol kernel \{\n {2}kernel table 100;[^\n]*\n {2}learn;/);
    expect(c).toMatch(/protocol kernel \{[^}]*export none;/);
    expect(renderBirdConfig(base)).not.toContain('kernel table');
  });

  it('faults: a wrong peer AS and an unexported block', () => {
    const c = renderBirdConfig({ ...base, peers: [{ name: 'node1', nodeIp: '10.213.0.11', as: 64513 }], unexportedBlocks: ['10.244.2.0/26'] });
    expect(c).toContain('neighbor 10.213.0.11 as 64513;');
    expect(c).not.toContain('if ( net = 10.244.2.0/26 ) then { accept; }');
    expect(c).toContain('  route 10.244.2.0/26 blackhole;');
  });

  it('reads birdc show protocols text', () => {
    const text = 'BIRD 1.6.8 ready.\nname     proto    table    state  since       info\nkernel1  Kernel   master   up     17:37:16    \nMesh_10_213_0_12 BGP      master   start  17:49:49    Active        Socket: Connection closed\n';
    expect(protocolStates(text).get(meshProtocolName('10.213.0.12'))).toEqual({ proto: 'BGP', state: 'start', info: 'Active Socket: Connection closed' });
  });
});

describe('BGP lab plans', () => {
  it('CrossSubnet puts the upper nodes on the second subnet; pairs on one subnet are direct', () => {
    const p = planLab({ id: 'test', nodes: 3, podsPerNode: 1, runDir: '/tmp/x', routing: { routing: 'bgp', crossSubnet: true } });
    expect(p.nodes.map((n) => [n.nodeIp, n.subnet, n.gateway])).toEqual([
      ['10.213.0.11', '10.213.0.0/24', '10.213.0.1'],
      ['10.213.0.12', '10.213.0.0/24', '10.213.0.1'],
      ['10.213.1.13', '10.213.1.0/24', '10.213.1.1'],
    ]);
    const [a, b, c] = p.nodes as [typeof p.nodes[0], typeof p.nodes[0], typeof p.nodes[0]];
    expect([directPair(p.routing, a, b), directPair(p.routing, a, c)]).toEqual([true, false]);
    expect(birdConfigFor(p, c)).toMatchObject({ nodeIp: '10.213.1.13', poolEncapsulation: 'vxlan', peers: [{ nodeIp: '10.213.0.11' }, { nodeIp: '10.213.0.12' }] });
    expect(a.birdSocket).toBe('/tmp/x/bird-node1.ctl');
  });

  it('the default plan is unchanged (static VXLAN, one subnet, no BIRD)', () => {
    const p = planLab({ id: 'test', nodes: 2, podsPerNode: 1, runDir: '/tmp/x' });
    expect(p.routing).toEqual({ routing: 'static', encapsulation: 'vxlan', crossSubnet: false });
    expect(p.nodes.map((n) => [n.nodeIp, n.birdSocket])).toEqual([['10.213.0.11', null], ['10.213.0.12', null]]);
  });

  it('refuses routing choices Calico cannot have', () => {
    expect(() => validateRouting({ routing: 'static', encapsulation: 'none', crossSubnet: false })).toThrow(/needs routing: bgp/);
    expect(() => validateRouting({ routing: 'bgp', encapsulation: 'none', crossSubnet: true })).toThrow(/VXLAN mode/);
  });

  it("a node without encapsulation gets no Felix VXLAN rule", () => {
    expect(calicoFilterRules()).toMatch(/IPv4 VXLAN packets from/);
    expect(calicoFilterRules('legacy')).toMatch(/IPv4 VXLAN packets from non-Calico hosts/);
    expect(withoutVxlanRules(calicoFilterRules('legacy'))).not.toMatch(/VXLAN/);
    expect(withoutVxlanRules(calicoFilterRules())).not.toMatch(/VXLAN/);
  });
});
