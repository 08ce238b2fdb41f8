/**
 * #18: the rule that dropped the probes, from two counter reads of one node.
 */
import { describe, expect, it } from 'vitest';
import type { RuleCounters } from '../../../contract/counters.js';
import { describeRuleHit, policyOf, ruleHits } from '../../../aggregator/diagnose/rule-hits.js';

const rule = (chain: string, packets: number, opts: { caliId?: string | null; comments?: string[]; text?: string; index?: number } = {}) => ({
  family: 'ipv4' as const,
  table: 'filter',
  chain,
  index: opts.index ?? 1,
  target: 'DROP',
  packets,
  bytes: packets * 84,
  caliId: opts.caliId ?? null,
  comments: opts.comments ?? [],
  matchSets: [],
  rule: opts.text ?? `-A ${chain} -j DROP`,
});
const read = (rules: ReturnType<typeof rule>[], status: 'ok' | 'unavailable' = 'ok'): RuleCounters => ({ node: 'n2', takenAt: 'x', backend: 'nft', status, rules });

// #18
describe('rule hits', () => {
  it('names the rules that rose by at least the lost probes, matched by rule text across shifted indexes', () => {
    const before = read([rule('cali-FORWARD', 100, { caliId: 'abc', comments: ['lab fault'], index: 1 }), rule('cali-INPUT', 5)]);
    const after = read([
      rule('cali-FORWARD', 1, { text: '-A cali-FORWARD -s 10.0.0.1 -j DROP', index: 1 }),
      rule('cali-FORWARD', 103, { caliId: 'abc', comments: ['lab fault'], index: 2 }),
      rule('cali-INPUT', 6),
    ]);
    const hits = ruleHits(before, after, 3);
    expect(hits).toEqual([expect.objectContaining({ node: 'n2', chain: 'cali-FORWARD', index: 2, caliId: 'abc', packets: 3, comments: ['lab fault'] })]);
    expect(hits[0]!.policy).toBeUndefined();
    expect(describeRuleHit(hits[0]!)).toBe('DROP in ipv4 filter/cali-FORWARD rule 2 cali:abc "lab fault" counted 3 packet(s) on n2');
    // a rule absent before (idle policy rule, or inserted) counts from zero
    expect(ruleHits(read([]), read([rule('cali-pi-_x', 4)]), 3).map((h) => h.packets)).toEqual([4]);
  });

  it('nothing when a read failed or no probe was lost', () => {
    const b = read([rule('cali-INPUT', 0)]);
    const a = read([rule('cali-INPUT', 9)]);
    expect(ruleHits(b, read([], 'unavailable'), 3)).toEqual([]);
    expect(ruleHits(b, a, 0)).toEqual([]);
  });

  it('the policy name: from a "Policy …" comment, from the chain name when Felix did not hash it, else unknown', () => {
    expect(policyOf('cali-pi-_hvIhg5e42MGXRa9paIF', ['Policy default/deny-all ingress'])).toEqual({ name: 'default/deny-all', source: 'comment', direction: 'ingress' });
    expect(policyOf('cali-po-default.web', [])).toEqual({ name: 'default.web', source: 'chain-name', direction: 'egress' });
    expect(policyOf('cali-pi-_hvIhg5e42MGXRa9paIF', [])).toEqual({ name: null, source: 'unknown', direction: 'ingress' });
    expect(policyOf('cali-FORWARD', [])).toBeUndefined();
    // Felix's nftables dataplane prefixes the table: filter-cali-pi-…
    expect(policyOf('filter-cali-po-_hvIhg5e42MGXRa9paIF', [])).toEqual({ name: null, source: 'unknown', direction: 'egress' });
    const hit = ruleHits(read([]), read([rule('cali-pi-_labdeny', 3, { caliId: 'labdeny01' })]), 3)[0]!;
    expect(describeRuleHit(hit)).toContain('an ingress policy whose name Felix hashed into the chain name');
  });
});
