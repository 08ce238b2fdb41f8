import Fastify from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { CollectorRegistry } from '../../agent/collectors/index.js';
import type { Host } from '../../agent/collectors/types.js';
import type { AgentConfig } from '../../agent/config.js';
import { createSnapshotLoop, daemonCollectors, defaultAdvertiseUrl, startAgent, staleAfterMs } from '../../agent/main.js';
import type { Timers } from '../../agent/push.js';
import type { Clock } from '../../common/clock.js';
import { Report } from '../../contract/report.js';
import type { Snapshot } from '../../contract/snapshot.js';
import { sampleSnapshot } from './snapshot-sample.js';
import { fakeRunner } from '../helpers/fake-runner.js';

const silent = pino({ level: 'silent' });

/** Timers whose callbacks run only when the test fires them; a clock the test moves. */
const manual = () => {
  let mono = 0;
  const scheduled: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      scheduled.push(t);
      return t;
    },
    clearTimeout: (h) => void ((h as { cleared: boolean }).cleared = true),
  };
  const clock: Clock = { now: () => Date.parse('2026-11-21T12:00:00.000Z') + mono, monotonic: () => mono };
  return { timers, clock, scheduled, advance: (ms: number) => void (mono += ms) };
};

// issue #2
describe('snapshot loop', () => {
  it('never overlaps: the next snapshot is scheduled after the current one ends', async () => {
    const m = manual();
    let active = 0;
    let maxActive = 0;
    const durations = [300, 1500, 200];
    let n = 0;
    const loop = createSnapshotLoop({
      intervalMs: 1000,
      clock: m.clock,
      timers: m.timers,
      logger: silent,
      snapshot: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        m.advance(durations[n++] ?? 0);
        active--;
        return sampleSnapshot();
      },
    });
    let next = loop.nextResult();
    loop.start();
    loop.start(); // a second start does not start a second loop
    await next;
    await new Promise((r) => setImmediate(r));
    expect(m.scheduled.map((s) => s.ms)).toEqual([700]); // 1000 − 300
    next = loop.nextResult();
    m.scheduled.at(-1)!.fn();
    await next;
    await new Promise((r) => setImmediate(r));
    expect(m.scheduled.map((s) => s.ms)).toEqual([700, 0]); // overran: the next starts at once
    expect(maxActive).toBe(1);
    expect(n).toBe(2);
    await loop.stop();
    expect(m.scheduled.at(-1)!.cleared).toBe(true);
  });

  it('keeps the latest and the previous result and carries findings over', async () => {
    const m = manual();
    const snaps = [sampleSnapshot({ drops: 1, takenAt: '2026-11-21T12:00:00.000Z' }), sampleSnapshot({ drops: 50, takenAt: '2026-11-21T12:00:30.000Z' })];
    const seen: Snapshot[] = [];
    const loop = createSnapshotLoop({
      intervalMs: 1000,
      clock: m.clock,
      timers: m.timers,
      logger: silent,
      snapshot: async () => snaps[seen.length]!,
      onResult: (s) => void seen.push(s.snapshot),
    });
    let next = loop.nextResult();
    loop.start();
    const first = await next;
    await new Promise((r) => setImmediate(r));
    next = loop.nextResult();
    m.scheduled.at(-1)!.fn();
    const second = await next;
    expect(loop.previous()).toBe(first);
    expect(loop.latest()).toBe(second);
    // the sample's vxlan MTU / felix findings persist: firstSeen comes from the first pass
    const common = second.findings.filter((f) => first.findings.some((g) => g.id === f.id));
    expect(common.length).toBeGreaterThan(0);
    for (const f of common) expect(f.firstSeen).toBe('2026-11-21T12:00:00.000Z');
    await loop.stop();
  });

  it('a snapshot reusing the last iptables read is checked against the read before it: a rising DROP counter stays a finding', async () => {
    // #17: the daemon reads iptables every second snapshot (agent/collectors/cadence.ts)
    const m = manual();
    const a = sampleSnapshot({ drops: 1, takenAt: '2026-11-21T12:00:00.000Z' });
    const b = sampleSnapshot({ drops: 50, takenAt: '2026-11-21T12:00:30.000Z' });
    const c = { ...sampleSnapshot({ drops: 50, takenAt: '2026-11-21T12:01:00.000Z' }) };
    c.sections = { ...c.sections, iptables: b.sections.iptables }; // the same object: a reused read
    const d = sampleSnapshot({ drops: 50, takenAt: '2026-11-21T12:01:30.000Z' }); // a fresh read, nothing new
    const snaps = [a, b, c, d];
    let n = 0;
    const loop = createSnapshotLoop({ intervalMs: 1000, clock: m.clock, timers: m.timers, logger: silent, snapshot: async () => snaps[n++]! });
    const results = [];
    for (let i = 0; i < snaps.length; i++) {
      const next = loop.nextResult();
      if (i === 0) loop.start();
      else m.scheduled.at(-1)!.fn();
      results.push(await next);
      await new Promise((r) => setImmediate(r));
    }
    const rising = results.map((r) => r.findings.filter((f) => f.rule === 'iptables-drops-rising'));
    expect(rising[0]).toEqual([]);
    expect(rising[1]).toHaveLength(1);
    expect(rising[2]).toHaveLength(1);
    expect(rising[2]![0]!.id).toBe(rising[1]![0]!.id);
    expect(rising[2]![0]!.firstSeen).toBe(rising[1]![0]!.firstSeen);
    expect(rising[3]).toEqual([]); // the next fresh read compares with the read before: no new packets
    await loop.stop();
  });

  it("the daemon's collectors read iptables and ipsets on the same snapshots, every second one; the rest every time", async () => {
    // #17: daemon cost
    const base = sampleCollectors();
    const calls: Record<string, number> = {};
    const counted = Object.fromEntries(
      Object.entries(base).map(([name, c]) => [name, (...args: Parameters<typeof c>) => ((calls[name] = (calls[name] ?? 0) + 1), (c as (...a: typeof args) => ReturnType<typeof c>)(...args))]),
    ) as unknown as CollectorRegistry;
    let mono = 0;
    const reg = daemonCollectors(30, () => mono, counted);
    const ctx = { linkNames: null, uplinks: [] };
    const cfg = { timeoutMs: 1000, felixHealthUrl: 'http://127.0.0.1:9', birdSocket: '/nonexistent' };
    for (let i = 0; i < 4; i++, mono += 30_000) {
      await reg.ipsets(emptyHost, cfg, ctx);
      await reg.iptables(emptyHost, cfg, ctx);
      await reg.links(emptyHost, cfg, ctx);
    }
    expect(calls).toEqual({ ipsets: 2, iptables: 2, links: 4 });
  });

  it("the daemon's default iptables collector remembers its backend decision between reads", async () => {
    // #17 goal 2: the hint chains are asked for at the first read only while the dumps show them
    const run = fakeRunner({
      'nft list flowtables': { error: 'missing-binary' },
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '', exitCode: 1 },
      'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': { stdout: '', exitCode: 1 },
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
      'iptables-nft-save -c': { stdout: '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n[1:2] -A INPUT -j DROP\nCOMMIT\n' },
      'ip6tables-nft-save -c': { stdout: '' },
    });
    const unused = () => {
      throw new Error('not used');
    };
    const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
    let mono = 0;
    const reg = daemonCollectors(30, () => mono);
    const cfg = { timeoutMs: 1000, felixHealthUrl: 'http://127.0.0.1:9', birdSocket: '/nonexistent' };
    const hintQueries = () => run.calls.filter((c) => c.argv.includes('-S')).length;
    await reg.iptables(host, cfg, { linkNames: null, uplinks: [] });
    expect(hintQueries()).toBe(3);
    mono += 60_000;
    const r = await reg.iptables(host, cfg, { linkNames: null, uplinks: [] });
    expect(hintQueries()).toBe(3);
    expect(r).toMatchObject({ status: 'ok', data: { backend: 'nft', dropRules: [{ packets: 1 }] } });
  });

  it('logs a failing snapshot and goes on', async () => {
    const m = manual();
    let calls = 0;
    const loop = createSnapshotLoop({
      intervalMs: 1000,
      clock: m.clock,
      timers: m.timers,
      logger: silent,
      snapshot: async () => {
        if (++calls === 1) throw new Error('boom');
        return sampleSnapshot();
      },
    });
    loop.start();
    await new Promise((r) => setTimeout(r, 10));
    expect(loop.latest()).toBeNull();
    expect(m.scheduled).toHaveLength(1);
    const next = loop.nextResult();
    m.scheduled[0]!.fn();
    await next;
    expect(loop.latest()).not.toBeNull();
    await loop.stop();
  });

  it('stop() waits for the snapshot in progress and schedules nothing after it', async () => {
    const m = manual();
    let release = () => {};
    const loop = createSnapshotLoop({
      intervalMs: 1000,
      clock: m.clock,
      timers: m.timers,
      logger: silent,
      snapshot: () => new Promise<Snapshot>((r) => (release = () => r(sampleSnapshot()))),
    });
    loop.start();
    await new Promise((r) => setImmediate(r));
    const stopping = loop.stop();
    release();
    await stopping;
    expect(m.scheduled).toHaveLength(0);
  });
});

