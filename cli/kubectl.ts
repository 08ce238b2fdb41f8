/**
 * The kubectl plugin: `kubectl calico-diag findings|nodes|diagnose|version|completion` (kubectl runs
 * the executable `kubectl-calico_diag`, bin/kubectl-calico_diag.js). It reaches the aggregator
 * through the API server's service proxy with the user's kubeconfig — no port-forward:
 *
 *   <server>/api/v1/namespaces/<ns>/services/http:calico-diag-aggregator:9478/proxy/v1/...
 *
 * The API server authenticates the user with the kubeconfig's credentials (its Authorization
 * header, which it drops before proxying); the aggregator's own token travels in
 * X-Calico-Diag-Token. The token comes from --token-file / CALICO_DIAG_TOKEN_FILE when given, else
 * from the Secret calico-diag-token, read through the API when the user's RBAC allows it (the
 * calico-diag-viewer Role in manifests/base/viewer-role.yaml grants both). `--aggregator URL` still
 * talks to an aggregator directly. The Kubernetes client is loaded only here, on the first request.
 */
import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
// the Kubernetes client (~70 MiB, seconds to load on a busy machine) is loaded on the first request,
// so --help and completion start small
import type { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { readTokenFile } from '../common/config.js';
import { directConnect, type AggregatorConnect, type AggregatorFlags } from './aggregator-client.js';
import { safeLine } from './format.js';
import { CliError, processIo, startedAs, type CliIo } from './io.js';
import { buildPluginProgram, runProgram } from './program.js';

/** Names from manifests/: the namespace, the aggregator Service and port, the token Secret. */
export const KUBE_DEFAULTS = { namespace: 'calico-diag', service: 'calico-diag-aggregator', port: 9478, secret: 'calico-diag-token' } as const;
/** The header the aggregator also reads the token from (aggregator/http/app.ts TOKEN_HEADER). */
export const TOKEN_HEADER = 'x-calico-diag-token';
/** The largest answer read from the API server (a findings list of a large cluster fits easily). */
const MAX_BODY = 64 * 1024 * 1024;

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/**
 * A fetch that sends requests to the API server with the kubeconfig's TLS settings and
 * credentials (client certificates, bearer tokens, exec plugins, basic auth: KubeConfig.applyToHTTPSOptions).
 * node:http(s) rather than the global fetch, which takes no https.Agent.
 */
export const kubeFetch =
  (kc: KubeConfig): typeof fetch =>
  async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const opts: HttpsRequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => void (headers[k] = v));
    // the kubeconfig's credentials (Authorization) are the API server's; they win
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    const body = typeof init.body === 'string' ? init.body : undefined;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Response>((resolvePromise, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method: init.method ?? 'GET', headers, agent: opts.agent as HttpAgent | undefined, ...(opts.auth ? { auth: opts.auth } : {}), ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            const status = res.statusCode ?? 502;
            const noBody = status === 204 || status === 304 || status < 200;
            resolvePromise(new Response(noBody ? null : Buffer.concat(chunks), { status: status < 200 ? 502 : status }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  };

const loadKubeConfig = async (flags: KubeFlags): Promise<KubeConfig> => {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CliError(`cannot load the kubeconfig${flags.kubeconfig ? ` ${flags.kubeconfig}` : ''}: ${safeLine((err as Error).message)}`);
  }
  if (flags.context !== undefined) {
    if (!kc.getContextObject(flags.context)) throw new CliError(`no context ${JSON.stringify(flags.context)} in the kubeconfig`);
    kc.setCurrentContext(flags.context);
  }
  return kc;
};

interface KubeSession {
  kc: KubeConfig;
  server: string;
  namespace: string;
  token: string | undefined;
  tokenFile: string | undefined;
  authHint: string;
}

/** Reads the token Secret through the API; an answer other than 200 (403: RBAC) is a hint, not an error. */
const readTokenSecret = async (doFetch: typeof fetch, server: string, namespace: string): Promise<{ token?: string; hint: string }> => {
  const where = `${namespace}/${KUBE_DEFAULTS.secret}`;
  const fallback = `pass --token-file, or get read access to the Secret ${where} (Role calico-diag-viewer)`;
  let res: Response;
  try {
    res = await doFetch(`${server}/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${KUBE_DEFAULTS.secret}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
  } catch {
    return { hint: fallback }; // the API server is unreachable: the proxied request will say so
  }
  if (res.status !== 200) return { hint: `cannot read the Secret ${where} (${res.status}): ${fallback}` };
  try {
    const secret = (await res.json()) as { data?: { token?: string } };
    const token = Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8').trim();
    if (token !== '') return { token, hint: `the token in the Secret ${where} is not the aggregator's` };
  } catch {
    // not JSON: treated as no token
  }
  return { hint: `the Secret ${where} holds no "token" key: ${fallback}` };
};

/**
 * Connects through the API server's service proxy. `flags()` gives the plugin's own flags, read
 * when the first request is made (after commander has parsed them); the kubeconfig and the token
 * are read once per run.
 */
export const kubeConnect = (flags: () => KubeFlags, env: Readonly<Record<string, string | undefined>> = process.env): AggregatorConnect => {
  let session: Promise<KubeSession> | undefined;
  const open = async (opts: AggregatorFlags): Promise<KubeSession> => {
    const f = flags();
    const kc = await loadKubeConfig(f);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new CliError('the kubeconfig has no current cluster: pick a context with --context or `kubectl config use-context`');
    const server = cluster.server.replace(/\/+$/, '');
    const namespace = f.namespace ?? KUBE_DEFAULTS.namespace;
    const tokenFile = opts.tokenFile ?? env.CALICO_DIAG_TOKEN_FILE;
    if (tokenFile) {
      const t = await readTokenFile(tokenFile);
      if (!t.ok) throw new CliError(t.message);
      return { kc, server, namespace, token: t.token, tokenFile, authHint: 'wrong token' };
    }
    const s = await readTokenSecret(kubeFetch(kc), server, namespace);
    return { kc, server, namespace, token: s.token, tokenFile: undefined, authHint: s.hint };
  };
  return async (opts, path) => {
    if (opts.aggregator !== undefined) return directConnect(env)(opts, path);
    const s = await (session ??= open(opts));
    const proxy = `${s.server}/api/v1/namespaces/${encodeURIComponent(s.namespace)}/services/http:${KUBE_DEFAULTS.service}:${KUBE_DEFAULTS.port}/proxy`;
    let url: URL;
    try {
      url = new URL(`${proxy}${path}`);
    } catch {
      throw new CliError(`invalid API server URL ${JSON.stringify(s.server)} in the kubeconfig`);
    }
    return {
      url,
      headers: { accept: 'application/json', ...(s.token !== undefined ? { [TOKEN_HEADER]: s.token } : {}) },
      tokenFile: s.tokenFile,
      fetch: kubeFetch(s.kc),
      where: `the aggregator through the API server at ${new URL(s.server).origin}`,
      authHint: s.authHint,
    };
  };
};

/** The plugin's own flags, on the program (before or after the subcommand). */
const addKubeFlags = (program: Command): void => {
  program
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('-n, --namespace <namespace>', `namespace of calico-diag (default ${KUBE_DEFAULTS.namespace})`);
};

export const buildKubectlProgram = (io: CliIo, env: Readonly<Record<string, string | undefined>> = process.env): Command => {
  let program: Command | undefined = undefined;
  const connect = kubeConnect(() => (program?.opts() ?? {}) as KubeFlags, env);
  program = buildPluginProgram(io, connect, addKubeFlags);
  return program;
};

export const runKubectlCli = async (argv: readonly string[], io: CliIo, env?: Readonly<Record<string, string | undefined>>): Promise<number> =>
  runProgram(buildKubectlProgram(io, env), argv, io);


if (startedAs(import.meta.url, 'bin/kubectl-calico_diag.js')) {
  const code = await runKubectlCli(process.argv.slice(2), processIo());
  process.exitCode = code;
}
