import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../agent/config.js';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/main.js';

// issue #2
describe('calico-diag agent', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cdC-agentcli-'));
    await writeFile(join(dir, 'token'), 's3cret\n');
    await writeFile(join(dir, 'empty'), '');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cli = async (argv: string[], env: Record<string, string> = {}) => {
    const io = memoryIo();
    const started: { config: AgentConfig; token: string }[] = [];
    const code = await runCli(argv, io, { agent: { env, run: async (config, token) => void started.push({ config, token }) } });
    return { code, err: io.err(), started };
  };

  it('starts with flags, env filling the rest, and the token from the file', async () => {
    const r = await cli(['agent', '--node-name', 'node-a', '--interval', '10', '--listen', '127.0.0.1:19477'], {
      CALICO_DIAG_TOKEN_FILE: join(dir, 'token'),
      CALICO_DIAG_NODE_NAME: 'ignored',
      CALICO_DIAG_AGGREGATOR_URL: 'http://agg:9478',
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.started).toHaveLength(1);
    expect(r.started[0]!.token).toBe('s3cret');
    expect(r.started[0]!.config).toMatchObject({ nodeName: 'node-a', intervalSeconds: 10, listen: { host: '127.0.0.1', port: 19477 }, aggregatorUrl: 'http://agg:9478' });
  });

  it('takes --node, --aggregator and --interval 1m; the older --node-name / --aggregator-url still work, hidden from help', async () => {
    const r = await cli(['agent', '--node', 'node-a', '--aggregator', 'http://agg:9478', '--interval', '1m', '--token-file', join(dir, 'token')]);
    expect(r.err).toBe('');
    expect(r.started[0]!.config).toMatchObject({ nodeName: 'node-a', aggregatorUrl: 'http://agg:9478', intervalSeconds: 60 });
    const old = await cli(['agent', '--node-name', 'node-b', '--aggregator-url', 'http://agg:9478', '--token-file', join(dir, 'token')]);
    expect(old.started[0]!.config).toMatchObject({ nodeName: 'node-b', aggregatorUrl: 'http://agg:9478' });
    const both = await cli(['agent', '--node', 'a', '--node-name', 'b', '--token-file', join(dir, 'token')]);
    expect(both).toMatchObject({ code: 1, err: 'calico-diag: --node and --node-name cannot be used together\n', started: [] });
    const io = memoryIo();
    expect(await runCli(['agent', '--help'], io)).toBe(0);
    expect(io.out()).toContain('--node <name>');
    expect(io.out()).not.toContain('--node-name');
    expect(io.out()).not.toContain('--aggregator-url');
  });

  it('refuses a missing or empty token file before starting', async () => {
    const missing = await cli(['agent', '--node-name', 'node-a', '--token-file', join(dir, 'nope')]);
    expect(missing).toMatchObject({ code: 1, err: `calico-diag: token file ${join(dir, 'nope')} does not exist\n`, started: [] });
    const empty = await cli(['agent', '--node-name', 'node-a', '--token-file', join(dir, 'empty')]);
    expect(empty).toMatchObject({ code: 1, err: `calico-diag: token file ${join(dir, 'empty')} is empty\n`, started: [] });
  });

  it('names the listen address when it is taken', async () => {
    const io = memoryIo();
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:19477'), { code: 'EADDRINUSE' });
    const code = await runCli(['agent', '--node-name', 'node-a', '--token-file', join(dir, 'token'), '--listen', '127.0.0.1:19477'], io, {
      agent: { env: {}, run: async () => Promise.reject(inUse) },
    });
    expect(code).toBe(1);
    expect(io.err()).toBe('calico-diag: cannot listen on 127.0.0.1:19477: EADDRINUSE\n');
  });

  it('refuses bad values with the flag and env var named', async () => {
    const r = await cli(['agent', '--node-name', 'node-a', '--token-file', join(dir, 'token'), '--interval', 'soon']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^calico-diag: invalid --interval \/ CALICO_DIAG_INTERVAL "soon": not a duration: use e.g. 500ms, 30s, 1m, 2m30s \(a plain number is seconds\)\n$/);
    expect(r.started).toEqual([]);
  });
});
