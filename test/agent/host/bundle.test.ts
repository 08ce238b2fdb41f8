import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Host } from '../../../agent/collectors/types.js';
import { recordingHost, safeName } from '../../../agent/host/record.js';
import { loadBundle } from '../../../agent/host/replay.js';
import { fakeRunner } from '../../helpers/fake-runner.js';

const LINKS = '[{"ifindex":1,"ifname":"lo"}]\n';

const fakeHost = (): Host => ({
  run: fakeRunner({
    'ip -j -d -s link show': { stdout: LINKS, stderr: '' },
    'iptables-legacy-save -c': { stdout: '', stderr: 'iptables-legacy-save: not found', exitCode: 1 },
    'ipset list': { error: 'missing-binary' },
  }),
  readFile: async (path) =>
    path === '/proc/sys/net/ipv4/ip_forward' ? { ok: true, text: '1\n' } : { ok: false, kind: 'not-found', message: `${path}: ENOENT` },
  listDir: async (path) => (path === '/proc/sys/net/ipv4/conf' ? { ok: true, entries: ['all', 'default', 'eth0'] } : { ok: false, kind: 'not-found', message: 'ENOENT' }),
  httpGet: async (url) =>
    url.endsWith('/readiness') ? { ok: true, status: 503, body: '{"ready":false}' } : { ok: false, kind: 'unreachable', message: 'ECONNREFUSED' },
  unixExchange: async (path, request) =>
    request === 'show protocols\n' ? { ok: true, text: '0001 BIRD 2.0 ready.\n2002-Name Proto\n0000\n' } : { ok: false, kind: 'not-found', message: path },
});

/** Every kind of read, some ok and some failing: what the collectors would do. */
const exercise = async (h: Host) => [
  await h.run({ argv: ['ip', '-j', '-d', '-s', 'link', 'show'] }),
  await h.run({ argv: ['iptables-legacy-save', '-c'] }),
  await h.run({ argv: ['ipset', 'list'] }),
  await h.readFile('/proc/sys/net/ipv4/ip_forward'),
  await h.readFile('/proc/sys/net/ipv6/conf/all/forwarding'),
  await h.listDir('/proc/sys/net/ipv4/conf'),
  await h.httpGet('http://127.0.0.1:9099/readiness', 1000),
  await h.httpGet('http://127.0.0.1:9099/liveness', 1000),
  await h.unixExchange('/var/run/calico/bird.ctl', 'show protocols\n', () => true, 1000),
];

const withoutDurations = (rs: unknown[]) => JSON.parse(JSON.stringify(rs, (k, v) => (k === 'durationMs' ? 0 : v)));

