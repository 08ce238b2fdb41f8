/**
 * The kubectl plugin (issue #13): a fake API server on 127.0.0.1 that authenticates the kubeconfig's
 * bearer token, serves the token Secret (or refuses it, as RBAC would) and proxies
 * /api/v1/namespaces/calico-diag/services/http:calico-diag-aggregator:9478/proxy/... to a real
 * aggregator, dropping the Authorization header as kube-apiserver does. The plugin runs in-process
 * with --kubeconfig, and once as a process with KUBECONFIG.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { meshSnapshot, toReport } from '../../bench/aggregator-mesh.js';
import { packageVersion as agentVersion } from '../../common/config.js';
import { TOKEN_HEADER as AGGREGATOR_TOKEN_HEADER } from '../../aggregator/http/app.js';
import { startAggregator, type AggregatorHandle } from '../../aggregator/main.js';
import { memoryIo } from '../../cli/io.js';
import { runKubectlCli, TOKEN_HEADER } from '../../cli/kubectl.js';

const ROOT = join(import.meta.dirname, '../..');
const AGG_TOKEN = 'aggregator-token-abc';
const USER_TOKEN = 'user-token-xyz';
const PROXY = '/api/v1/namespaces/calico-diag/services/http:calico-diag-aggregator:9478/proxy';
const SECRET = '/api/v1/namespaces/calico-diag/secrets/calico-diag-token';

const dir = mkdtempSync(join(tmpdir(), 'cdcli-kubectl-'));
const kubeconfig = join(dir, 'kubeconfig');
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${AGG_TOKEN}\n`);

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body?: string;
}
let agg: AggregatorHandle;
let api: Server;
let seen: Seen[] = [];
let forwarded: Seen[] = [];
let secretAllowed = true;

beforeAll(async () => {
  agg = await startAggregator({
    config: { listen: { host: '127.0.0.1', port: 0 }, tokenFile, staleIntervals: 3, bodyLimit: 1 << 22, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' },
    token: AGG_TOKEN,
    logger: pino({ level: 'silent' }),
    clock: { now: () => Date.now(), monotonic: () => 0 },
    processMetrics: false,
    correlate: () => ({
      map: { nodes: [] },
      findings: [{ rule: 'route-missing', severity: 'critical', node: 'node-00001', peer: 'node-00000', summary: 'no route to block 10.0.0.0/26 of node-00000', evidence: { seen: 'none', expected: 'a route', details: {} }, remedy: 'Check Felix logs on node-00001' }],
    }),
  });
  const aggBase = `http://${agg.address.replace(/^https?:\/\//, '')}`;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${aggBase}/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${AGG_TOKEN}` },
      body: JSON.stringify(toReport(meshSnapshot(i, 3, 1), { agentId: 'agent-aaaaaaaa', seq: 1 })),
    });
    expect(res.status).toBe(200);
  }
  await agg.engine.trigger();

  api = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      const status = (code: number, message: string) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
      };
      if (req.headers.authorization !== `Bearer ${USER_TOKEN}`) return status(401, 'Unauthorized');
      if (req.url === SECRET) {
        if (!secretAllowed) return status(403, 'secrets "calico-diag-token" is forbidden: User "viewer" cannot get resource "secrets"');
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ kind: 'Secret', apiVersion: 'v1', data: { token: Buffer.from(AGG_TOKEN).toString('base64') } }));
      }
      if (!req.url!.startsWith(`${PROXY}/`)) return status(404, 'the server could not find the requested resource');
      // kube-apiserver's authentication filter drops Authorization before the proxy forwards
      const { authorization: _drop, host: _host, ...headers } = req.headers;
      const target = `${aggBase}${req.url!.slice(PROXY.length)}`;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      forwarded.push({ method: req.method!, url: target, headers, ...(body ? { body: body.toString() } : {}) });
      const up = await fetch(target, { method: req.method!, headers: headers as Record<string, string>, ...(body ? { body } : {}) });
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await up.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const { port } = api.address() as AddressInfo;
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster:
      server: http://127.0.0.1:${port}
      insecure-skip-tls-verify: true
users:
  - name: viewer
    user:
      token: ${USER_TOKEN}
contexts:
  - name: fake
    context:
      cluster: fake
      user: viewer
current-context: fake
`,
  );
});

afterAll(async () => {
  await new Promise((r) => api?.close(r));
  await agg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  forwarded = [];
  secretAllowed = true;
});

const plugin = async (args: string[], env: Record<string, string> = {}) => {
  const io = memoryIo();
  const code = await runKubectlCli(['--kubeconfig', kubeconfig, ...args], io, env);
  return { code, out: io.out(), err: io.err() };
};

describe('kubectl calico-diag (through the API server service proxy)', () => {
  it('reads the token Secret with the user credentials, then asks the aggregator through the proxy with X-Calico-Diag-Token', async () => {
    const r = await plugin(['findings', '--severity', 'critical']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([`GET ${SECRET}`, `GET ${PROXY}/v1/findings?severity=critical`]);
    expect(seen.every((s) => s.headers.authorization === `Bearer ${USER_TOKEN}`)).toBe(true);
    expect(seen[1]!.headers[TOKEN_HEADER]).toBe(AGG_TOKEN);
    // what reached the aggregator: no Authorization, the token in the other header
    expect(forwarded[0]!.headers.authorization).toBeUndefined();
    expect(forwarded[0]!.headers[TOKEN_HEADER]).toBe(AGG_TOKEN);
    expect(r.out).toMatch(/^CRITICAL\s+route-missing\s+node-00001\s+node-00000\s+no route to block/m);
  });

  it('the plugin and the aggregator agree on the token header', () => {
    expect(TOKEN_HEADER).toBe(AGGREGATOR_TOKEN_HEADER);
  });

  it('when RBAC refuses the Secret: --token-file is used instead, without asking for the Secret', async () => {
    secretAllowed = false;
    const r = await plugin(['nodes', '--token-file', tokenFile, '-o', 'json']);
    expect(r.code).toBe(0);
    expect(seen.map((s) => s.url)).toEqual([`${PROXY}/v1/nodes`]);
    expect((JSON.parse(r.out) as { nodes: { name: string }[] }).nodes.map((n) => n.name)).toEqual(['node-00000', 'node-00001', 'node-00002']);
  });

  it('when RBAC refuses the Secret and there is no --token-file: one line saying what to do', async () => {
    secretAllowed = false;
    const r = await plugin(['findings']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^calico-diag: the aggregator through the API server at http:\/\/127\.0\.0\.1:\d+ refused the request \(401\): cannot read the Secret calico-diag\/calico-diag-token \(403\): pass --token-file, or get read access to the Secret calico-diag\/calico-diag-token \(Role calico-diag-viewer\)\n$/,
    );
  });

  it("version shows the aggregator's and the agents' versions through the proxy", async () => {
    const r = await plugin(['version', '-o', 'yaml']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`client: ${agentVersion()}\naggregator:\n  version: ${agentVersion()}\n  agents:\n    - version: 0.1.0\n      nodes: 3\n`);
    expect(seen.at(-1)!.url).toBe(`${PROXY}/v1/version`);
  });

  it('diagnose POSTs its JSON body through the proxy; the aggregator refusing (no agent to capture on) is one line', async () => {
    const r = await plugin(['diagnose', '--from', 'node-00000', '--to', 'node-00001', '--duration', '5s']);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toMatchObject({ method: 'POST', body: JSON.stringify({ from: 'node-00000', to: 'node-00001', durationSeconds: 5 }) });
    expect(forwarded[0]!.headers['content-type']).toBe('application/json');
    expect(forwarded[0]!.headers[TOKEN_HEADER]).toBe(AGG_TOKEN);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/calico-diag: the aggregator through the API server at http:\/\/127\.0\.0\.1:\d+ answered 404: to: no reporting node named node-00001\n$/);
  });

  it('-n picks the namespace of the Service and the Secret; API server errors are one line', async () => {
    const r = await plugin(['nodes', '-n', 'other-ns']);
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/namespaces/other-ns/secrets/calico-diag-token', '/api/v1/namespaces/other-ns/services/http:calico-diag-aggregator:9478/proxy/v1/nodes']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^calico-diag: the aggregator through the API server at http:\/\/127\.0\.0\.1:\d+ answered 404: the server could not find the requested resource\n$/);
  });

  it('an unknown --context or kubeconfig file is one clear line', async () => {
    const ctx = await plugin(['nodes', '--context', 'nope']);
    expect(ctx).toMatchObject({ code: 1, err: 'calico-diag: no context "nope" in the kubeconfig\n' });
    const io = memoryIo();
    expect(await runKubectlCli(['nodes', '--kubeconfig', join(dir, 'missing')], io)).toBe(1);
    expect(io.err()).toMatch(/^calico-diag: cannot load the kubeconfig .*missing: /);
  });

  it('runs as a process with KUBECONFIG from the environment', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/kubectl.ts', 'nodes'], { cwd: ROOT, env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^NAME\s+STATUS\s+CRITICAL/);
    expect(out).toMatch(/^node-00001\s+reporting\s+1\s+0\s+0/m);
  }, 30_000);
});
