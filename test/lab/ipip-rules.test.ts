/**
 * issue #19: the IPIP lab's Felix rules (lab/topology.ts calicoFilterRules with encapsulation ipip)
 * in both release shapes, read back by the agent's own parser and guard derivation: current Felix's
 * ACCEPT of protocol 4 from cali40all-hosts-net then DROP, older Felix's single negated DROP. Pure.
 */
import { describe, expect, it } from 'vitest';
import { summariseFamily } from '../../agent/collectors/iptables.js';
import { parseIptablesSave } from '../../agent/parsers/iptables-save.js';
import { calicoFilterRules, felixFlavour, validateRouting } from '../../lab/topology.js';

const guards = (release: 'current' | 'legacy') => {
  const p = parseIptablesSave(calicoFilterRules(release, 'ipv4', 'ipip'));
  if (!p.ok) throw new Error(p.error.message);
  return summariseFamily('ipv4', p.value).encapGuards;
};

describe('IPIP lab rules', () => {
  it('current Felix: accept-then-drop of protocol 4 on cali40all-hosts-net, and no VXLAN guard', () => {
    expect(guards('current')).toEqual([expect.objectContaining({ encapsulation: 'ipip', form: 'accept-then-drop', set: 'cali40all-hosts-net', chain: 'cali-INPUT' })]);
    expect(calicoFilterRules('current', 'ipv4', 'ipip')).not.toMatch(/VXLAN/);
  });

  it('older Felix: one DROP negating cali40all-hosts-net', () => {
    expect(guards('legacy')).toEqual([expect.objectContaining({ encapsulation: 'ipip', form: 'negated-drop', set: 'cali40all-hosts-net', chain: 'cali-INPUT' })]);
  });

  it('an IPIP lab guards with cali40all-hosts-net written by iptables-legacy, and needs BGP', () => {
    expect(felixFlavour('current', 'ipip')).toMatchObject({ release: 'current', guardSet: 'cali40all-hosts-net', backend: 'legacy', iptablesRestore: 'iptables-legacy-restore' });
    expect(() => validateRouting({ routing: 'static', encapsulation: 'ipip', crossSubnet: false })).toThrow(/needs routing: bgp/);
  });
});