// issue #2
describe('snapshot bundles: --save / --from', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cdC-bundle-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replays exactly what was recorded (round trip)', async () => {
    const rec = recordingHost(fakeHost());
    const live = await exercise(rec.host);
    await rec.save(dir, { node: 'node-a', createdAt: '2026-11-21T12:00:00.000Z' });

    const b = await loadBundle(dir);
    if (!b.ok) throw new Error(b.message);
    expect(b.node).toBe('node-a');
    const replayed = await exercise(b.host);
    expect(withoutDurations(replayed)).toEqual(withoutDurations(live));
  });

  it('writes human-readable files named after the command', async () => {
    const rec = recordingHost(fakeHost());
    await exercise(rec.host);
    await rec.save(dir, { node: 'node-a', createdAt: '2026-11-21T12:00:00.000Z' });
    const files = (await readdir(dir)).sort();
    expect(files).toContain('ip_-j_-d_-s_link_show.stdout');
    expect(files).toContain('file_proc_sys_net_ipv4_ip_forward.txt');
    expect(await readFile(join(dir, 'ip_-j_-d_-s_link_show.stdout'), 'utf8')).toBe(LINKS);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.entries).toHaveLength(9);
    expect(manifest.entries[2]).toMatchObject({ kind: 'command', argv: ['ipset', 'list'], result: { ok: false, kind: 'missing-binary' } });
  });

  it('answers unknown requests like a fake: missing binary, not found, unreachable', async () => {
    const rec = recordingHost(fakeHost());
    await rec.save(dir, { node: 'node-a', createdAt: 'x' });
    const b = await loadBundle(dir);
    if (!b.ok) throw new Error(b.message);
    expect(await b.host.run({ argv: ['bridge', '-j', 'fdb', 'show'] })).toMatchObject({ ok: false, kind: 'missing-binary' });
    expect(await b.host.readFile('/etc/x')).toMatchObject({ ok: false, kind: 'not-found' });
    expect(await b.host.listDir('/etc')).toMatchObject({ ok: false, kind: 'not-found' });
    expect(await b.host.httpGet('http://x/', 10)).toMatchObject({ ok: false, kind: 'unreachable' });
    expect(await b.host.unixExchange('/s', 'q', () => true, 10)).toMatchObject({ ok: false, kind: 'not-found' });
  });

  it('replays repeated requests in recorded order, then repeats the last answer', async () => {
    let n = 0;
    const inner: Host = { ...fakeHost(), readFile: async () => ({ ok: true, text: String(++n) }) };
    const rec = recordingHost(inner);
    await rec.host.readFile('/p');
    await rec.host.readFile('/p');
    await rec.save(dir, { node: 'n', createdAt: 'x' });
    const b = await loadBundle(dir);
    if (!b.ok) throw new Error(b.message);
    expect(await b.host.readFile('/p')).toEqual({ ok: true, text: '1' });
    expect(await b.host.readFile('/p')).toEqual({ ok: true, text: '2' });
    expect(await b.host.readFile('/p')).toEqual({ ok: true, text: '2' });
  });

  it('refuses a missing, invalid or path-escaping bundle with a message', async () => {
    expect(await loadBundle(join(dir, 'nope'))).toMatchObject({ ok: false, message: expect.stringMatching(/no manifest.json/) });
    await writeFile(join(dir, 'manifest.json'), '{');
    expect(await loadBundle(dir)).toMatchObject({ ok: false, message: expect.stringMatching(/not valid JSON/) });
    const evil = {
      bundleVersion: 1,
      createdAt: 'x',
      node: 'n',
      entries: [{ kind: 'file', path: '/etc/passwd', result: { ok: true, file: '../../etc/passwd' } }],
    };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(evil));
    expect(await loadBundle(dir)).toMatchObject({ ok: false, message: expect.stringMatching(/entries\.0\.result.*plain file name|invalid/) });
  });

  // #16: bundle symlinks were followed
  it('refuses a recorded output that is a link, or not a regular file', async () => {
    const manifest = (file: string) => ({ bundleVersion: 1, createdAt: 'x', node: 'n', entries: [{ kind: 'file', path: '/proc/sys/x', result: { ok: true, file } }] });
    await symlink('/etc/hostname', join(dir, 'out.txt'));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest('out.txt')));
    expect(await loadBundle(dir)).toMatchObject({ ok: false, message: expect.stringMatching(/out\.txt is a symbolic link/) });
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest('sub')));
    expect(await loadBundle(dir)).toMatchObject({ ok: false, message: expect.stringMatching(/sub is not a regular file/) });
    await rm(join(dir, 'manifest.json'));
    await symlink('/etc/hostname', join(dir, 'manifest.json'));
    expect(await loadBundle(dir)).toMatchObject({ ok: false, message: expect.stringMatching(/manifest\.json is a symbolic link/) });
  });

  // #16: a 5 MB bundle with repeated file references took `snapshot --from` to 1.5 GiB
  it('reads a file the manifest names many times once, and refuses a bundle past its size cap', async () => {
    await writeFile(join(dir, 'big.txt'), 'x'.repeat(1024 * 1024));
    const entries = Array.from({ length: 5000 }, (_, i) => ({ kind: 'file', path: `/proc/sys/p${i}`, result: { ok: true, file: 'big.txt' } }));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ bundleVersion: 1, createdAt: 'x', node: 'n', entries }));
    const before = process.memoryUsage().rss;
    const b = await loadBundle(dir);
    expect(b.ok).toBe(true);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    if (b.ok) expect(await b.host.readFile('/proc/sys/p4999')).toMatchObject({ ok: true });
    const many = Array.from({ length: 200 }, (_, i) => ({ kind: 'file', path: `/proc/sys/q${i}`, result: { ok: true, file: `f${i}.txt` } }));
    for (let i = 0; i < 200; i++) await writeFile(join(dir, `f${i}.txt`), 'y'.repeat(1024 * 1024));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ bundleVersion: 1, createdAt: 'x', node: 'n', entries: many }));
    expect(await loadBundle(dir)).toMatchObject({ ok: false, message: expect.stringMatching(/larger than 134217728 bytes/) });
  });

  it('makes safe, readable names', () => {
    expect(safeName('ip -j -d -s link show')).toBe('ip_-j_-d_-s_link_show');
    expect(safeName('http://127.0.0.1:9099/readiness')).toBe('127.0.0.1_9099_readiness');
    expect(safeName('/../..')).toBe('x');
  });
});
