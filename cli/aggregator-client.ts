/**
 * What `findings` and `diagnose` share to talk to the aggregator: the base URL and token from
 * flags or env, one bounded request, and every failure as a one-line CliError. Stateless.
 */
import { readTokenFile } from '../common/config.js';
import { CliError } from './io.js';

export interface AggregatorTarget {
  url: URL;
  headers: Record<string, string>;
  tokenFile: string | undefined;
}

/** Resolves `path` against --aggregator / CALICO_DIAG_AGGREGATOR_URL and reads the token file. */
export const aggregatorTarget = async (
  opts: { aggregator?: string | undefined; tokenFile?: string | undefined },
  env: NodeJS.ProcessEnv,
  path: string,
): Promise<AggregatorTarget> => {
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

/** Sends the request; answers the body text of a 2xx, or throws a one-line CliError. */
export const requestAggregator = async (target: AggregatorTarget, init: RequestInit, doFetch: typeof fetch = fetch): Promise<string> => {
  let res: Response;
  let text: string;
  try {
    res = await doFetch(target.url, init);
    text = await res.text();
  } catch (err) {
    const e = err as Error;
    throw new CliError(`cannot reach the aggregator at ${target.url.origin}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
  }
  if (res.status === 401) throw new CliError(`the aggregator refused the request (401): ${target.tokenFile ? 'wrong token' : 'pass --token-file'}`);
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new CliError(`the aggregator answered ${res.status}: ${message}`);
  }
  return text;
};