const emptyHost: Host = {
  run: async (req) => ({ ok: false, kind: 'missing-binary', message: 'absent', argv: req.argv, stderr: '', durationMs: 0 }),
  readFile: async () => ({ ok: false, kind: 'not-found', message: 'absent' }),
  listDir: async () => ({ ok: false, kind: 'not-found', message: 'absent' }),
  httpGet: async () => ({ ok: false, kind: 'unreachable', message: 'absent' }),
  unixExchange: async () => ({ ok: false, kind: 'not-found', message: 'absent' }),
};
const sampleCollectors = (): CollectorRegistry => {
  const s = sampleSnapshot().sections;
  return {
    links: async () => s.links,
    addresses: async () => s.addresses,
    routes: async () => s.routes,
    neighbours: async () => s.neighbours,
    fdb: async () => s.fdb,
    sysctls: async () => s.sysctls,
    iptables: async () => s.iptables,
    ipsets: async () => s.ipsets,
    felix: async () => s.felix,
    bgp: async () => s.bgp,
  };
};

// issue #2, issue #3
describe('agent daemon wiring', () => {
  it('serves healthz, metrics and the snapshot, and pushes reports', async () => {
    const reports: Report[] = [];
    const agg = Fastify({ bodyLimit: 10 * 1024 * 1024 });
    agg.post('/v1/reports', async (req) => {
      const r = Report.parse(req.body);
      reports.push(r);
      return { accepted: true, node: r.node, seq: r.seq };
    });
    const aggUrl = await agg.listen({ host: '127.0.0.1', port: 0 });
    const config: AgentConfig = {
      nodeName: 'node-a',
      listen: { host: '127.0.0.1', port: 0 },
      tokenFile: '/nonexistent/token',
      intervalSeconds: 3600,
      aggregatorUrl: aggUrl,
      advertiseUrl: 'http://127.0.0.1:9477',
      felixHealthUrl: 'http://127.0.0.1:9',
      birdSocket: '/nonexistent',
      capturePayload: false,
      tracefs: null,
      commandTimeoutMs: 1000,
    };
    const agent = await startAgent({ config, token: 's3cret', logger: silent, registry: new Registry(), host: emptyHost, collectors: sampleCollectors() });
    try {
      const first = agent.loop.latest() ?? (await agent.loop.nextResult());
      expect(first.snapshot.node).toBe('node-a');
      await agent.pusher!.idle();
      const health = await fetch(`${agent.address}/healthz`);
      expect(health.status).toBe(200);
      const snap = await fetch(`${agent.address}/v1/snapshot`, { headers: { authorization: 'Bearer s3cret' } });
      expect(snap.status).toBe(200);
      expect(((await snap.json()) as { snapshot: Snapshot }).snapshot.identity.tunnels[0]!.device).toBe('vxlan.calico');
      expect((await fetch(`${agent.address}/v1/snapshot`)).status).toBe(401);
      const metrics = await (await fetch(`${agent.address}/metrics`)).text();
      expect(metrics).toContain('calico_diag_agent_collector_runs_total{collector="links",outcome="ok"} 1');
      expect(metrics).toContain('calico_diag_agent_report_pushes_total{outcome="accepted"} 1');
      expect(metrics).toContain('process_cpu_user_seconds_total');
      expect(reports).toHaveLength(1);
      // the captures/probes routes are wired in, behind the token
      expect((await fetch(`${agent.address}/v1/captures/abc`)).status).toBe(401);
      const capture = await fetch(`${agent.address}/v1/captures/abc`, { headers: { authorization: 'Bearer s3cret' } });
      expect(capture.status).toBe(404);
      expect(await capture.json()).toMatchObject({ code: 'NOT_FOUND', message: 'no capture abc' });
      expect(reports[0]).toMatchObject({ node: 'node-a', agentUrl: 'http://127.0.0.1:9477', seq: 0 });
    } finally {
      await agent.stop();
      await agg.close();
    }
  });

  it('advertises the node IP when listening on a wildcard address', () => {
    expect(defaultAdvertiseUrl({ host: '0.0.0.0', port: 9477 }, ['192.168.0.10', '10.0.0.1'])).toBe('http://192.168.0.10:9477');
    expect(defaultAdvertiseUrl({ host: '::', port: 9477 }, ['fd00::10'])).toBe('http://[fd00::10]:9477');
    expect(defaultAdvertiseUrl({ host: '10.1.1.1', port: 9000 }, ['192.168.0.10'])).toBe('http://10.1.1.1:9000');
    expect(defaultAdvertiseUrl({ host: '0.0.0.0', port: 9477 }, [])).toBeUndefined();
  });

  it('healthz turns stale after three intervals plus two command timeouts', () => {
    expect(staleAfterMs({ intervalSeconds: 30, commandTimeoutMs: 10_000 })).toBe(110_000);
  });
});
