/**
 * The one mapping from "ran a command / parsed its output" to `Collected`, shared by the
 * collectors so each stays a few lines: runner errors, non-zero exits and parse errors become
 * `unavailable(reason, detail)` with a reason from the fixed set in contract/result.ts.
 * Stateless.
 */
import { ok, unavailable, type Collected, type Parsed, type Unavailable, type UnavailableReason } from '../../contract/result.js';
import type { RunError } from '../exec/runner.js';
import type { CollectorConfig, FileRead, Host, HttpRead, SocketRead } from './types.js';

export const RUN_REASON: Record<RunError['kind'], UnavailableReason> = {
  'missing-binary': 'missing-binary',
  timeout: 'timeout',
  'output-too-large': 'output-too-large',
  'permission-denied': 'permission-denied',
  'spawn-failed': 'command-failed',
  aborted: 'command-failed',
};

export const firstLine = (s: string): string => s.trim().split('\n')[0]?.trim() ?? '';

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Map a failing command's stderr to a more precise reason (e.g. ipset's "Cannot open session to kernel"). */
  classify?: (stderr: string, exitCode: number) => UnavailableReason | null;
}

/** Runs `argv` with the collector timeout; a non-zero exit is `command-failed` with stderr's first line. */
export const runCommand = async (
  host: Host,
  config: CollectorConfig,
  argv: readonly [string, ...string[]],
  opts: RunOptions = {},
): Promise<{ ok: true; out: CommandOutput } | { ok: false; unavailable: Unavailable }> => {
  const res = await host.run({ argv, timeoutMs: config.timeoutMs });
  const cmd = argv.join(' ');
  if (!res.ok) return { ok: false, unavailable: unavailable(RUN_REASON[res.kind], `${cmd}: ${res.message}`) };
  if (res.exitCode !== 0) {
    const reason = opts.classify?.(res.stderr, res.exitCode) ?? 'command-failed';
    const why = firstLine(res.stderr) || `exit code ${res.exitCode}`;
    return { ok: false, unavailable: unavailable(reason, `${cmd}: exit ${res.exitCode}: ${why}`) };
  }
  return { ok: true, out: { stdout: res.stdout, stderr: res.stderr } };
};

/**
 * A parser result as a collector result: parse errors are `invalid-output` naming the command and
 * line, except `incompatible` (the tool speaks another format, e.g. an old iproute2 printing text
 * for -j), which keeps its own reason.
 */
export const fromParsed = <T>(what: string, p: Parsed<T>): Collected<T> =>
  p.ok
    ? ok(p.value)
    : unavailable(
        p.error.code === 'incompatible' ? 'incompatible' : 'invalid-output',
        `${what}: ${p.error.code}: ${p.error.message}${p.error.line !== undefined ? ` (line ${p.error.line})` : ''}`,
      );

/** iproute2 older than 4.13 has no -j: `Option "-j" is unknown, try "ip -help".` */
export const classifyIproute = (stderr: string): UnavailableReason | null => (/option "-j(son)?" is unknown/i.test(stderr) ? 'incompatible' : null);

/** Runs a command and parses its stdout. */
export const runAndParse = async <T>(
  host: Host,
  config: CollectorConfig,
  argv: readonly [string, ...string[]],
  parse: (stdout: string) => Parsed<T>,
  opts: RunOptions = {},
): Promise<Collected<T>> => {
  const r = await runCommand(host, config, argv, { classify: classifyIproute, ...opts });
  if (!r.ok) return r.unavailable;
  return fromParsed(argv.join(' '), parse(r.out.stdout));
};

export const fileReason = (r: Extract<FileRead, { ok: false }>): UnavailableReason =>
  r.kind === 'not-found' ? 'not-present' : r.kind === 'permission-denied' ? 'permission-denied' : r.kind === 'too-large' ? 'output-too-large' : 'command-failed';

export const httpReason = (r: Extract<HttpRead, { ok: false }>): UnavailableReason =>
  r.kind === 'timeout' ? 'timeout' : r.kind === 'too-large' ? 'output-too-large' : 'unreachable';

export const socketReason = (r: Extract<SocketRead, { ok: false }>): UnavailableReason =>
  ({
    'not-found': 'not-present',
    unreachable: 'unreachable',
    timeout: 'timeout',
    'too-large': 'output-too-large',
    'permission-denied': 'permission-denied',
    error: 'unreachable',
  } as const)[r.kind];
