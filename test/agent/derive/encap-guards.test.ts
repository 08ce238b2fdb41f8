/**
 * #15: the rules that guard encapsulated traffic, derived from the rules present in either form
 * Felix writes (accept-then-drop in current releases, negated drop in older ones), both families,
 * VXLAN and IPIP; from iptables-save text through our parser and the iptables → PolicyRule mapping,
 * and from PolicyRules as the nftables dataplane gives them.
 */
import { describe, expect, it } from 'vitest';
import { iptablesPolicyRule, summariseFamily } from '../../../agent/collectors/iptables.js';
import { deriveEncapGuards } from '../../../agent/derive/encap-guards.js';
import type { PolicyRule } from '../../../agent/derive/policy-rule.js';
import { parseIptablesSave } from '../../../agent/parsers/iptables-save.js';
import { EncapGuard } from '../../../contract/snapshot.js';
import { fixture } from '../parsers/fixture.js';

const dumpOf = (text: string) => {
  const p = parseIptablesSave(text);
  if (!p.ok) throw new Error(`${p.error.code}: ${p.error.message}`);
  return p.value;
};
const guardsOf = (family: 'ipv4' | 'ipv6', text: string) => {
  const guards = summariseFamily(family, dumpOf(text)).encapGuards;
  for (const g of guards) expect(EncapGuard.safeParse(g).success).toBe(true);
  return guards;
};
const filter = (chains: string[], rules: string[]) =>
  ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');

// The shapes of felix/rules/static.go (filterInputChain), as iptables-save prints them.
const CURRENT_V4_VXLAN = [
  '[12:1000] -A INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT',
  '[9:900] -A cali-INPUT -p udp -m comment --comment "cali:aaaaaaaaaaaaaaa1" -m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -m multiport --dports 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT',
  '[3:300] -A cali-INPUT -p udp -m comment --comment "cali:aaaaaaaaaaaaaaa2" -m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j DROP',
  '[0:0] -A cali-INPUT -i cali+ -m comment --comment "cali:aaaaaaaaaaaaaaa3" -g cali-wl-to-host',
  '[5:500] -A cali-OUTPUT -p udp -m comment --comment "cali:aaaaaaaaaaaaaaa4" -m comment --comment "Allow IPv4 VXLAN packets to other allowed hosts" -m multiport --dports 4789 -m addrtype --src-type LOCAL -m set --match-set cali40all-vxlan-net dst -j ACCEPT',
  // a per-workload chain's catch-all (no allow before it): never a guard
  '[0:0] -A cali-fw-cali1234567890a -p udp -m comment --comment "cali:aaaaaaaaaaaaaaa5" -m comment --comment "Drop VXLAN encapped packets originating in workloads" -m multiport --dports 4789 -j DROP',
];
const CURRENT_CHAINS = ['cali-INPUT', 'cali-OUTPUT', 'cali-wl-to-host', 'cali-fw-cali1234567890a'];

