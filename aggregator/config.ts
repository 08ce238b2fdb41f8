/**
 * Aggregator configuration: flags win over CALICO_DIAG_* environment variables, which win over
 * defaults; validated with zod so a bad value stops startup with one line naming the flag and the
 * env var. Pure (env passed in). HOST:PORT parsing and the token file are shared with the agent.
 */
import { z } from 'zod';
import { Listen } from '../common/config.js';

export const DEFAULT_AGGREGATOR_PORT = 9478;
export const DEFAULT_STALE_INTERVALS = 3;
export const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
/** series cap of calico_diag_finding_active (aggregator/metrics.ts) */
export const DEFAULT_MAX_FINDING_SERIES = 1000;

export const AGGREGATOR_OPTIONS = [
  { key: 'listen', flag: '--listen', env: 'CALICO_DIAG_LISTEN' },
  { key: 'tokenFile', flag: '--token-file', env: 'CALICO_DIAG_TOKEN_FILE' },
  { key: 'staleIntervals', flag: '--stale-intervals', env: 'CALICO_DIAG_STALE_INTERVALS' },
  { key: 'bodyLimit', flag: '--body-limit', env: 'CALICO_DIAG_BODY_LIMIT' },
  { key: 'kube', flag: '--kube', env: 'CALICO_DIAG_KUBE' },
  { key: 'maxFindingSeries', flag: '--max-finding-series', env: 'CALICO_DIAG_MAX_FINDING_SERIES' },
  { key: 'maxNodes', flag: '--max-nodes', env: 'CALICO_DIAG_MAX_NODES' },
  { key: 'auth', flag: '--auth', env: 'CALICO_DIAG_AUTH' },
  { key: 'agentServiceAccount', flag: '--agent-service-account', env: 'CALICO_DIAG_AGENT_SERVICE_ACCOUNT' },
  { key: 'agentAudience', flag: '--agent-audience', env: 'CALICO_DIAG_AGENT_AUDIENCE' },
  { key: 'agentCallTimeoutMs', flag: '--agent-call-timeout-ms', env: 'CALICO_DIAG_AGENT_CALL_TIMEOUT_MS' },
] as const;
export type AggregatorOptionKey = (typeof AGGREGATOR_OPTIONS)[number]['key'];
export type AggregatorFlags = Partial<Record<AggregatorOptionKey, string | undefined>>;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1000, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** `33554432`, `32MiB`, `500kb` → bytes */
export const ByteSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*([kmg]i?b?|b)?$/i, 'must be a size in bytes, e.g. 33554432 or 32MiB')
  .transform((s) => {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s)!;
    return Math.floor(Number(m[1]) * (UNITS[m[2]!.toLowerCase()] ?? 1));
  })
  .refine((n) => n >= 1024 && n <= 1024 ** 3, 'must be between 1KiB and 1GiB');

const Schema = z.object({
  listen: Listen,
  tokenFile: z.string().min(1),
  staleIntervals: z.coerce
    .number({ error: 'must be a whole number of report intervals' })
    .int('must be a whole number of report intervals')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000'),
  bodyLimit: ByteSize,
  kube: z.enum(['auto', 'off'], { error: 'must be auto or off' }),
  /** 0 exports no per-finding series: only the totals and the overflow count */
  maxFindingSeries: z.coerce
    .number({ error: 'must be a whole number of series' })
    .int('must be a whole number of series')
    .min(0, 'must be at least 0')
    .max(100_000, 'must be at most 100000'),
  /** reports from more nodes are refused while the datastore cannot say which nodes exist */
  maxNodes: z.coerce.number({ error: 'must be a whole number of nodes' }).int('must be a whole number of nodes').min(1, 'must be at least 1').max(100_000, 'must be at most 100000'),
  /** shared: one token for agents and readers (weaker); kubernetes: agents prove their node (TokenReview) */
  auth: z.enum(['shared', 'kubernetes'], { error: 'must be shared or kubernetes' }),
  agentServiceAccount: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be NAMESPACE:NAME'),
  agentAudience: z.string().min(1).max(253),
  /** diagnose: the least time a call to an agent may take (unset: each call's own bound) */
  agentCallTimeoutMs: z.coerce.number({ error: 'must be a whole number of milliseconds' }).int('must be a whole number of milliseconds').min(1, 'must be at least 1').max(120_000, 'must be at most 120000').optional(),
});
export type AggregatorConfig = z.output<typeof Schema>;

export type AggregatorConfigResult = { ok: true; config: AggregatorConfig } | { ok: false; message: string };

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s.trim() === '' ? undefined : s.trim());

export const resolveAggregatorConfig = (flags: AggregatorFlags, env: Readonly<Record<string, string | undefined>>): AggregatorConfigResult => {
  const pick = (key: AggregatorOptionKey): string | undefined => nonEmpty(flags[key]) ?? nonEmpty(env[AGGREGATOR_OPTIONS.find((o) => o.key === key)!.env]);
  const input: Record<AggregatorOptionKey, string | undefined> = {
    listen: pick('listen') ?? `0.0.0.0:${DEFAULT_AGGREGATOR_PORT}`,
    tokenFile: pick('tokenFile'),
    staleIntervals: pick('staleIntervals') ?? String(DEFAULT_STALE_INTERVALS),
    bodyLimit: pick('bodyLimit') ?? String(DEFAULT_BODY_LIMIT_BYTES),
    kube: pick('kube') ?? 'auto',
    maxFindingSeries: pick('maxFindingSeries') ?? String(DEFAULT_MAX_FINDING_SERIES),
    maxNodes: pick('maxNodes') ?? '10000',
    auth: pick('auth') ?? 'shared',
    agentServiceAccount: pick('agentServiceAccount') ?? 'calico-diag:calico-diag-agent',
    agentAudience: pick('agentAudience') ?? 'calico-diag',
    agentCallTimeoutMs: pick('agentCallTimeoutMs'),
  };
  const r = Schema.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  const issue = r.error.issues[0]!;
  const key = String(issue.path[0] ?? '') as AggregatorOptionKey;
  const opt = AGGREGATOR_OPTIONS.find((o) => o.key === key);
  const name = opt ? `${opt.flag} / ${opt.env}` : key;
  const value = input[key];
  return { ok: false, message: value === undefined ? `${name} is required` : `invalid ${name} ${JSON.stringify(value)}: ${issue.message}` };
};
