import { describe, expect, it } from 'vitest';
import { deriveIdentity } from '../../../agent/derive/identity.js';
import { BOTH_DATAPLANES_WARNING, NFT_UNREADABLE_WARNING, deriveMode, derivePolicyDataplane } from '../../../agent/derive/mode.js';
import { ok, unavailable } from '../../../contract/result.js';
import type { Sections } from '../../../contract/snapshot.js';
import { addr, editSection, healthyIpipSections, healthyVxlanSections, link, route } from '../../helpers/snapshot.js';

const mode = (s: Sections) => deriveMode(s, deriveIdentity(s));

/** pooriya control1 in BGP mode: no tunnel, routes to other blocks via ens5 proto bird. */
const bgpNoEncap = (): Sections => {
  let s = editSection(healthyIpipSections(), 'links', (ls) => ls.filter((l) => l.name !== 'tunl0'));
  s = editSection(s, 'addresses', (as) => as.filter((a) => a.ifname !== 'tunl0'));
  s = editSection(s, 'routes', (rs) => rs.map((r) => (r.dev === 'tunl0' ? { ...r, dev: 'ens3', flags: [] } : r)));
  return s;
};

// issue #2
describe('deriveMode', () => {
  it('VXLAN: vxlan.calico with routes via it; no BGP without BIRD or bird routes', () => {
    expect(mode(healthyVxlanSections())).toEqual({
      encapsulation: 'vxlan',
      wireguard: false,
      ebpf: false,
      bgp: false,
      policyDataplane: 'iptables-nft',
      evidence: ['vxlan.calico present with 1 route(s) via it', 'policy dataplane iptables-nft: 80 cali-* chain(s); backend chosen by kube hint chains in nft tables'],
    });
  });

  it('IPIP: tunl0 carrying proto bird routes, BGP from BIRD and bird routes', () => {
    const m = mode(healthyIpipSections());
    expect(m).toMatchObject({ encapsulation: 'ipip', bgp: true, wireguard: false, ebpf: false });
    expect(m.evidence).toContain('tunl0 carries 1 route(s)');
    expect(m.evidence.some((e) => e.startsWith('BIRD answered'))).toBe(true);
  });

  it('VXLAN CrossSubnet (9506hqwy worker): Felix routes via the underlay only', () => {
    const s = editSection(healthyVxlanSections(), 'routes', (rs) =>
      rs.map((r) => (r.dst === '172.17.2.0/26' ? { ...r, gateway: '10.0.0.11', dev: 'enp2s0' } : r)),
    );
    const m = mode(s);
    expect(m.encapsulation).toBe('vxlan');
    expect(m.evidence).toEqual(['vxlan.calico present; 1 Felix route(s) via the underlay and none via the tunnel (VXLAN CrossSubnet, peers on this subnet)', 'policy dataplane iptables-nft: 80 cali-* chain(s); backend chosen by kube hint chains in nft tables']);
  });

  it('tunl0 without address or routes (ipip module loaded) is not IPIP', () => {
    let s = editSection(healthyVxlanSections(), 'links', (ls) => void ls.push(link('tunl0', { ifindex: 8, kind: 'ipip', flags: ['NOARP'], operstate: 'DOWN', mtu: 1480 })));
    s = editSection(s, 'addresses', (as) => as.filter((a) => a.ifname !== 'tunl0'));
    const m = mode(s);
    expect(m.encapsulation).toBe('vxlan');
    expect(m.evidence).toContain('tunl0 exists without an address or routes (the ipip module creates it): not IPIP');
  });

  it('VXLAN + IPIP (pools in both modes)', () => {
    const s = editSection(healthyVxlanSections(), 'links', (ls) => void ls.push(link('tunl0', { ifindex: 8, kind: 'ipip', flags: ['NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 1480 })));
    const withRoute = editSection(s, 'routes', (rs) => void rs.push(route('10.201.0.192/26', { gateway: '10.0.0.12', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] })));
    expect(mode(withRoute).encapsulation).toBe('vxlan+ipip');
  });

  it('BGP without encapsulation: block routes via the uplink proto bird', () => {
    const m = mode(bgpNoEncap());
    expect(m).toMatchObject({ encapsulation: 'none', bgp: true });
    expect(m.evidence).toContain('no Calico tunnel device; 1 block route(s) via the underlay (BGP without encapsulation)');
  });

  it('unknown when nothing shows how pods reach other nodes, or when links/routes are unavailable', () => {
    let s = editSection(bgpNoEncap(), 'routes', (rs) => rs.filter((r) => r.protocol !== 'bird' || r.type === 'blackhole'));
    s = { ...s, bgp: unavailable('not-present', 'no socket') };
    expect(mode(s).encapsulation).toBe('unknown');
    expect(mode({ ...healthyVxlanSections(), routes: unavailable('timeout', 'x') })).toMatchObject({ encapsulation: 'vxlan' });
    const m = mode({ ...bgpNoEncap(), links: unavailable('timeout', 'x') });
    expect(m.encapsulation).toBe('unknown');
    expect(m.evidence).toContain('links unavailable (timeout)');
  });

  it('WireGuard: wireguard.cali present', () => {
    const s = editSection(healthyVxlanSections(), 'links', (ls) => void ls.push(link('wireguard.cali', { ifindex: 11, kind: 'wireguard', operstate: 'UNKNOWN', mtu: 1440 })));
    const m = mode(s);
    expect(m).toMatchObject({ encapsulation: 'vxlan', wireguard: true });
    expect(m.evidence).toContain('WireGuard device wireguard.cali present');
  });

  it('eBPF: bpfin.cali/bpfout.cali (and the older bpfnatin) with no cali-* iptables chains', () => {
    let s = editSection(healthyVxlanSections(), 'links', (ls) => {
      ls.push(link('bpfin.cali', { ifindex: 20, kind: 'veth' }), link('bpfout.cali', { ifindex: 21, kind: 'veth' }));
    });
    s = editSection(s, 'iptables', (t) => void (t.ipv4 = ok({ tables: ['filter'], chains: 5, rules: 3, caliChains: 0 })));
    const m = mode(s);
    expect(m.ebpf).toBe(true);
    expect(m.evidence).toContain('eBPF dataplane device(s) bpfin.cali, bpfout.cali present; no cali-* iptables chains');
    const old = editSection(healthyVxlanSections(), 'links', (ls) => void ls.push(link('bpfnatin', { ifindex: 22 })));
    expect(mode(old).ebpf).toBe(true);
    expect(mode(healthyVxlanSections()).ebpf).toBe(false);
  });

  it('dual stack VXLAN (vxlan-v6.calico routes only still counts as VXLAN)', () => {
    let s = editSection(healthyVxlanSections(), 'links', (ls) => {
      ls.push(link('vxlan-v6.calico', { ifindex: 9, kind: 'vxlan', operstate: 'UNKNOWN', mtu: 1430 }));
    });
    s = editSection(s, 'addresses', (as) => void as.push(addr('vxlan-v6.calico', '2000::c11:b42f:f17e:a680/128')));
    s = editSection(s, 'routes', (rs) => {
      rs.push(route('2000::34b8:247c:36da:db40/122', { gateway: '2000::34b8:247c:36da:db40', dev: 'vxlan-v6.calico', protocol: '80', flags: ['onlink'] }));
    });
    const m = mode(s);
    expect(m.encapsulation).toBe('vxlan');
    expect(m.evidence).toEqual(['vxlan.calico, vxlan-v6.calico present with 2 route(s) via it', 'policy dataplane iptables-nft: 80 cali-* chain(s); backend chosen by kube hint chains in nft tables']);
  });
});

// issue #15
describe('the policy dataplane in the mode, with its evidence', () => {
  const withIptables = (edit: (d: Extract<Sections['iptables'], { status: 'ok' }>['data']) => void): Sections => editSection(healthyVxlanSections(), 'iptables', edit);

  it('iptables legacy / nft by the cali-* chains of the detected backend', () => {
    expect(derivePolicyDataplane(healthyVxlanSections(), false)).toEqual({
      dataplane: 'iptables-nft',
      evidence: 'policy dataplane iptables-nft: 80 cali-* chain(s); backend chosen by kube hint chains in nft tables',
    });
    expect(derivePolicyDataplane(healthyIpipSections(), false).dataplane).toBe('iptables-legacy');
  });

  it("nftables when the section was read from Calico's nftables tables, with the collector's evidence", () => {
    const s = withIptables((d) => {
      d.backend = 'nftables';
      d.backendReason = 'Calico nftables table(s) ip calico (nft list chains); no cali-* chains in iptables (nft backend)';
    });
    expect(derivePolicyDataplane(s, false)).toEqual({
      dataplane: 'nftables',
      evidence: 'policy dataplane nftables: Calico nftables table(s) ip calico (nft list chains); no cali-* chains in iptables (nft backend)',
    });
  });

  it('ebpf when the eBPF dataplane devices are present', () => {
    expect(derivePolicyDataplane(healthyVxlanSections(), true).dataplane).toBe('ebpf');
  });

  it('unknown, with the reason, when it cannot tell: section unavailable, no Calico chains anywhere, or both dataplanes present', () => {
    expect(derivePolicyDataplane({ ...healthyVxlanSections(), iptables: unavailable('timeout', 'nft -j list ruleset: timed out') }, false)).toEqual({
      dataplane: 'unknown',
      evidence: 'policy dataplane unknown: iptables section unavailable (timeout: nft -j list ruleset: timed out)',
    });
    const none = withIptables((d) => {
      d.ipv4 = ok({ tables: ['filter'], chains: 3, rules: 0, caliChains: 0 });
      d.ipv6 = unavailable('missing-binary', 'ip6tables-nft-save: not found');
    });
    expect(derivePolicyDataplane(none, false)).toEqual({
      dataplane: 'unknown',
      evidence: 'policy dataplane unknown: no cali-* chains in iptables (nft backend, 1 family unreadable) and no Calico nftables table',
    });
    const both = withIptables((d) => {
      d.warnings = [`${BOTH_DATAPLANES_WARNING}: nft ip calico; 80 cali-* chain(s) in iptables-nft (read)`];
    });
    expect(derivePolicyDataplane(both, false)).toEqual({
      dataplane: 'unknown',
      evidence: `policy dataplane unknown: ${BOTH_DATAPLANES_WARNING}: nft ip calico; 80 cali-* chain(s) in iptables-nft (read)`,
    });
    expect(mode(both).policyDataplane).toBe('unknown');
    const unreadable = withIptables((d) => {
      d.ipv4 = ok({ tables: ['filter'], chains: 3, rules: 0, caliChains: 0 });
      d.warnings = [`${NFT_UNREADABLE_WARNING} (timeout: nft list chains: timed out)`];
    });
    expect(derivePolicyDataplane(unreadable, false)).toEqual({
      dataplane: 'unknown',
      evidence: 'policy dataplane unknown: no cali-* chains in iptables and nft tables unreadable (timeout: nft list chains: timed out)',
    });
  });
});