// #15
describe('deriveEncapGuards over iptables-save', () => {
  it('current Felix, IPv4 VXLAN: the catch-all DROP after the ACCEPT of cali40all-vxlan-net sources', () => {
    expect(guardsOf('ipv4', filter(CURRENT_CHAINS, CURRENT_V4_VXLAN))).toEqual([
      {
        family: 'ipv4',
        encapsulation: 'vxlan',
        form: 'accept-then-drop',
        set: 'cali40all-vxlan-net',
        table: 'filter',
        chain: 'cali-INPUT',
        drop: { index: 2, caliId: 'aaaaaaaaaaaaaaa2', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets: 3, bytes: 300 },
      },
    ]);
  });

  it('current Felix, IPv6 VXLAN with the REJECT deny action: cali60all-vxlan-net', () => {
    const text = filter(
      ['cali-INPUT'],
      [
        '-A cali-INPUT -p udp -m comment --comment "cali:bbbbbbbbbbbbbbb1" -m comment --comment "Allow IPv6 VXLAN packets from allowed hosts" -m multiport --dports 4789 -m set --match-set cali60all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT',
        '-A cali-INPUT -p udp -m comment --comment "cali:bbbbbbbbbbbbbbb2" -m comment --comment "REJECT IPv6 VXLAN packets from non-allowed hosts" -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j REJECT --reject-with icmp6-port-unreachable',
      ],
    );
    expect(guardsOf('ipv6', text)).toMatchObject([
      { family: 'ipv6', encapsulation: 'vxlan', form: 'accept-then-drop', set: 'cali60all-vxlan-net', chain: 'cali-INPUT', drop: { index: 2, caliId: 'bbbbbbbbbbbbbbb2', packets: 0 } },
    ]);
  });

  it('current Felix, IPIP (protocol 4 printed as ipencap): cali40all-hosts-net, the DROP without dst-type', () => {
    const text = filter(
      ['cali-INPUT'],
      [
        '[7:700] -A cali-INPUT -p ipencap -m comment --comment "cali:ccccccccccccccc1" -m comment --comment "Allow IPIP packets from Calico hosts" -m set --match-set cali40all-hosts-net src -m addrtype --dst-type LOCAL -j ACCEPT',
        '[2:200] -A cali-INPUT -p ipencap -m comment --comment "cali:ccccccccccccccc2" -m comment --comment "DROP IPIP packets from non-Calico hosts" -j DROP',
      ],
    );
    expect(guardsOf('ipv4', text)).toMatchObject([
      { encapsulation: 'ipip', form: 'accept-then-drop', set: 'cali40all-hosts-net', drop: { index: 2, caliId: 'ccccccccccccccc2', packets: 2, bytes: 200 } },
    ]);
  });

  it('IPIP and VXLAN guarded in one chain, each by its own set (protocol 4 also written as a number)', () => {
    const text = filter(
      ['cali-INPUT'],
      [
        '-A cali-INPUT -p 4 -m set --match-set cali40all-hosts-net src -m addrtype --dst-type LOCAL -j ACCEPT',
        '-A cali-INPUT -p 4 -j DROP',
        '-A cali-INPUT -p udp -m multiport --dports 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT',
        '-A cali-INPUT -p udp -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j DROP',
      ],
    );
    expect(guardsOf('ipv4', text).map((g) => [g.encapsulation, g.set, g.drop.index])).toEqual([
      ['ipip', 'cali40all-hosts-net', 2],
      ['vxlan', 'cali40all-vxlan-net', 4],
    ]);
  });

  it('current Felix in the lab (recorded from iptables-nft): the guard and its counters', () => {
    expect(guardsOf('ipv4', fixture('lab/felix-current/healthy-node1/iptables-save-c.txt'))).toEqual([
      {
        family: 'ipv4',
        encapsulation: 'vxlan',
        form: 'accept-then-drop',
        set: 'cali40all-vxlan-net',
        table: 'filter',
        chain: 'cali-INPUT',
        drop: { index: 2, caliId: 'nF0B1ViHLFLcCt6O', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets: 0, bytes: 0 },
      },
    ]);
    expect(guardsOf('ipv4', fixture('lab/felix-legacy/healthy-node1/iptables-save-c.txt'))).toMatchObject([{ form: 'negated-drop', set: 'cali40all-hosts-net', drop: { index: 1 } }]);
  });

  it('older Felix: one DROP with a negated match on cali40all-hosts-net (the lab recording)', () => {
    expect(guardsOf('ipv4', fixture('lab/healthy-node1/iptables-save-c.txt'))).toEqual([
      {
        family: 'ipv4',
        encapsulation: 'vxlan',
        form: 'negated-drop',
        set: 'cali40all-hosts-net',
        table: 'filter',
        chain: 'cali-INPUT',
        drop: { index: 1, caliId: 'sXzzsj-RVE92HljQ', comments: ['Drop IPv4 VXLAN packets from non-Calico hosts'], packets: 0, bytes: 0 },
      },
    ]);
  });

  it('oldest Felix: IPIP dropped with a negated match on felix-calico-hosts-4', () => {
    const text = filter(['felix-INPUT'], ['[39:4056] -A felix-INPUT -p ipencap -m set ! --match-set felix-calico-hosts-4 src -j DROP']);
    expect(guardsOf('ipv4', text)).toMatchObject([
      { encapsulation: 'ipip', form: 'negated-drop', set: 'felix-calico-hosts-4', chain: 'felix-INPUT', drop: { index: 1, caliId: null, packets: 39, bytes: 4056 } },
    ]);
  });

  it("Felix's own FV dump: a catch-all VXLAN DROP with no ACCEPT before it names no set, so no guard", () => {
    // test/fixtures/iptables-save/calico-felix-fv-cali-iptables-dump.txt (Apache-2.0, projectcalico/calico)
    expect(guardsOf('ipv4', fixture('iptables-save/calico-felix-fv-cali-iptables-dump.txt'))).toEqual([]);
    expect(guardsOf('ipv4', fixture('iptables-save/calico-felix-fv-iptables-dump-kube-docker.txt'))).toEqual([]);
  });

  it('is no guard: an ACCEPT after the DROP, an ACCEPT of another port, a DROP of set members, a negated destination set', () => {
    const rules = (lines: string[]) => guardsOf('ipv4', filter(['cali-INPUT'], lines));
    const drop = '-A cali-INPUT -p udp -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j DROP';
    expect(rules([drop, '-A cali-INPUT -p udp -m multiport --dports 4789 -m set --match-set cali40all-vxlan-net src -j ACCEPT'])).toEqual([]);
    expect(rules(['-A cali-INPUT -p udp -m multiport --dports 8472 -m set --match-set cali40all-vxlan-net src -j ACCEPT', drop])).toEqual([]);
    expect(rules(['-A cali-INPUT -p udp -m udp --dport 4789 -m set --match-set cali40all-vxlan-net src -j DROP'])).toEqual([]);
    expect(rules(['-A cali-INPUT -p udp -m udp --dport 4789 -m set ! --match-set cali40all-vxlan-net dst -j DROP'])).toEqual([]);
    expect(rules(['-A cali-INPUT ! -p udp -m udp --dport 4789 -m set ! --match-set cali40all-vxlan-net src -j DROP'])).toEqual([]);
  });

  it('a non-default VXLAN port is recognised by the set or the comment; the allow may RETURN', () => {
    const text = filter(
      ['cali-INPUT'],
      [
        '-A cali-INPUT -p udp -m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -m multiport --dports 4790 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j RETURN',
        '-A cali-INPUT -p udp -m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -m multiport --dports 4790 -m addrtype --dst-type LOCAL -j DROP',
      ],
    );
    expect(guardsOf('ipv4', text)).toMatchObject([{ encapsulation: 'vxlan', set: 'cali40all-vxlan-net', form: 'accept-then-drop' }]);
  });
});

