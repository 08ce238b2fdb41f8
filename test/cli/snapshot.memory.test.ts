/**
 * The one-shot snapshot as a process against a host whose tools print without end (#16: very large
 * command outputs took the agent past 2 GiB; its limit is 256 MiB). Every iptables and ipset tool
 * is replaced by one that prints rules forever; the snapshot must come back with those sections
 * `output-too-large`, and the process's peak RSS (GNU time's %M) must stay inside the limit.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const AGENT_MEMORY_LIMIT_KIB = 256 * 1024;

describe('calico-diag snapshot against endless command output', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports the sections output-too-large and stays inside the agent memory limit', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cdS-mem-'));
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const endless = `#!/bin/sh\nexec yes -- '-A cali-fw-cali1234567 -m comment --comment "cali:abcdefghijklmnop" -m set --match-set cali40s:abcdefghijklmnopqrstuv src -j DROP'\n`;
    for (const name of ['iptables-save', 'iptables-legacy-save', 'iptables-nft-save', 'ip6tables-save', 'ip6tables-legacy-save', 'ip6tables-nft-save', 'ipset']) {
      await writeFile(join(bin, name), endless);
      await chmod(join(bin, name), 0o755);
    }
    const p = spawn('/usr/bin/time', ['-f', 'peak-rss-kib=%M', 'node', '--import', 'tsx', 'cli/main.ts', 'snapshot', '--json', '--node-name', 'cdc-mem'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, CALICO_DIAG_FELIX_HEALTH_URL: 'http://127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => p.once('exit', resolve));
    expect(code, err).toBe(0);
    const snap = JSON.parse(out) as { snapshot: { sections: Record<string, { status: string; reason?: string }> } };
    expect(snap.snapshot.sections.iptables, JSON.stringify(snap.snapshot.sections.iptables)).toMatchObject({ status: 'unavailable', reason: 'output-too-large' });
    expect(snap.snapshot.sections.ipsets, JSON.stringify(snap.snapshot.sections.ipsets)).toMatchObject({ status: 'unavailable', reason: 'output-too-large' });
    const peak = Number(/peak-rss-kib=(\d+)/.exec(err)?.[1]);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(AGENT_MEMORY_LIMIT_KIB);
  }, 120_000);
});
