import { z } from 'zod';
import { RULE_ID_PATTERN, SEVERITY_LEVELS } from './finding-basics.js';

export const Severity = z.enum(SEVERITY_LEVELS);
export type Severity = z.infer<typeof Severity>;

/** The one severity order: 0 for the most severe (critical), growing toward info. */
export const severityRank = (s: Severity): number => Severity.options.indexOf(s);
/** Sorts most severe first. */
export const bySeverity = (a: Pick<Finding, 'severity'>, b: Pick<Finding, 'severity'>): number => severityRank(a.severity) - severityRank(b.severity);
/** Whether `s` is `min` or more severe (e.g. `--fail-on warning` fails on warning and critical). */
export const atLeast = (s: Severity, min: Severity): boolean => severityRank(s) <= severityRank(min);
/** The most severe of `severities` (info for none). */
export const mostSevere = (severities: Iterable<Severity>): Severity => {
  let worst: Severity = 'info';
  for (const s of severities) if (severityRank(s) < severityRank(worst)) worst = s;
  return worst;
};

/** A stable kebab-case rule id: users alert and filter on it. */
export const RuleId = z.string().regex(RULE_ID_PATTERN);

export const Evidence = z.object({
  /** what was seen */
  seen: z.string(),
  /** what was expected */
  expected: z.string(),
  /** structured facts behind the finding (device, counters, MACs, …) */
  details: z.record(z.string(), z.unknown()).default({}),
});
export type Evidence = z.infer<typeof Evidence>;

export const Finding = z.object({
  /** stable per (rule, node, peer, subject): the same problem keeps its id across passes */
  id: z.string(),
  rule: RuleId,
  severity: Severity,
  /** the node that holds the wrong state */
  node: z.string(),
  /** the other node the state is about, for cross-node rules */
  peer: z.string().optional(),
  summary: z.string(),
  evidence: Evidence,
  /** the runbook step, in our words */
  remedy: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  /**
   * the id of the root finding this one follows from (same node or pair), set by the aggregator's
   * root-cause pass (aggregator/causes.ts); absent on roots and in reports of older versions
   */
  explainedBy: z.string().optional(),
});
export type Finding = z.infer<typeof Finding>;

/** What a check concluded: ok, findings, or unknown because its input was unavailable. */
export const CheckStatus = z.object({
  rule: RuleId,
  status: z.enum(['ok', 'finding', 'unknown']),
  /** for unknown: which input was missing and why */
  reason: z.string().optional(),
});
export type CheckStatus = z.infer<typeof CheckStatus>;

/** A finding before it has an id and times: what pure checks and correlation rules return. */
export type FindingDraft = Omit<Finding, 'id' | 'firstSeen' | 'lastSeen' | 'explainedBy'> & {
  /** what distinguishes two findings of the same rule on the same node and peer (a device, an IP) */
  subject?: string;
};

export const findingId = (d: Pick<FindingDraft, 'rule' | 'node' | 'peer' | 'subject'>): string =>
  [d.rule, d.node, d.peer ?? '', d.subject ?? ''].join('/');

/** Gives drafts ids and carries firstSeen over from the previous pass (pure; `now` is passed in). */
export const stampFindings = (drafts: readonly FindingDraft[], previous: readonly Finding[], now: string): Finding[] => {
  const before = new Map(previous.map((f) => [f.id, f]));
  return drafts.map((d) => {
    const { subject: _subject, ...rest } = d;
    const id = findingId(d);
    return { ...rest, id, firstSeen: before.get(id)?.firstSeen ?? now, lastSeen: now };
  });
};