// #15
describe('iptablesPolicyRule', () => {
  it('maps protocol, ports, sets, dst-type, counters, id and comments', () => {
    const dump = dumpOf(filter(['cali-INPUT'], [CURRENT_V4_VXLAN[1] as string]));
    const rule = dump.tables[0]!.chains.find((c) => c.name === 'cali-INPUT')!.rules[0]!;
    expect(iptablesPolicyRule('ipv4', 'filter', rule)).toEqual({
      family: 'ipv4',
      table: 'filter',
      chain: 'cali-INPUT',
      index: 1,
      verdict: 'ACCEPT',
      protocol: 'udp',
      dports: [4789],
      matchSets: [{ name: 'cali40all-vxlan-net', negated: false, direction: 'src' }],
      dstTypeLocal: true,
      packets: 9,
      bytes: 900,
      caliId: 'aaaaaaaaaaaaaaa1',
      comments: ['Allow IPv4 VXLAN packets from allowed hosts'],
      text: (CURRENT_V4_VXLAN[1] as string).replace(/^\[\d+:\d+\] /, ''),
      sources: [],
    });
  });

  it('reads --dport, port lists and small ranges, ignores negated ports, and ! --dst-type LOCAL', () => {
    const dump = dumpOf(filter(['c'], ['-A c -p udp -m multiport --dports 53,4789:4791 -m addrtype ! --dst-type LOCAL -j DROP', '-A c -p udp -m udp ! --dport 4789 -j DROP']));
    const [a, b] = dump.tables[0]!.chains.find((c) => c.name === 'c')!.rules.map((r) => iptablesPolicyRule('ipv4', 'filter', r));
    expect(a).toMatchObject({ dports: [53, 4789, 4790, 4791], dstTypeLocal: false });
    expect(b).toMatchObject({ dports: [], dstTypeLocal: null });
  });

  it('reads source addresses, not negated ones', () => {
    const dump = dumpOf(filter(['c'], ['-A c -s 10.213.0.12/32 -p udp -m udp --dport 4789 -j DROP', '-A c ! -s 10.0.0.0/8 -p udp -j DROP']));
    const [a, b] = dump.tables[0]!.chains.find((c) => c.name === 'c')!.rules.map((r) => iptablesPolicyRule('ipv4', 'filter', r));
    expect(a!.sources).toEqual(['10.213.0.12/32']);
    expect(b!.sources).toEqual([]);
  });

  it('marks drop rules that match encapsulated traffic with their encapsulation and sources', () => {
    const text = filter(['cali-INPUT'], ['[4:400] -A cali-INPUT -s 10.213.0.12/32 -p udp -m udp --dport 4789 -j DROP', '[1:100] -A cali-INPUT -p tcp -j DROP']);
    const drops = summariseFamily('ipv4', dumpOf(text)).dropRules;
    expect(drops.map((d) => [d.index, d.encapsulation, d.sources])).toEqual([
      [1, 'vxlan', ['10.213.0.12/32']],
      [2, undefined, undefined],
    ]);
  });
});

