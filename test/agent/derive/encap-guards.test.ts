import { describe, expect, it } from 'vitest';
import { deriveEncapGuards } from '../../../agent/derive/encap-guards.js';
import type { PolicyRule } from '../../../agent/derive/policy-rule.js';

const rule = (over: Partial<PolicyRule>): PolicyRule => ({
  family: 'ipv4',
  table: 'filter',
  chain: 'cali-INPUT',
  index: 1,
  verdict: null,
  protocol: null,
  dports: [],
  matchSets: [],
  dstTypeLocal: null,
  packets: 0,
  bytes: 0,
  caliId: null,
  comments: [],
  text: '',
  ...over,
});
const src = (name: string, negated = false) => [{ name, negated, direction: 'src' }];

describe('deriveEncapGuards', () => {
  it('accept-then-drop: an ACCEPT of VXLAN from a set followed by the catch-all VXLAN DROP', () => {
    const guards = deriveEncapGuards([
      rule({ index: 1, verdict: 'ACCEPT', protocol: 'udp', dports: [4789], matchSets: src('cali40all-vxlan-net'), packets: 9 }),
      rule({ index: 2, verdict: 'DROP', protocol: 'udp', dports: [4789], packets: 4, bytes: 536, caliId: 'x1', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'] }),
      rule({ index: 3, verdict: 'cali-wl-to-host' }),
    ]);
    expect(guards).toEqual([
      {
        family: 'ipv4',
        encapsulation: 'vxlan',
        form: 'accept-then-drop',
        set: 'cali40all-vxlan-net',
        table: 'filter',
        chain: 'cali-INPUT',
        drop: { index: 2, caliId: 'x1', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets: 4, bytes: 536 },
      },
    ]);
  });

  it('negated-drop: one DROP of IPIP (or VXLAN) from sources not in the set', () => {
    const guards = deriveEncapGuards([rule({ verdict: 'DROP', protocol: 'ipencap', matchSets: src('cali40all-hosts-net', true) })]);
    expect(guards).toMatchObject([{ encapsulation: 'ipip', form: 'negated-drop', set: 'cali40all-hosts-net' }]);
  });

  it('no guard: an ACCEPT without its drop, a drop before the accept, a drop in another chain, non-encapsulated traffic', () => {
    expect(deriveEncapGuards([rule({ verdict: 'ACCEPT', protocol: 'udp', dports: [4789], matchSets: src('s') })])).toEqual([]);
    expect(
      deriveEncapGuards([
        rule({ index: 1, verdict: 'DROP', protocol: 'udp', dports: [4789] }),
        rule({ index: 2, verdict: 'ACCEPT', protocol: 'udp', dports: [4789], matchSets: src('s') }),
      ]),
    ).toEqual([]);
    expect(
      deriveEncapGuards([
        rule({ verdict: 'ACCEPT', protocol: 'udp', dports: [4789], matchSets: src('s') }),
        rule({ chain: 'other', verdict: 'DROP', protocol: 'udp', dports: [4789] }),
      ]),
    ).toEqual([]);
    expect(deriveEncapGuards([rule({ verdict: 'DROP', protocol: 'tcp', dports: [4789], matchSets: src('s', true) })])).toEqual([]);
  });
});
