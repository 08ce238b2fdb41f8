import { describe, expect, it } from 'vitest';
import { parseNftJson, type NftRuleset } from '../../../agent/parsers/nft-json.js';
import { nftPolicyRule } from '../../../agent/derive/nft-policy-rule.js';
import { fixture } from '../parsers/fixture.js';

const load = (rel: string): NftRuleset => {
  const r = parseNftJson(fixture(rel));
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};
const rulesOf = (rs: NftRuleset, family: string, chain: string) => rs.chains.find((c) => c.family === family && c.name === chain)?.rules ?? [];

describe('nftPolicyRule: nft rules as backend-neutral policy rules', () => {
  it("Felix's VXLAN guard: udp implied by `udp dport`, the set as a src match, fib daddr type local, counters and the cali: id", () => {
    const [accept, drop] = rulesOf(load('nft/calico-felix-fv-cali-nftables-dump.json'), 'ip', 'filter-cali-INPUT');
    expect(nftPolicyRule(accept!)).toEqual({
      family: 'ipv4',
      table: 'ip calico',
      chain: 'filter-cali-INPUT',
      index: 1,
      verdict: 'ACCEPT',
      protocol: 'udp',
      dports: [4789],
      matchSets: [{ name: 'cali40all-vxlan-net', negated: false, direction: 'src' }],
      dstTypeLocal: true,
      packets: 69,
      bytes: 14902,
      caliId: 'Gtn781KKHXqD1ZWy',
      comments: ['Allow IPv4 VXLAN packets from allowed hosts'],
      text: accept!.text,
    });
    expect(nftPolicyRule(drop!)).toMatchObject({ verdict: 'DROP', protocol: 'udp', dports: [4789], matchSets: [], dstTypeLocal: true, caliId: 'uwBdMK7MloVtOKLK', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'] });
  });

  it('the outbound guard matches the set as a destination; jump and goto name their target chain', () => {
    const rs = load('nft/calico-felix-fv-cali-nftables-dump.json');
    const out = rulesOf(rs, 'ip', 'filter-cali-OUTPUT').map((r) => nftPolicyRule(r)!);
    expect(out[2]).toMatchObject({ verdict: 'ACCEPT', matchSets: [{ name: 'cali40all-vxlan-net', negated: false, direction: 'dst' }], dstTypeLocal: null });
    const input = rulesOf(rs, 'ip', 'filter-cali-INPUT').map((r) => nftPolicyRule(r)!);
    expect(input[2]?.verdict).toBe('filter-cali-wl-to-host');
    expect(input[5]?.verdict).toBe('filter-cali-from-host-endpoint');
    expect(input[4]?.verdict).toBeNull();
  });

  it('negated set match, ip protocol ipencap, a port set, reject, ip6 with fib type != local', () => {
    const rs = load('nft/shapes.json');
    const c = rulesOf(rs, 'ip', 'c').map((r) => nftPolicyRule(r)!);
    expect(c[0]).toMatchObject({ verdict: 'DROP', protocol: 'ipencap', matchSets: [{ name: 's', negated: true, direction: 'src' }], caliId: 'abc', comments: ['x'] });
    expect(c[1]).toMatchObject({ verdict: 'REJECT', protocol: 'udp', dports: [4789, 8472] });
    expect(c[2]).toMatchObject({ verdict: 'ACCEPT', protocol: 'udp', matchSets: [] });
    expect(c[4]).toMatchObject({ verdict: 'RETURN', protocol: 'tcp', dports: [] }); // a port range is not a list of ports
    const v6 = rulesOf(rs, 'ip6', 'c').map((r) => nftPolicyRule(r)!);
    expect(v6[0]).toMatchObject({ family: 'ipv6', table: 'ip6 t6', verdict: 'DROP', matchSets: [{ name: 's6', negated: false, direction: 'src' }], dstTypeLocal: false });
  });

  it('literal ip saddr matches are the sources (an address, a prefix, a range, an anonymous set); set references and negations are not', () => {
    const drop = rulesOf(load('lab/nftables/nft-encap-drop-node1/nft-j-list-ruleset.json'), 'ip', 'filter-cali-INPUT')[0]!;
    expect(nftPolicyRule(drop)).toMatchObject({ verdict: 'DROP', protocol: 'udp', dports: [4789], sources: ['10.213.0.12'], comments: ['lab fault: drop VXLAN from one peer'] });
    const right = (v: unknown, op = '==') =>
      `{"nftables":[{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"match":{"op":"${op}","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":${JSON.stringify(v)}}},{"drop":null}]}}]}`;
    const sourcesOf = (text: string) => {
      const r = parseNftJson(text);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      return nftPolicyRule(r.value.chains[0]!.rules[0]!)?.sources;
    };
    expect(sourcesOf(right({ prefix: { addr: '10.0.0.0', len: 8 } }))).toEqual(['10.0.0.0/8']);
    expect(sourcesOf(right({ range: ['10.0.0.1', '10.0.0.9'] }))).toEqual(['10.0.0.1-10.0.0.9']);
    expect(sourcesOf(right({ set: ['10.0.0.1', { prefix: { addr: '10.1.0.0', len: 16 } }] }))).toEqual(['10.0.0.1', '10.1.0.0/16']);
    expect(sourcesOf(right('@cali40all-vxlan-net'))).toBeUndefined();
    expect(sourcesOf(right('10.0.0.1', '!='))).toBeUndefined();
  });

  it('tables of other families (inet, bridge, …) do not map', () => {
    const r = parseNftJson('{"nftables":[{"chain":{"family":"inet","table":"fw","name":"in"}},{"rule":{"family":"inet","table":"fw","chain":"in","expr":[{"drop":null}]}}]}');
    if (!r.ok) throw new Error('parse');
    expect(nftPolicyRule(r.value.chains[0]!.rules[0]!)).toBeNull();
  });
});
