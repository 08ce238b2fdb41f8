/**
 * What the commands that read the aggregator share: how to reach it (a base URL from flags or env,
 * or, in the kubectl plugin, the API server's service proxy: cli/kubectl.ts), one bounded request,
 * and every failure as a one-line CliError. Stateless.
 *
 * Cold start (#17): a plain http:// aggregator is asked through node:http, which Node has loaded
 * almost entirely at start-up; the global fetch loads undici on first use (~30–40 ms of CPU, more
 * than the rest of `calico-diag findings`). https://, a URL with credentials (fetch refuses it), the
 * kubectl plugin's transport and the fetch tests pass in keep fetch, and so does a redirect (fetch
 * follows it).
 */
import { request as httpRequest, type ClientRequestArgs } from 'node:http';
import { createConnection, type NetConnectOpts } from 'node:net';
import { readTokenFileSync } from '../common/token-file.js';
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
    const t = readTokenFileSync(tokenFile);
    if (!t.ok) throw new CliError(t.message);
    headers.authorization = `Bearer ${t.token}`;
  }
  return { url, headers, tokenFile };
};

/** The direct connector: --aggregator URL, the token as `Authorization: Bearer`. */
export const directConnect =
  (env: Readonly<Record<string, string | undefined>>, doFetch?: typeof fetch): AggregatorConnect =>
  async (opts, path) => ({ ...(await aggregatorTarget(opts, env, path)), ...(doFetch ? { fetch: doFetch } : {}) });

/** One request to the aggregator: what the commands send (fetch takes it as it is). */
export interface AggregatorRequest {
  method?: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  text: string;
}

/**
 * One exchange over node:http (a connection of its own, closed after the answer), or undefined for a
 * redirect, which fetch then follows. Network errors and the signal's abort reject, as fetch does.
 * The connection is made by node:net directly (`createConnection`, no http.Agent: the request says
 * `Connection: close` as with `agent: false`), which spares a fresh process ~0.4 ms of CPU (#17).
 */
// node:http hands it the request's options, the port already a number (the URL's or 80)
const connectTcp = (opts: ClientRequestArgs) => createConnection(opts as NetConnectOpts);

export const httpExchange = (url: URL, req: AggregatorRequest): Promise<Answer | undefined> =>
  new Promise((resolve, reject) => {
    const headers = req.body === undefined ? req.headers : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) };
    const r = httpRequest(url, { method: req.method ?? 'GET', headers, createConnection: connectTcp, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        resolve(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });

const fetchExchange = async (send: typeof fetch, url: URL, req: AggregatorRequest): Promise<Answer> => {
  const res = await send(url, req);
  return { status: res.status, text: await res.text() };
};

/** Sends the request; answers the body text of a 2xx, or throws a one-line CliError. */
export const requestAggregator = async (target: AggregatorTarget, req: AggregatorRequest, doFetch?: typeof fetch): Promise<string> => {
  const send = doFetch ?? target.fetch;
  const where = target.where ?? 'the aggregator';
  let res: Answer;
  try {
    const plainHttp = send === undefined && target.url.protocol === 'http:' && target.url.username === '' && target.url.password === '';
    res = plainHttp ? ((await httpExchange(target.url, req)) ?? (await fetchExchange(fetch, target.url, req))) : await fetchExchange(send ?? fetch, target.url, req);
  } catch (err) {
    const e = err as Error;
    throw new AggregatorError(`cannot reach ${target.where ?? `the aggregator at ${target.url.origin}`}: ${safeLine((e.cause as Error | undefined)?.message ?? e.message)}`);
  }
  const { text } = res;
  if (res.status === 401) throw new AggregatorError(`${where} refused the request (401): ${target.authHint ?? (target.tokenFile ? 'wrong token' : 'pass --token-file')}`, 401);
  if (res.status < 200 || res.status > 299) {
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
