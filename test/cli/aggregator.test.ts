import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { meshSnapshot, toReport } from '../../bench/aggregator-mesh.js';
import type { AggregatorConfig } from '../../aggregator/config.js';
import { registerAggregatorCommand } from '../../cli/aggregator.js';
import { CliError, memoryIo } from '../../cli/io.js';

const dir = mkdtempSync(join(tmpdir(), 'calico-diag-aggregator-cli-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'proc-token\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const configure = async (args: string[], env: Record<string, string> = {}) => {
  const seen: { config?: AggregatorConfig; token?: string } = {};
  const program = new Command().exitOverride();
  registerAggregatorCommand(program, memoryIo(), {
    env,
    run: async (config, token) => {
      seen.config = config;
      seen.token = token;
    },
  });
  let error: unknown;
  try {
    await program.parseAsync(['aggregator', ...args], { from: 'user' });
  } catch (err) {
    error = err;
  }
  return { ...seen, error };
};

describe('cli aggregator', () => {
  it('resolves flags and env vars and reads the token', async () => {
    const r = await configure(['--listen', '127.0.0.1:19478', '--stale-intervals', '4', '--kube', 'off'], { CALICO_DIAG_TOKEN_FILE: tokenFile, CALICO_DIAG_BODY_LIMIT: '1MiB' });
    expect(r.error).toBeUndefined();
    expect(r.token).toBe('proc-token');
    expect(r.config).toEqual({ listen: { host: '127.0.0.1', port: 19478 }, tokenFile, staleIntervals: 4, bodyLimit: 1024 * 1024, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' });
  });

  it('takes the finding series cap from --max-finding-series or CALICO_DIAG_MAX_FINDING_SERIES', async () => {
    expect((await configure(['--token-file', tokenFile, '--max-finding-series', '0'])).config?.maxFindingSeries).toBe(0);
    expect((await configure(['--token-file', tokenFile, '--auth', 'kubernetes', '--agent-service-account', 'ops:cd-agent'])).config).toMatchObject({ auth: 'kubernetes', agentServiceAccount: 'ops:cd-agent' });
    expect((await configure(['--token-file', tokenFile], { CALICO_DIAG_MAX_FINDING_SERIES: '250' })).config?.maxFindingSeries).toBe(250);
    expect((await configure(['--token-file', tokenFile, '--max-finding-series', 'many'])).error).toBeInstanceOf(CliError);
  });

  it('stops before listening on bad config or a missing token file', async () => {
    const bad = await configure(['--token-file', tokenFile, '--kube', 'maybe']);
    expect(bad.error).toBeInstanceOf(CliError);
    expect(bad.config).toBeUndefined();
    const missing = await configure(['--token-file', join(dir, 'nope')]);
    expect((missing.error as Error).message).toMatch(/token file .* does not exist/);
  });

  it('runs as a process: takes reports over HTTP and closes cleanly on SIGTERM', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'aggregator', '--listen', `127.0.0.1:${port}`, '--token-file', tokenFile, '--kube', 'off'], {
      cwd: join(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const t = setInterval(() => {
          const line = out.split('\n').find((l) => l.includes('"aggregator started"'));
          if (line) {
            clearInterval(t);
            resolve((JSON.parse(line) as { listen: string }).listen);
          }
          if (child.exitCode !== null) {
            clearInterval(t);
            reject(new Error(`exited: ${err}`));
          }
        }, 50);
      });
      const res = await fetch(`${address}/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer proc-token' },
        body: JSON.stringify(toReport(meshSnapshot(0, 2, 1), { agentId: 'agent-aaaaaaaa', seq: 1 })),
      });
      expect(res.status).toBe(200);
      const nodes = (await (await fetch(`${address}/v1/nodes`, { headers: { authorization: 'Bearer proc-token' } })).json()) as { nodes: { name: string }[] };
      expect(nodes.nodes.map((n) => n.name)).toEqual(['node-00000']);
      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('"msg":"stopped"');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});
