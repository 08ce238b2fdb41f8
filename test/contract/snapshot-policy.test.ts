import { describe, expect, it } from 'vitest';
import { Iptables, Mode, isPolicyChain } from '../../contract/snapshot.js';

// issue #15
describe('the contract knows the nftables dataplane', () => {
  it("isPolicyChain knows Felix's iptables and nftables policy chain names, and nothing else", () => {
    for (const c of ['cali-tw-cali1234', 'cali-pi-_abc', 'filter-cali-tw-cali1234', 'filter-cali-fw-cali1234', 'filter-cali-pri-kns.default', 'filter-cali-po-x']) expect(isPolicyChain(c), c).toBe(true);
    for (const c of ['cali-INPUT', 'filter-cali-INPUT', 'filter-cali-to-wl-dispatch', 'nat-cali-tw-x', 'filter-INPUT']) expect(isPolicyChain(c), c).toBe(false);
  });

  it('backend nftables is valid; a mode without policyDataplane (older reports) stays valid, an unknown value does not', () => {
    const section = { backend: 'nftables', backendReason: 'x', ipv4: { status: 'ok', data: { tables: ['calico'], chains: 1, rules: 1, caliChains: 1 } }, ipv6: { status: 'unavailable', reason: 'timeout', detail: '' }, chains: [], dropRules: [] };
    expect(Iptables.safeParse(section).success).toBe(true);
    expect(Iptables.safeParse({ ...section, backend: 'nft-native' }).success).toBe(false);
    const mode = { encapsulation: 'vxlan', wireguard: false, ebpf: false, bgp: false, evidence: [] };
    expect(Mode.safeParse(mode).success).toBe(true);
    expect(Mode.safeParse({ ...mode, policyDataplane: 'nftables' }).success).toBe(true);
    expect(Mode.safeParse({ ...mode, policyDataplane: 'ipfw' }).success).toBe(false);
  });
});
