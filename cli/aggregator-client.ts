/**
 * What the commands that read the aggregator share: how to reach it (a base URL from flags or env,
 * or, in the kubectl plugin, the API server's service proxy: cli/kubectl.ts), one bounded request,
 * and every failure as a one-line CliError. Stateless.
 */
import { readTokenFile } from '../common/config.js';
import { safeLine } from './format.js';
import { CliError } from './io.js';

/** A failed aggregator request; `status` is the HTTP status when there was an answer. */
export class AggregatorError extends CliError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The flags every aggregator-reading command takes. */
export interface AggregatorFlags {
  aggregator?: string | undefined;
  tokenFile?: string | undefined;
}

export interface AggregatorTarget {
  url: URL;
  headers: Record<string, string>;
  tokenFile: string | undefined;
  /** how the request travels (the global fetch, or through the API server) */
  fetch?: typeof fetch;
  /** names the far end in messages (default "the aggregator", and its origin when unreachable) */
  where?: string;
  /** what to do about a 401 */
  authHint?: string;
}

/** Resolves `path` to a request target (what `--aggregator` or the kubectl plugin provides). */
export type AggregatorConnect = (opts: AggregatorFlags, path: string) => Promise<AggregatorTarget>;

/** Resolves `path` against --aggregator / CALICO_DIAG_AGGREGATOR_URL and reads the token file. */
export const aggregatorTarget = async (opts: AggregatorFlags, env: Readonly<Record<string, string | undefined>>, path: string): Promise<AggregatorTarget> => {
  const base = opts.aggregator ?? env.CALICO_DIAG_AGGREGATOR_URL;
  if (!base) throw new CliError('--aggregator / CALICO_DIAG_AGGREGATOR_URL is required');
  let url: URL;
  try {
    url = new URL(path, base);
  } catch {
    throw new CliError(`invalid --aggregator URL ${JSON.stringify(base)}`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new CliError(`invalid --aggregator URL ${JSON.stringify(base)}: must be http:// or https://`);
  const headers: Record<string, string> = { accept: 'application/json' };
  const tokenFile = opts.tokenFile ?? env.CALICO_DIAG_TOKEN_FILE;
  if (tokenFile) {
    const t = await readTokenFile(tokenFile);
    if (!t.ok) throw new CliError(t.message);
    headers.authorization = `Bearer ${t.token}`;
  }
  return { url, headers, tokenFile };
};

/** The direct connector: --aggregator URL, the token as `Authorization: Bearer`. */
export const directConnect =
  (env: Readonly<Record<string, string | undefined>>, doFetch?: typeof fetch): AggregatorConnect =>
  async (opts, path) => ({ ...(await aggregatorTarget(opts, env, path)), ...(doFetch ? { fetch: doFetch } : {}) });

/** Sends the request; answers the body text of a 2xx, or throws a one-line CliError. */
export const requestAggregator = async (target: AggregatorTarget, init: RequestInit, doFetch?: typeof fetch): Promise<string> => {
  const send = doFetch ?? target.fetch ?? fetch;
  const where = target.where ?? 'the aggregator';
  let res: Response;
  let text: string;
  try {
    res = await send(target.url, init);
    text = await res.text();
  } catch (err) {
    const e = err as Error;
    throw new AggregatorError(`cannot reach ${target.where ?? `the aggregator at ${target.url.origin}`}: ${safeLine((e.cause as Error | undefined)?.message ?? e.message)}`);
  }
  if (res.status === 401) throw new AggregatorError(`${where} refused the request (401): ${target.authHint ?? (target.tokenFile ? 'wrong token' : 'pass --token-file')}`, 401);
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new AggregatorError(`${where} answered ${res.status}: ${safeLine(String(message))}`, res.status);
  }
  return text;
};

/** Parses a JSON answer with a zod-like schema, or throws the version-mismatch error. */
export const parseAnswer = <T>(text: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T => {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError('the aggregator answered with something that is not JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new CliError('the aggregator answered with an unexpected shape (version mismatch?)');
  return parsed.data;
};
