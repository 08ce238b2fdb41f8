/**
 * Rule counters on demand (#18): the agent's GET /v1/counters reads its DROP/REJECT rules with
 * their packet counters now (the snapshot is periodic), so a diagnosis can read them around its
 * probe window and name the rule whose counter rose with the probes.
 */
import { z } from 'zod';
import { IptablesDropRule } from './snapshot.js';

export const RuleCounters = z.object({
  node: z.string(),
  /** ISO 8601, when the read finished */
  takenAt: z.string(),
  /** the iptables backend read (legacy / nft), or null when unavailable */
  backend: z.string().nullable(),
  status: z.enum(['ok', 'unavailable']),
  /** for unavailable: why */
  reason: z.string().optional(),
  rules: z.array(IptablesDropRule),
});
export type RuleCounters = z.infer<typeof RuleCounters>;
