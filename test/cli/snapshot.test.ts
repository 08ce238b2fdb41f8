import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Host } from '../../agent/collectors/types.js';
import { runCli } from '../../cli/main.js';
import { memoryIo } from '../../cli/io.js';
import type { Clock } from '../../common/clock.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/ip/${name}`, import.meta.url), 'utf8');

/** The lab VXLAN node recording (test/fixtures/ip) for ip; everything else absent. */
const ipOutputs: Record<string, string> = {
  'ip -j -d -s link show': fixture('cdA-vxlan-node-ip-j-d-s-link-show.json'),
  'ip -j addr show': fixture('cdA-vxlan-node-ip-j-addr-show.json'),
  'ip -j -4 route show table all': fixture('cdA-vxlan-node-ip-j-4-route-show-table-all.json'),
  'ip -j -6 route show table all': fixture('cdA-vxlan-node-ip-j-6-route-show-table-all.json'),
  'ip -j neigh show': fixture('cdA-vxlan-node-ip-j-neigh-show.json'),
};
const fixtureHost = (): Host => ({
  run: async (req) => {
    const out = ipOutputs[req.argv.join(' ')];
    return out === undefined
      ? { ok: false, kind: 'missing-binary', message: `${req.argv[0]}: command not found`, argv: req.argv, stderr: '', durationMs: 1 }
      : { ok: true, stdout: out, stderr: '', exitCode: 0, durationMs: 1 };
  },
  readFile: async (path) => (path === '/proc/sys/net/ipv4/ip_forward' ? { ok: true, text: '1\n' } : { ok: false, kind: 'not-found', message: `${path}: ENOENT` }),
  listDir: async (path) => ({ ok: false, kind: 'not-found', message: `${path}: ENOENT` }),
  httpGet: async (url) => ({ ok: false, kind: 'unreachable', message: `${url}: ECONNREFUSED` }),
  unixExchange: async (path) => ({ ok: false, kind: 'not-found', message: `${path}: ENOENT` }),
});
const clock: Clock = { now: () => Date.parse('2026-11-21T12:00:00.000Z'), monotonic: () => 0 };
const deps = { snapshot: { host: fixtureHost, env: {}, clock } };

const cli = async (argv: string[]) => {
  const io = memoryIo();
  const code = await runCli(argv, io, deps);
  return { code, out: io.out(), err: io.err() };
};

