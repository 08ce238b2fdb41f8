/**
 * Which rules dropped the probes (#18, pure): the difference of one node's DROP/REJECT counters
 * read just before the probes and after the capture window. A rule counts when its packets rose by
 * at least `minPackets` (the probes lost). Rules are matched across the two reads by family, table,
 * chain and rule text (a rule inserted in between shifts indexes, not text); a rule absent from the
 * first read counted from zero (new, or an idle policy rule the agent leaves out).
 */
import type { RuleCounters } from '../../contract/counters.js';
import type { RuleHit } from '../../contract/diagnosis.js';
import type { IptablesDropRule } from '../../contract/snapshot.js';

const key = (r: IptablesDropRule): string => [r.family, r.table, r.chain, r.rule].join('\u0000');

const POLICY_CHAIN = /(?:^|-)cali-p([io])-(.*)$/;
const POLICY_COMMENT = /^Policy (\S+)/;

/** The policy a Felix policy chain belongs to, as far as the chain name and comments tell. */
export const policyOf = (chain: string, comments: readonly string[]): RuleHit['policy'] => {
  const m = POLICY_CHAIN.exec(chain);
  if (!m) return undefined;
  const direction = m[1] === 'i' ? 'ingress' : 'egress';
  const fromComment = comments.map((c) => POLICY_COMMENT.exec(c)?.[1]).find((x) => x !== undefined);
  if (fromComment !== undefined) return { name: fromComment, source: 'comment', direction };
  const suffix = m[2] ?? '';
  // Felix: the name itself when it fits the chain name, `_` + a hash of it otherwise
  if (suffix !== '' && !suffix.startsWith('_')) return { name: suffix, source: 'chain-name', direction };
  return { name: null, source: 'unknown', direction };
};

export const ruleHits = (before: RuleCounters, after: RuleCounters, minPackets: number): RuleHit[] => {
  if (before.status !== 'ok' || after.status !== 'ok' || minPackets < 1) return [];
  const prev = new Map(before.rules.map((r) => [key(r), r.packets]));
  const out: RuleHit[] = [];
  for (const r of after.rules) {
    const rose = r.packets - (prev.get(key(r)) ?? 0);
    if (rose < minPackets) continue;
    const policy = policyOf(r.chain, r.comments);
    out.push({
      node: after.node,
      family: r.family,
      table: r.table,
      chain: r.chain,
      index: r.index,
      target: r.target,
      caliId: r.caliId,
      comments: r.comments,
      rule: r.rule,
      packets: rose,
      ...(policy ? { policy } : {}),
    });
  }
  return out.sort((a, b) => b.packets - a.packets || a.chain.localeCompare(b.chain) || a.index - b.index);
};

/** One line naming a rule for summaries and the CLI. */
export const describeRuleHit = (h: RuleHit): string => {
  const id = h.caliId !== null ? ` cali:${h.caliId}` : '';
  const comment = h.comments.length > 0 ? ` "${h.comments.join('; ')}"` : '';
  const policy =
    h.policy === undefined
      ? ''
      : h.policy.name !== null
        ? ` (policy ${h.policy.name}, ${h.policy.direction}; name from the ${h.policy.source === 'comment' ? 'rule comment' : 'chain name'})`
        : ` (an ${h.policy.direction} policy whose name Felix hashed into the chain name; not in the rule comments)`;
  return `${h.target} in ${h.family} ${h.table}/${h.chain} rule ${h.index}${id}${comment}${policy} counted ${h.packets} packet(s) on ${h.node}`;
};
