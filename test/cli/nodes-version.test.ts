/**
 * `calico-diag nodes` and `calico-diag version` against a fake aggregator (fetch replaced): the
 * requests they send, the short and wide tables, json/yaml, and version's notes when the
 * aggregator is older or unreachable.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { packageVersion as agentVersion } from '../../common/config.js';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'cdcli-nv-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'tok-9\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = { encapsulation: 'vxlan', wireguard: false, ebpf: false, bgp: false, evidence: [] };
const NODES = {
  nodes: [
    { name: 'node-a', lastReport: '2026-01-01T00:09:30.000Z', takenAt: '2026-01-01T00:09:29.000Z', stale: false, mode, agentVersion: '0.1.0', seq: 12, findings: { critical: 1, warning: 0, info: 2 } },
    { name: 'node-b', lastReport: '2026-01-01T00:00:00.000Z', takenAt: '2026-01-01T00:00:00.000Z', stale: true, mode: { ...mode, bgp: true }, agentVersion: '0.0.9', seq: 3, findings: { critical: 0, warning: 0, info: 0 } },
  ],
};

type Route = (url: URL, init: RequestInit | undefined) => Response | Promise<Response>;
const run = async (args: string[], route: Route, env: Record<string, string> = {}) => {
  const io = memoryIo();
  const seen: { url: URL; headers: Record<string, string> }[] = [];
  const fetchImpl = (async (url: URL | string | Request, init?: RequestInit) => {
    const u = new URL(String(url));
    seen.push({ url: u, headers: (init?.headers ?? {}) as Record<string, string> });
    return route(u, init);
  }) as typeof fetch;
  const code = await runCli(args, io, { env, fetch: fetchImpl });
  return { code, out: io.out(), err: io.err(), seen };
};
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('calico-diag nodes', () => {
  it('asks GET /v1/nodes with the token and prints a short table: name, status, findings, last report', async () => {
    const r = await run(['nodes', '--aggregator', 'http://agg:9478', '--token-file', tokenFile], () => json(NODES));
    expect(r.code).toBe(0);
    expect(r.seen.map((s) => s.url.href)).toEqual(['http://agg:9478/v1/nodes']);
    expect(r.seen[0]!.headers.authorization).toBe('Bearer tok-9');
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+CRITICAL\s+WARNING\s+INFO\s+LAST REPORT$/);
    expect(r.out).toMatch(/^node-a\s+reporting\s+1\s+0\s+2\s+\d+[smhd]$/m);
    expect(r.out).toMatch(/^node-b\s+stale\s+0\s+0\s+0\s+\d+[smhd]$/m);
    expect(r.out).toContain('2 nodes, 1 stale');
    expect(r.out).not.toContain('0.0.9');
  });

  it('-o wide adds mode, agent version, sequence and snapshot time; -o yaml is the API answer', async () => {
    const wide = await run(['nodes', '-o', 'wide'], () => json(NODES), { CALICO_DIAG_AGGREGATOR_URL: 'http://agg:9478' });
    expect(wide.out).toMatch(/^NAME\s+STATUS\s+CRITICAL\s+WARNING\s+INFO\s+LAST REPORT\s+ENCAP\s+WIREGUARD\s+EBPF\s+BGP\s+AGENT\s+SEQ\s+TAKEN AT$/m);
    expect(wide.out).toMatch(/^node-b\s+stale.*vxlan\s+no\s+no\s+yes\s+0\.0\.9\s+3\s+2026-01-01T00:00:00\.000Z$/m);
    const yaml = await run(['nodes', '-o', 'yaml', '--aggregator', 'http://agg:9478'], () => json(NODES));
    expect(parseYaml(yaml.out)).toEqual(NODES);
  });

  it('an answer of the wrong shape is one clear line', async () => {
    const r = await run(['nodes', '--aggregator', 'http://agg:9478'], () => json({ nodes: [{ name: 1 }] }));
    expect(r).toMatchObject({ code: 1, err: 'calico-diag: the aggregator answered with an unexpected shape (version mismatch?)\n' });
  });
});

describe('calico-diag version', () => {
  it('without an aggregator prints only the CLI version and asks nobody', async () => {
    const r = await run(['version'], () => {
      throw new Error('no request expected');
    });
    expect(r).toMatchObject({ code: 0, out: `client: ${agentVersion()}\n`, seen: [] });
  });

  it("with --aggregator adds the aggregator's version and the agents' versions grouped", async () => {
    const r = await run(['version', '--aggregator', 'http://agg:9478', '--token-file', tokenFile], () =>
      json({ version: '0.2.0', agents: [{ version: '0.1.0', nodes: 3 }, { version: '0.0.9', nodes: 1 }] }),
    );
    expect(r.code).toBe(0);
    expect(r.seen.map((s) => s.url.pathname)).toEqual(['/v1/version']);
    expect(r.out).toBe(`client:     ${agentVersion()}\naggregator: 0.2.0\nagents:     0.1.0 on 3 nodes, 0.0.9 on 1 node\n`);
    const asJson = await run(['version', '--aggregator', 'http://agg:9478', '-o', 'json'], () => json({ version: '0.2.0', agents: [] }));
    expect(JSON.parse(asJson.out)).toEqual({ client: agentVersion(), aggregator: { version: '0.2.0', agents: [] } });
  });

  it('an aggregator without /v1/version: the agent versions come from /v1/nodes, its own version is unknown', async () => {
    const r = await run(['version', '--aggregator', 'http://agg:9478'], (url) =>
      url.pathname === '/v1/nodes' ? json(NODES) : json({ statusCode: 404, code: 'NOT_FOUND', message: 'no route GET /v1/version' }, 404),
    );
    expect(r.code).toBe(0);
    expect(r.seen.map((s) => s.url.pathname)).toEqual(['/v1/version', '/v1/nodes']);
    expect(r.out).toContain('aggregator: unknown (it has no /v1/version)');
    expect(r.out).toContain('agents:     0.0.9 on 1 node, 0.1.0 on 1 node');
  });

  it('an unreachable or refusing aggregator is a note, and the command still exits 0', async () => {
    const down = await run(['version', '--aggregator', 'http://127.0.0.1:1'], () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    });
    expect(down.code).toBe(0);
    expect(down.out).toBe(`client:     ${agentVersion()}\naggregator: not reachable: cannot reach the aggregator at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n`);
    const refused = await run(['version', '--aggregator', 'http://agg:9478', '-o', 'yaml'], () => json({ message: 'a valid bearer token is required' }, 401));
    expect(refused.code).toBe(0);
    expect(parseYaml(refused.out)).toEqual({ client: agentVersion(), aggregator: { error: 'the aggregator refused the request (401): pass --token-file' } });
  });
});
