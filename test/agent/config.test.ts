import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion as agentVersion, readTokenFile } from '../../common/config.js';
import { resolveAgentConfig } from '../../agent/config.js';

// issue #2
describe('agent config', () => {
  const base = { CALICO_DIAG_NODE_NAME: 'node-a', CALICO_DIAG_TOKEN_FILE: '/run/token' };

  it('applies defaults', () => {
    const r = resolveAgentConfig({}, base);
    expect(r).toEqual({
      ok: true,
      config: {
        nodeName: 'node-a',
        listen: { host: '0.0.0.0', port: 9477 },
        tokenFile: '/run/token',
        intervalSeconds: 30,
        felixHealthUrl: 'http://127.0.0.1:9099',
        birdSocket: '/var/run/calico/bird.ctl',
        capturePayload: false,
        tracefs: '/sys/kernel/tracing',
        commandTimeoutMs: 10_000,
      },
    });
  });

  // #16: captures keep headers only unless the agent was started to keep payload
  it('keeps capture payload only when asked', () => {
    expect(resolveAgentConfig({ capturePayload: 'true' }, base)).toMatchObject({ ok: true, config: { capturePayload: true } });
    expect(resolveAgentConfig({}, { ...base, CALICO_DIAG_CAPTURE_PAYLOAD: 'true' })).toMatchObject({ ok: true, config: { capturePayload: true } });
    expect(resolveAgentConfig({ capturePayload: 'yes' }, base)).toMatchObject({ ok: false, message: expect.stringMatching(/--capture-payload .*true or false/) });
  });

  it('reads every CALICO_DIAG_* variable, and flags win over env', () => {
    const env = {
      ...base,
      CALICO_DIAG_LISTEN: '127.0.0.1:1234',
      CALICO_DIAG_INTERVAL: '15',
      CALICO_DIAG_AGGREGATOR_URL: 'http://agg:9478',
      CALICO_DIAG_ADVERTISE_URL: 'http://10.0.0.1:9477',
      CALICO_DIAG_FELIX_HEALTH_URL: 'http://127.0.0.1:9199',
      CALICO_DIAG_BIRD_SOCKET: '/tmp/bird.ctl',
    };
    const fromEnv = resolveAgentConfig({}, env);
    expect(fromEnv.ok && fromEnv.config).toMatchObject({
      listen: { host: '127.0.0.1', port: 1234 },
      intervalSeconds: 15,
      aggregatorUrl: 'http://agg:9478',
      advertiseUrl: 'http://10.0.0.1:9477',
      felixHealthUrl: 'http://127.0.0.1:9199',
      birdSocket: '/tmp/bird.ctl',
    });
    const flags = resolveAgentConfig({ nodeName: 'node-b', listen: '[::1]:9000', interval: '5' }, env);
    expect(flags.ok && flags.config).toMatchObject({ nodeName: 'node-b', listen: { host: '::1', port: 9000 }, intervalSeconds: 5 });
  });

  it('reads the interval as a duration (30s, 1m, 2m30s) from flags and env; a plain number is seconds', () => {
    const flag = resolveAgentConfig({ nodeName: 'n', tokenFile: '/t', interval: '2m30s' }, {});
    expect(flag.ok && flag.config.intervalSeconds).toBe(150);
    const env = resolveAgentConfig({ nodeName: 'n', tokenFile: '/t' }, { CALICO_DIAG_INTERVAL: '1m' });
    expect(env.ok && env.config.intervalSeconds).toBe(60);
    const plain = resolveAgentConfig({ nodeName: 'n', tokenFile: '/t', interval: '45' }, {});
    expect(plain.ok && plain.config.intervalSeconds).toBe(45);
  });

  it.each([
    [{ interval: '1m30' }, /--interval \/ CALICO_DIAG_INTERVAL "1m30": not a duration/],
    [{ interval: '2h' }, /between 1 and 3600/],
    [{ interval: 'abc' }, /--interval \/ CALICO_DIAG_INTERVAL "abc"/],
    [{ interval: '0' }, /between 1 and 3600/],
    [{ listen: '9477' }, /--listen \/ CALICO_DIAG_LISTEN "9477": must be HOST:PORT/],
    [{ listen: 'h:70000' }, /port must be 1..65535/],
    [{ nodeName: 'Node_A' }, /--node \/ CALICO_DIAG_NODE_NAME "Node_A": node name must be an RFC 1123/],
    [{ aggregatorUrl: 'agg:9478' }, /--aggregator \/ CALICO_DIAG_AGGREGATOR_URL/],
    [{ aggregatorUrl: 'ftp://agg' }, /http:\/\/ or https:\/\//],
  ])('refuses %o with a clear message', (flags, message) => {
    const r = resolveAgentConfig(flags, base);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('names the missing required options', () => {
    const r = resolveAgentConfig({}, {});
    expect(r).toEqual({ ok: false, message: '--node / CALICO_DIAG_NODE_NAME is required' });
    const t = resolveAgentConfig({ nodeName: 'n' }, {});
    expect(t).toEqual({ ok: false, message: '--token-file / CALICO_DIAG_TOKEN_FILE is required' });
  });

  it('reads the version from package.json', () => {
    expect(agentVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('token file', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cdC-token-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trims the token', async () => {
    await writeFile(join(dir, 't'), '  s3cret\n');
    expect(await readTokenFile(join(dir, 't'))).toEqual({ ok: true, token: 's3cret' });
  });
  it('refuses missing, empty and multi-word files', async () => {
    expect(await readTokenFile(join(dir, 'nope'))).toEqual({ ok: false, message: `token file ${join(dir, 'nope')} does not exist` });
    await writeFile(join(dir, 'e'), ' \n');
    expect(await readTokenFile(join(dir, 'e'))).toEqual({ ok: false, message: `token file ${join(dir, 'e')} is empty` });
    await writeFile(join(dir, 'w'), 'a b');
    expect((await readTokenFile(join(dir, 'w'))).ok).toBe(false);
  });
  it('reports an unreadable file', async () => {
    await writeFile(join(dir, 'd'), 'x');
    await chmod(join(dir, 'd'), 0o000);
    const r = await readTokenFile(join(dir, 'd'));
    // root can read anything; as non-root the file is refused
    if (process.getuid?.() === 0) expect(r.ok).toBe(true);
    else expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/permission denied/) });
  });
});
