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
import { felixPolicyChain, type PolicyIndex } from './policy-names.js';

const key = (r: IptablesDropRule): string => [r.family, r.table, r.chain, r.rule].join('\u0000');

const POLICY_COMMENT = /^Policy (\S+)/;
const PROFILE_COMMENT = /^Profile (\S+) (?:ingress|egress)$/;
// Felix 3.32 on: `<Kind> [<namespace>/]<name> ingress|egress` (felix/rules/policy.go)
const KIND_COMMENT = /^(GlobalNetworkPolicy|NetworkPolicy|KubernetesNetworkPolicy) (\S+) (?:ingress|egress)$/;

type HitPolicy = NonNullable<RuleHit['policy']>;

const fromComments = (comments: readonly string[], profile: boolean): Omit<HitPolicy, 'direction'> | undefined => {
  for (const c of comments) {
    if (profile) {
      const m = PROFILE_COMMENT.exec(c);
      if (m?.[1]) return { name: m[1], source: 'comment', kind: 'Profile' };
      continue;
    }
    const k = KIND_COMMENT.exec(c);
    if (k?.[1] && k[2]) {
      const kind = k[1] as HitPolicy['kind'] & string;
      const slash = kind === 'GlobalNetworkPolicy' ? -1 : k[2].indexOf('/');
      return slash < 0 ? { name: k[2], source: 'comment', kind } : { name: k[2].slice(slash + 1), source: 'comment', kind, namespace: k[2].slice(0, slash) };
    }
    const m = POLICY_COMMENT.exec(c);
    if (m?.[1]) return { name: m[1], source: 'comment' };
  }
  return undefined;
};

/**
 * The policy a Felix policy or profile chain belongs to: the datastore's policy when the index
 * (policy-names.ts) maps the chain to exactly one, else what the rule comments or an unhashed chain
 * name tell, else unknown.
 */
export const policyOf = (chain: string, comments: readonly string[], index?: PolicyIndex): RuleHit['policy'] => {
  const c = felixPolicyChain(chain);
  if (!c) return undefined;
  const { direction } = c;
  const known = index?.lookup(chain);
  if (known) {
    const { ref } = known;
    return {
      name: ref.name,
      source: 'datastore',
      direction,
      kind: ref.kind,
      ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
      ...(ref.tier !== undefined ? { tier: ref.tier } : {}),
    };
  }
  const comment = fromComments(comments, c.profile);
  if (comment) return { ...comment, direction };
  const suffix = c.chain.slice(c.profile ? 'cali-pri-'.length : 'cali-pi-'.length);
  // Felix: the name itself when it fits the chain name, `_` + a hash of it otherwise
  if (suffix !== '' && !suffix.startsWith('_')) return { name: suffix, source: 'chain-name', direction, ...(c.profile ? { kind: 'Profile' as const } : {}) };
  return { name: null, source: 'unknown', direction };
};

/** The hits again, their policy named from the datastore's policies where the index knows the chain. */
export const namePolicies = (hits: readonly RuleHit[], index: PolicyIndex): RuleHit[] =>
  hits.map((h) => {
    const policy = policyOf(h.chain, h.comments, index);
    return policy ? { ...h, policy } : h;
  });

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
  const p = h.policy;
  const where = p === undefined ? '' : [p.kind, p.tier !== undefined ? `tier ${p.tier}` : undefined].filter((x) => x !== undefined).join(', ');
  const named = p?.namespace !== undefined ? `${p.namespace}/${p.name}` : p?.name;
  const policy =
    p === undefined
      ? ''
      : p.name !== null
        ? ` (${p.kind === 'Profile' ? 'profile' : 'policy'} ${named}, ${where ? `${where}, ` : ''}${p.direction}; name from the ${p.source === 'comment' ? 'rule comment' : p.source === 'datastore' ? 'datastore' : 'chain name'})`
        : ` (an ${p.direction} policy whose name Felix hashed into the chain name; not in the rule comments nor in the datastore's policies)`;
  return `${h.target} in ${h.family} ${h.table}/${h.chain} rule ${h.index}${id}${comment}${policy} counted ${h.packets} packet(s) on ${h.node}`;
};