// issue #2
describe('calico-diag snapshot', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cdC-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints mode, identity, collectors and findings as tables; -o wide adds tunnel MACs and collector timings', async () => {
    const short = await cli(['snapshot', '--node', 'node-a']);
    expect(short.code).toBe(0);
    expect(short.out).toMatch(/^DEVICE\s+KIND\s+IP\s+MTU\s+STATE$/m);
    expect(short.out).toMatch(/^COLLECTOR\s+STATUS$/m);
    expect(short.out).toMatch(/^iptables\s+unavailable: missing-binary$/m);
    expect(short.out).not.toContain('66:');
    // the older --node-name spelling still works (hidden alias)
    const r = await cli(['snapshot', '--node-name', 'node-a', '-o', 'wide']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^node:\s+node-a$/m);
    expect(r.out).toMatch(/^mode:\s+encapsulation vxlan, wireguard no, ebpf no, bgp no$/m);
    // no iptables and no nft on this fixture host: the policy dataplane is unknown, with why (#15)
    expect(r.out).toMatch(/^policy dataplane:\s+unknown \(iptables section unavailable \(missing-binary: /m);
    expect(r.out).toMatch(/^vxlan\.calico\s+vxlan\s+\S+\s+66:/m);
    expect(r.out).toMatch(/^links\s+ok\s/m);
    expect(r.out).toMatch(/^iptables\s+unavailable: missing-binary\s/m);
    expect(short.out).toMatch(/^RULE\s+SEVERITY\s+SUMMARY$/m);
    expect(r.out).toMatch(/^RULE\s+SEVERITY\s+PEER\s+SUMMARY\s+SEEN\s+EXPECTED$/m);
  });

  it('--json prints the snapshot, checks and findings', async () => {
    const r = await cli(['snapshot', '--json', '--node-name', 'node-a']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out);
    expect(Object.keys(body)).toEqual(['snapshot', 'checks', 'findings']);
    expect(body.snapshot.node).toBe('node-a');
    expect(body.snapshot.takenAt).toBe('2026-11-21T12:00:00.000Z');
    expect(body.snapshot.sections.links.status).toBe('ok');
    expect(body.snapshot.identity.tunnels[0]).toMatchObject({ device: 'vxlan.calico', kind: 'vxlan', vni: 4096 });
    expect(body.checks.length).toBeGreaterThan(5);
    expect(body.checks.some((c: { status: string }) => c.status === 'unknown')).toBe(true);
  });

  it('-o yaml prints the same document as -o json; --json with -o yaml is refused', async () => {
    const json = await cli(['snapshot', '-o', 'json', '--node', 'node-a']);
    const yaml = await cli(['snapshot', '-o', 'yaml', '--node', 'node-a']);
    expect(yaml.code).toBe(0);
    expect(parseYaml(yaml.out)).toEqual(JSON.parse(json.out));
    const both = await cli(['snapshot', '--json', '-o', 'yaml']);
    expect(both).toMatchObject({ code: 1, err: 'calico-diag: --json and -o yaml contradict each other\n' });
  });

  it('--timeout takes a duration (a plain number is seconds); the hidden --timeout-ms keeps milliseconds', async () => {
    const timeoutOf = async (args: string[]) => {
      const seen: number[] = [];
      const host = (): Host => {
        const h = fixtureHost();
        return { ...h, run: async (req) => (seen.push(req.timeoutMs ?? -1), h.run(req)) };
      };
      const io = memoryIo();
      const code = await runCli(['snapshot', '--node', 'n', ...args], io, { snapshot: { host, env: {}, clock } });
      return { code, err: io.err(), timeout: seen[0] };
    };
    expect((await timeoutOf([])).timeout).toBe(10_000);
    expect((await timeoutOf(['--timeout', '2m30s'])).timeout).toBe(150_000);
    expect((await timeoutOf(['--timeout', '3'])).timeout).toBe(3000);
    expect((await timeoutOf(['--timeout', '500ms'])).timeout).toBe(500);
    expect((await timeoutOf(['--timeout-ms', '750'])).timeout).toBe(750);
    const bad = await timeoutOf(['--timeout', '5x']);
    expect(bad).toMatchObject({ code: 1, timeout: undefined });
    expect(bad.err).toBe('calico-diag: invalid --timeout "5x": not a duration: use e.g. 500ms, 30s, 1m, 2m30s (a plain number is seconds)\n');
    expect((await timeoutOf(['--timeout', '11m'])).err).toMatch(/must be between 1ms and 600s/);
  });

  it('--save writes a bundle that --from replays to the same snapshot', async () => {
    const saved = await cli(['snapshot', '--json', '--node-name', 'node-a', '--save', dir]);
    expect(saved.code).toBe(0);
    const files = await readdir(dir);
    expect(files).toContain('manifest.json');
    expect(files).toContain('snapshot.json');
    expect(files).toContain('ip_-j_-d_-s_link_show.stdout');
    // no --node-name: the bundle's node is used
    const replayed = await cli(['snapshot', '--json', '--from', dir]);
    expect(replayed.code).toBe(0);
    const a = JSON.parse(saved.out);
    const b = JSON.parse(replayed.out);
    expect(b.snapshot.node).toBe('node-a');
    expect(b.snapshot.sections).toEqual(a.snapshot.sections);
    expect(b.snapshot.identity).toEqual(a.snapshot.identity);
    expect(b.findings).toEqual(a.findings);
  });

  it('--fail-on exits 2 when a finding is at least that severe, 0 otherwise', async () => {
    const all = JSON.parse((await cli(['snapshot', '--json', '--node-name', 'n'])).out) as { findings: { severity: string }[] };
    const worst = ['critical', 'warning', 'info'].find((s) => all.findings.some((f) => f.severity === s));
    expect(worst).toBeDefined();
    const hit = await cli(['snapshot', '--node-name', 'n', '--fail-on', 'info']);
    expect(hit.code).toBe(2);
    expect(hit.err).toMatch(/^calico-diag: \d+ finding\(s\) at severity info or worse\n$/);
    if (!all.findings.some((f) => f.severity === 'critical')) expect((await cli(['snapshot', '--node-name', 'n', '--fail-on', 'critical'])).code).toBe(0);
    expect((await cli(['snapshot', '--fail-on', 'fatal'])).code).toBe(1);
  });

  it('errors are one line and exit 1, never a stack trace', async () => {
    const both = await cli(['snapshot', '--save', dir, '--from', dir]);
    expect(both).toMatchObject({ code: 1, err: 'calico-diag: --save and --from cannot be used together\n' });
    const missing = await cli(['snapshot', '--from', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`calico-diag: cannot read bundle ${join(dir, 'nope')}: no manifest.json\n`);
    const bad = await cli(['snapshot', '--timeout-ms', 'x']);
    expect(bad.err).toMatch(/^calico-diag: invalid --timeout-ms "x"/);
    const unknown = await cli(['snapshot', '--bogus']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/unknown option '--bogus'/);
    for (const r of [both, missing, bad, unknown]) expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('--version and --help exit 0', async () => {
    const v = await cli(['--version']);
    expect(v).toMatchObject({ code: 0 });
    expect(v.out).toMatch(/^\d+\.\d+\.\d+/);
    const h = await cli(['snapshot', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('--save <dir>');
  });
});
