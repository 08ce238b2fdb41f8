import { describe, expect, it } from 'vitest';
import { deriveIdentity, deriveUplinks } from '../../../agent/derive/identity.js';
import { unavailable } from '../../../contract/result.js';
import { addr, editSection, healthyIpipSections, healthyVxlanSections, link, route } from '../../helpers/snapshot.js';

// issue #2
describe('deriveIdentity', () => {
  it('VXLAN node (9506hqwy worker): VXLAN underlay first, then the default-route uplink', () => {
    const id = deriveIdentity(healthyVxlanSections());
    expect(id.uplinks).toEqual([
      { name: 'enp2s0', mtu: 1500 },
      { name: 'enp1s0', mtu: 1500 },
    ]);
    expect(id.nodeIPs).toEqual(['10.0.0.31', '172.16.0.31']);
    expect(id.tunnels).toEqual([
      { device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '172.17.255.128', mac: '66:ba:9d:ce:21:bb', vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: '10.0.0.31' },
    ]);
    expect(id.blocks).toEqual(['172.17.255.128/26']);
    expect(id.workloads).toEqual([{ ip: '172.17.255.130', dev: 'cali90b386908a6' }]);
    expect(deriveUplinks(healthyVxlanSections())).toEqual(['enp2s0', 'enp1s0']);
  });

  it('finds the VXLAN underlay by its local address when the link name is unknown', () => {
    const s = editSection(healthyVxlanSections(), 'links', (ls) => void (ls.find((l) => l.name === 'vxlan.calico')!.vxlan!.link = null));
    const noDefault = editSection(s, 'routes', (rs) => rs.filter((r) => r.dst !== 'default'));
    expect(deriveUplinks(noDefault)).toEqual(['enp2s0']);
  });

  it('IPIP node (ubuntu-3): tunl0 tunnel, proto bird blackhole block, docker0 not an uplink', () => {
    const id = deriveIdentity(healthyIpipSections());
    expect(id.uplinks).toEqual([{ name: 'ens3', mtu: 1400 }]);
    expect(id.nodeIPs).toEqual(['100.64.1.24']);
    expect(id.tunnels).toMatchObject([{ device: 'tunl0', kind: 'ipip', ip: '10.201.0.128', mac: null, vni: null, mtu: 1380 }]);
    expect(id.blocks).toEqual(['10.201.0.128/26']);
  });

  it('never takes lo, docker0, cali*, tunnels or kube-ipvs0 as uplinks, even with a default route on them', () => {
    const s = editSection(healthyVxlanSections(), 'routes', (rs) => {
      rs.push(route('default', { dev: 'vxlan.calico', table: 'main' }));
      rs.push(route('default', { dev: 'docker0' }));
      rs.push(route('default', { dev: 'cali90b386908a6' }));
    });
    expect(deriveUplinks(s)).toEqual(['enp2s0', 'enp1s0']);
  });

  // shapes from real dual-stack output: projectcalico/calico#6619 and a kube1 node of the blog posts in the corpus (ip-text)
  it('dual stack: IPv6 blocks (blackhole and unreachable), IPv6 workloads without scope, vxlan-v6.calico', () => {
    let s = editSection(healthyVxlanSections(), 'links', (ls) => {
      ls.push(link('vxlan-v6.calico', { ifindex: 9, kind: 'vxlan', operstate: 'UNKNOWN', mtu: 1430, mac: '66:aa:00:00:00:06', vxlan: { id: 4096, port: 4789, local: '3000:1:1::3', link: 'enp2s0', learning: false } }));
    });
    s = editSection(s, 'addresses', (as) => {
      as.push(addr('enp2s0', '3000:1:1::3/64'), addr('enp2s0', 'fe80::5054:ff:fe11:d197/64', 'link'), addr('vxlan-v6.calico', 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/128'));
    });
    s = editSection(s, 'routes', (rs) => {
      rs.push(route('fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/122', { type: 'blackhole', dev: 'lo', protocol: 'bird' }));
      rs.push(route('3000:1:101:0:7e48:cff1:8353:e140/122', { type: 'unreachable', dev: 'lo', protocol: 'bird' }));
      rs.push(route('::/96', { type: 'unreachable', dev: 'lo', protocol: 'boot' }));
      rs.push(route('fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e41', { dev: 'cali90b386908a6', scope: 'global', metric: 1024 }));
      rs.push(route('default', { gateway: 'fe80::5e00:100', dev: 'enp1s0', protocol: 'ra' }));
    });
    const id = deriveIdentity(s);
    expect(id.blocks).toEqual(['172.17.255.128/26', 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/122', '3000:1:101:0:7e48:cff1:8353:e140/122']);
    expect(id.workloads).toContainEqual({ ip: 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e41', dev: 'cali90b386908a6' });
    expect(id.nodeIPs).toEqual(['10.0.0.31', '3000:1:1::3', '172.16.0.31']);
    expect(id.tunnels.find((t) => t.device === 'vxlan-v6.calico')).toMatchObject({ family: 'inet6', ip: 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40', mtu: 1430 });
  });

  it('wireguard devices are tunnels of kind wireguard', () => {
    const s = editSection(healthyVxlanSections(), 'links', (ls) => {
      ls.push(link('wireguard.cali', { ifindex: 11, kind: 'wireguard', flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 1440 }));
      ls.push(link('wg-v6.cali', { ifindex: 12, kind: 'wireguard', flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 1420 }));
    });
    const id = deriveIdentity(editSection(s, 'addresses', (as) => void as.push(addr('wireguard.cali', '172.17.255.129/32'))));
    expect(id.tunnels.filter((t) => t.kind === 'wireguard')).toMatchObject([
      { device: 'wireguard.cali', family: 'inet', ip: '172.17.255.129' },
      { device: 'wg-v6.cali', family: 'inet6', ip: null },
    ]);
  });

  it('leaves out an idle tunl0 (no address, no routes: created by the ipip module), keeps one with routes', () => {
    const s = editSection(healthyVxlanSections(), 'links', (ls) => void ls.push(link('tunl0', { ifindex: 8, kind: 'ipip', flags: ['NOARP'], operstate: 'DOWN', mtu: 1480 })));
    expect(deriveIdentity(s).tunnels.map((t) => t.device)).toEqual(['vxlan.calico']);
    const routed = editSection(s, 'routes', (rs) => void rs.push(route('10.201.0.192/26', { gateway: '10.0.0.12', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] })));
    expect(deriveIdentity(routed).tunnels.map((t) => t.device)).toEqual(['vxlan.calico', 'tunl0']);
  });

  it('unavailable sections contribute nothing instead of failing', () => {
    const s = { ...healthyVxlanSections(), links: unavailable('timeout', 'x'), routes: unavailable('timeout', 'x') };
    expect(deriveIdentity(s)).toEqual({ nodeIPs: [], uplinks: [], tunnels: [], blocks: [], workloads: [] });
  });
});