// #15
describe('deriveEncapGuards over PolicyRules of the nftables dataplane', () => {
  // ../shared/corpus/nft/calico-felix-fv-cali-nftables-dump.txt (Apache-2.0, projectcalico/calico
  // felix/fv/cali-nftables-dump.txt), chain filter-cali-INPUT:
  //   udp dport 4789 ip saddr @cali40all-vxlan-net fib daddr type local counter packets 69 bytes 14902 accept comment "cali:Gtn781KKHXqD1ZWy; Allow IPv4 VXLAN packets from allowed hosts"
  //   udp dport 4789 fib daddr type local counter packets 0 bytes 0 drop comment "cali:uwBdMK7MloVtOKLK; Drop IPv4 VXLAN packets from non-allowed hosts"
  const base = { family: 'ipv4' as const, table: 'ip calico', chain: 'filter-cali-INPUT', protocol: 'udp', dports: [4789], dstTypeLocal: true };
  const rules: PolicyRule[] = [
    { ...base, index: 2, verdict: 'drop', matchSets: [], packets: 0, bytes: 0, caliId: 'uwBdMK7MloVtOKLK', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], text: 'udp dport 4789 fib daddr type local counter packets 0 bytes 0 drop' },
    { ...base, index: 1, verdict: 'accept', matchSets: [{ name: 'cali40all-vxlan-net', negated: false, direction: 'src' }], packets: 69, bytes: 14902, caliId: 'Gtn781KKHXqD1ZWy', comments: ['Allow IPv4 VXLAN packets from allowed hosts'], text: 'udp dport 4789 ip saddr @cali40all-vxlan-net fib daddr type local counter packets 69 bytes 14902 accept' },
  ];

  it('finds the accept-then-drop guard whatever the order the rules come in', () => {
    expect(deriveEncapGuards(rules)).toEqual([
      {
        family: 'ipv4',
        encapsulation: 'vxlan',
        form: 'accept-then-drop',
        set: 'cali40all-vxlan-net',
        table: 'ip calico',
        chain: 'filter-cali-INPUT',
        drop: { index: 2, caliId: 'uwBdMK7MloVtOKLK', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets: 0, bytes: 0 },
      },
    ]);
  });

  it('keeps families and chains apart: an IPv6 accept does not make an IPv4 drop a guard', () => {
    const v6accept = { ...(rules[1] as PolicyRule), family: 'ipv6' as const, matchSets: [{ name: 'cali60all-vxlan-net', negated: false, direction: 'src' }] };
    expect(deriveEncapGuards([rules[0] as PolicyRule, v6accept])).toEqual([]);
    expect(deriveEncapGuards([rules[0] as PolicyRule, { ...(rules[1] as PolicyRule), chain: 'filter-cali-OUTPUT' }])).toEqual([]);
  });
});
