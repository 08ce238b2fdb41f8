/**
 * The real daemon as a process: `node --import tsx cli/main.ts agent` reading this host (read-only),
 * listening on 127.0.0.1. It must become healthy, guard /v1 with the token, and exit 0 on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });

// issue #2
describe('calico-diag agent process', () => {
  let dir = '';
  let child: ChildProcess | null = null;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cdC-proc-'));
    await writeFile(join(dir, 'token'), 'proc-token\n');
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('becomes healthy, requires the token on /v1, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawn('node', ['--import', 'tsx', 'cli/main.ts', 'agent', '--node-name', 'cdc-proc', '--listen', `127.0.0.1:${port}`, '--interval', '1'], {
      env: { ...process.env, CALICO_DIAG_TOKEN_FILE: join(dir, 'token'), CALICO_DIAG_FELIX_HEALTH_URL: 'http://127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    let health: Response | null = null;
    for (let i = 0; i < 300 && health?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      health = await fetch(`${base}/healthz`).catch(() => null);
    }
    expect(health?.status, logs).toBe(200);
    expect(await health!.json()).toMatchObject({ status: 'ok', node: 'cdc-proc' });
    expect((await fetch(`${base}/v1/snapshot`)).status).toBe(401);
    const snap = await fetch(`${base}/v1/snapshot`, { headers: { authorization: 'Bearer proc-token' } });
    expect(snap.status).toBe(200);
    expect(((await snap.json()) as { snapshot: { node: string } }).snapshot.node).toBe('cdc-proc');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/calico_diag_agent_collector_runs_total\{collector="links",outcome="ok"\} [1-9]/);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as { component?: string; msg: string });
    expect(lines.some((l) => l.component === 'loop' && l.msg === 'snapshot taken')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped' });
  });

  it('refuses to start without a token file: one line, exit 1', async () => {
    const p = spawn('node', ['--import', 'tsx', 'cli/main.ts', 'agent', '--node-name', 'cdc-proc', '--token-file', join(dir, 'missing')], {
      env: { ...process.env, CALICO_DIAG_TOKEN_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(err).toBe(`calico-diag: token file ${join(dir, 'missing')} does not exist\n`);
  });
  // #16: a hung iptables command stalled the agent ~10 minutes (no snapshot, SIGTERM not honoured)
  // and its children outlived it.
  it('with a hung iptables: snapshots within the deadline, exits within 5 s of SIGTERM, leaves no child', async () => {
    const bin = join(dir, 'hung-bin');
    await mkdir(bin, { recursive: true });
    const pids = join(dir, 'hung.pids');
    for (const name of ['iptables-save', 'iptables-legacy-save', 'iptables-nft-save', 'ip6tables-save', 'ip6tables-legacy-save', 'ip6tables-nft-save']) {
      await writeFile(join(bin, name), `#!/bin/sh\necho $$ >> ${pids}\nexec sleep 600\n`);
      await chmod(join(bin, name), 0o755);
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const p = spawn('node', ['--import', 'tsx', 'cli/main.ts', 'agent', '--node-name', 'cdc-hung', '--listen', `127.0.0.1:${port}`, '--interval', '5'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, CALICO_DIAG_TOKEN_FILE: join(dir, 'token'), CALICO_DIAG_FELIX_HEALTH_URL: 'http://127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    p.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    try {
      let health: Response | null = null;
      for (let i = 0; i < 150 && health?.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        health = await fetch(`${base}/healthz`).catch(() => null);
      }
      expect(health?.status, logs).toBe(200);
      const snap = (await (await fetch(`${base}/v1/snapshot`, { headers: { authorization: 'Bearer proc-token' } })).json()) as {
        snapshot: { sections: { iptables: { status: string; reason?: string }; links: { status: string } } };
      };
      expect(snap.snapshot.sections.iptables).toMatchObject({ status: 'unavailable', reason: 'timeout' });
      expect(snap.snapshot.sections.links.status).toBe('ok');
      // the next snapshot hangs on iptables again: stop the agent in the middle of it
      const hungBefore = (await readFile(pids, 'utf8')).trim().split('\n').length;
      for (let i = 0; i < 100 && (await readFile(pids, 'utf8')).trim().split('\n').length === hungBefore; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const t0 = Date.now();
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
      const alive = (await readFile(pids, 'utf8'))
        .trim()
        .split('\n')
        .map(Number)
        .filter((pid) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        });
      expect(alive).toEqual([]);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  }, 40_000);
});
