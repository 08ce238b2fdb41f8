/**
 * Agent configuration: flags win over CALICO_DIAG_* environment variables, which win over defaults.
 * Everything is validated with zod so a bad value stops the agent at startup with a one-line
 * message naming the flag and the env var. Stateless: the token is read here once and re-read by
 * the daemon through `readTokenFile` (so a rotated token file takes effect).
 */
import { z } from 'zod';
import { Listen } from '../common/config.js';
import { parseDuration } from '../common/duration.js';
import { NodeName } from '../contract/report.js';

export const DEFAULT_AGENT_PORT = 9477;
export const DEFAULT_FELIX_HEALTH_URL = 'http://127.0.0.1:9099';
export const DEFAULT_BIRD_SOCKET = '/var/run/calico/bird.ctl';
export const DEFAULT_INTERVAL_SECONDS = 30;
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
/** where the kernel's tracefs is mounted (drop reasons during captures, #18); `off` disables */
export const DEFAULT_TRACEFS = '/sys/kernel/tracing';

/** One option: its config key, CLI flag and env var (the docs table is generated from the same facts). */
export const AGENT_OPTIONS = [
  { key: 'nodeName', flag: '--node', env: 'CALICO_DIAG_NODE_NAME' },
  { key: 'listen', flag: '--listen', env: 'CALICO_DIAG_LISTEN' },
  { key: 'tokenFile', flag: '--token-file', env: 'CALICO_DIAG_TOKEN_FILE' },
  { key: 'interval', flag: '--interval', env: 'CALICO_DIAG_INTERVAL' },
  { key: 'aggregatorUrl', flag: '--aggregator', env: 'CALICO_DIAG_AGGREGATOR_URL' },
  { key: 'advertiseUrl', flag: '--advertise-url', env: 'CALICO_DIAG_ADVERTISE_URL' },
  { key: 'felixHealthUrl', flag: '--felix-health-url', env: 'CALICO_DIAG_FELIX_HEALTH_URL' },
  { key: 'birdSocket', flag: '--bird-socket', env: 'CALICO_DIAG_BIRD_SOCKET' },
  { key: 'capturePayload', flag: '--capture-payload', env: 'CALICO_DIAG_CAPTURE_PAYLOAD' },
  { key: 'tracefs', flag: '--tracefs', env: 'CALICO_DIAG_TRACEFS' },
] as const;
export type AgentOptionKey = (typeof AGENT_OPTIONS)[number]['key'];
export type AgentFlags = Partial<Record<AgentOptionKey, string | undefined>>;

const httpUrl = z
  .string()
  .url('must be a URL')
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');


const AgentConfigSchema = z.object({
  nodeName: NodeName,
  listen: Listen,
  tokenFile: z.string().min(1, 'is required'),
  // 30s, 1m, 2m30s, or a plain number of seconds (common/duration.ts)
  intervalSeconds: z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const d = parseDuration(v, 's');
      if (d.ok) return d.ms / 1000;
      ctx.addIssue({ code: 'custom', message: d.message });
      return z.NEVER;
    })
    .refine((n) => n >= 1 && n <= 3600, 'must be between 1 and 3600 seconds'),
  aggregatorUrl: httpUrl.optional(),
  advertiseUrl: httpUrl.optional(),
  felixHealthUrl: httpUrl,
  birdSocket: z.string().min(1),
  /** keep whole packets in captures; default headers only (#16) */
  capturePayload: z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true'),
  /** tracefs mount for kernel drop reasons during captures; null: off (#18) */
  tracefs: z
    .string()
    .refine((v) => v === 'off' || /^\/[^\0]*$/.test(v), 'must be an absolute path or off')
    .transform((v) => (v === 'off' ? null : v)),
  commandTimeoutMs: z.number().int().positive(),
});
export type AgentConfig = z.output<typeof AgentConfigSchema>;

const configPathToOption: Record<string, AgentOptionKey> = { intervalSeconds: 'interval' };

const describeOption = (key: string): string => {
  const opt = AGENT_OPTIONS.find((o) => o.key === (configPathToOption[key] ?? key));
  return opt ? `${opt.flag} / ${opt.env}` : key;
};

export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; message: string };

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s.trim() === '' ? undefined : s.trim());

/** Flags > env > defaults, validated. Pure: env is passed in. */
export const resolveAgentConfig = (flags: AgentFlags, env: Readonly<Record<string, string | undefined>>): ConfigResult => {
  const pick = (key: AgentOptionKey): string | undefined => {
    const opt = AGENT_OPTIONS.find((o) => o.key === key)!;
    return nonEmpty(flags[key]) ?? nonEmpty(env[opt.env]);
  };
  const input = {
    nodeName: pick('nodeName'),
    listen: pick('listen') ?? `0.0.0.0:${DEFAULT_AGENT_PORT}`,
    tokenFile: pick('tokenFile'),
    intervalSeconds: pick('interval') ?? DEFAULT_INTERVAL_SECONDS,
    aggregatorUrl: pick('aggregatorUrl'),
    advertiseUrl: pick('advertiseUrl'),
    felixHealthUrl: pick('felixHealthUrl') ?? DEFAULT_FELIX_HEALTH_URL,
    birdSocket: pick('birdSocket') ?? DEFAULT_BIRD_SOCKET,
    capturePayload: pick('capturePayload') ?? 'false',
    tracefs: pick('tracefs') ?? DEFAULT_TRACEFS,
    commandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
  };
  const r = AgentConfigSchema.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  const issue = r.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const value = (input as Record<string, unknown>)[key];
  const message =
    value === undefined
      ? `${describeOption(key)} is required`
      : `invalid ${describeOption(key)} ${JSON.stringify(String(value))}: ${issue.message}`;
  return { ok: false, message };
};

