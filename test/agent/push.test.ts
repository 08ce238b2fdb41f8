import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelayMs, buildReport, createPusher, type PushPayload, type Timers } from '../../agent/push.js';
import type { PushOutcome } from '../../agent/metrics.js';
import { hashSection } from '../../contract/hash.js';
import { Report } from '../../contract/report.js';
import { SECTION_NAMES } from '../../contract/snapshot.js';
import { meshSnapshot } from '../../bench/aggregator-mesh.js';
import { sampleSnapshot } from './snapshot-sample.js';

type Mode = 'accept' | 'conflict-once' | 'conflict-always' | 'error' | 'hang' | 'unauthorized' | 'no-chunks';

/** A local stand-in for the aggregator's POST /v1/reports (the protocol of aggregator/http/reports.ts). */
const fakeAggregator = () => {
  const received: { report: Report; auth: string | undefined }[] = [];
  let mode: Mode = 'accept';
  let conflicts = 0;
  const app: FastifyInstance = Fastify({ bodyLimit: 10 * 1024 * 1024, forceCloseConnections: true });
  app.post('/v1/reports', async (req, reply) => {
    const report = Report.parse(req.body);
    received.push({ report, auth: req.headers.authorization });
    if (mode === 'hang') return new Promise(() => {});
    if (mode === 'error') return reply.code(500).send({ statusCode: 500, code: 'INTERNAL', error: 'x', message: 'internal error' });
    if (mode === 'unauthorized') return reply.code(401).send({ statusCode: 401, code: 'UNAUTHORIZED', error: 'x', message: 'no' });
    if (mode === 'no-chunks') {
      // an aggregator that predates chunks (issue #17): drops the key, then lacks those sections
      const lacking = (['routes', 'neighbours', 'fdb'] as const).filter((n) => (report.sections[n] as { chunks?: unknown }).chunks !== undefined);
      if (lacking.length > 0) return reply.code(409).send({ code: 'SECTIONS_REQUIRED', message: 'send these', sections: lacking });
    }
    if (mode === 'conflict-always' || (mode === 'conflict-once' && conflicts++ === 0)) {
      return reply.code(409).send({ code: 'SECTIONS_REQUIRED', message: 'send these', sections: ['routes', 'fdb'] });
    }
    return { accepted: true, node: report.node, seq: report.seq };
  });
  return {
    app,
    received,
    setMode: (m: Mode) => {
      mode = m;
      conflicts = 0;
    },
  };
};

const manualTimers = () => {
  const scheduled: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      scheduled.push(t);
      return t;
    },
    clearTimeout: (h) => {
      (h as { cleared: boolean }).cleared = true;
    },
  };
  return { timers, scheduled, fireLast: () => scheduled.at(-1)!.fn() };
};

const payload = (over: Parameters<typeof sampleSnapshot>[0] = {}): PushPayload => ({ snapshot: sampleSnapshot(over), checks: [], findings: [] });
const withData = (r: Report) => SECTION_NAMES.filter((n) => r.sections[n].data !== undefined);

// issue #3
describe('report push', () => {
  const agg = fakeAggregator();
  let url = '';
  let outcomes: PushOutcome[] = [];
  beforeAll(async () => {
    url = await agg.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await agg.app.close();
  });
  beforeEach(() => {
    agg.received.length = 0;
    agg.setMode('accept');
    outcomes = [];
  });

  const make = (over: Partial<Parameters<typeof createPusher>[0]> = {}) =>
    createPusher({
      aggregatorUrl: url,
      token: () => 's3cret',
      node: 'node-a',
      intervalSeconds: 10,
      agentVersion: '0.1.0',
      advertiseUrl: 'http://192.168.0.10:9477',
      now: () => Date.parse('2026-11-21T12:00:01.000Z'),
      logger: pino({ level: 'silent' }),
      onOutcome: (o) => outcomes.push(o),
      requestTimeoutMs: 2000,
      ...over,
    });

  it('sends every section in full first, then only the sections whose hash changed', async () => {
    const p = make();
    p.offer(payload({ drops: 1 }));
    await p.idle();
    p.offer(payload({ drops: 1 }));
    await p.idle();
    p.offer(payload({ drops: 2 }));
    await p.idle();
    await p.stop();
    const [first, second, third] = agg.received.map((r) => r.report);
    expect(withData(first!)).toEqual([...SECTION_NAMES]);
    expect(first!.agentUrl).toBe('http://192.168.0.10:9477');
    expect(first!.sections.links.hash).toBe(hashSection(sampleSnapshot().sections.links));
    expect(withData(second!)).toEqual([]);
    expect(second!.sections.links.hash).toBe(first!.sections.links.hash);
    expect(withData(third!)).toEqual(['iptables']);
    expect(agg.received.map((r) => r.report.seq)).toEqual([0, 1, 2]);
    expect(new Set(agg.received.map((r) => r.report.agentId)).size).toBe(1);
    expect(agg.received.every((r) => r.auth === 'Bearer s3cret')).toBe(true);
    expect(outcomes).toEqual(['accepted', 'accepted', 'accepted']);
  });

  it('derives agentUrl from each snapshot when no fixed URL is given', async () => {
    const p = make({ advertiseUrl: (s) => `http://${s.identity.nodeIPs[0]}:9477` });
    p.offer(payload());
    await p.idle();
    await p.stop();
    expect(agg.received[0]!.report.agentUrl).toBe('http://192.168.0.10:9477');
  });

  it('resends the sections a 409 names, in full, at once (aggregator restarted)', async () => {
    const p = make();
    p.offer(payload());
    await p.idle();
    agg.setMode('conflict-once');
    p.offer(payload());
    await p.idle();
    await p.stop();
    const [, asked, resent] = agg.received.map((r) => r.report);
    expect(withData(asked!)).toEqual([]);
    expect(withData(resent!)).toEqual(['routes', 'fdb']);
    expect(resent!.seq).toBeGreaterThan(asked!.seq);
    expect(outcomes).toEqual(['accepted', 'sections-required', 'accepted']);
  });

  describe('entry-level deltas for routes, neighbours and fdb', () => {
    const mesh = (n: number, round = 1): PushPayload => ({ snapshot: meshSnapshot(0, n, round), checks: [], findings: [] });
    type Delta = { base: string; splices: { at: number; remove: number; insert: unknown[] }[] };
    const deltaOf = (r: Report, name: 'routes' | 'neighbours' | 'fdb') => (r.sections[name] as { delta?: Delta }).delta;
    const hashOf = (n: number, name: 'routes' | 'neighbours' | 'fdb') => hashSection(meshSnapshot(0, n, 1).sections[name]);

    it('sends a join as splices against the last accepted section', async () => {
      const p = make();
      p.offer(mesh(100));
      await p.idle();
      p.offer(mesh(101));
      await p.idle();
      await p.stop();
      const [, join] = agg.received.map((r) => r.report);
      for (const name of ['routes', 'neighbours', 'fdb'] as const) {
        expect(join!.sections[name].data).toBeUndefined();
        expect(deltaOf(join!, name)).toMatchObject({ base: hashOf(100, name), splices: [{ remove: 0, insert: [expect.anything()] }] });
        expect(join!.sections[name].hash).toBe(hashOf(101, name));
      }
      // ipsets: splices of the host set's members, caliSetSizes in full
      expect(withData(join!)).not.toContain('ipsets');
      expect((join!.sections.ipsets as { delta?: unknown }).delta).toEqual({
        base: hashSection(meshSnapshot(0, 100, 1).sections.ipsets),
        hostSets: [{ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', splices: [{ at: 100, remove: 0, insert: ['172.16.0.101'] }] }],
        caliSetSizes: { 'cali40all-hosts-net': 101, 'cali40masq-ipam-pools': 1 },
      });
      expect(join!.sections.ipsets.hash).toBe(hashSection(meshSnapshot(0, 101, 1).sections.ipsets));
    });

    it('resends in full the sections a 409 names; the others stay deltas', async () => {
      const p = make();
      p.offer(mesh(30));
      await p.idle();
      agg.setMode('conflict-once'); // asks for routes and fdb
      p.offer(mesh(31));
      await p.idle();
      p.offer(mesh(32));
      await p.idle();
      await p.stop();
      const [, asked, resent, after] = agg.received.map((r) => r.report);
      expect(deltaOf(asked!, 'routes')).toBeDefined();
      expect(resent!.sections.routes.data).toBeDefined();
      expect(resent!.sections.fdb.data).toBeDefined();
      expect(deltaOf(resent!, 'neighbours')).toMatchObject({ base: hashOf(30, 'neighbours') });
      // once accepted, the full sections are the next bases
      expect(deltaOf(after!, 'routes')).toMatchObject({ base: hashOf(31, 'routes') });
      expect(deltaOf(after!, 'fdb')).toMatchObject({ base: hashOf(31, 'fdb') });
      expect(outcomes).toEqual(['accepted', 'sections-required', 'accepted', 'accepted']);
    });

    it('a refused report does not move the base (the next try diffs against the last accepted data)', async () => {
      const t = manualTimers();
      const p = make({ timers: t.timers, random: () => 0.5 });
      p.offer(mesh(30));
      await p.idle();
      agg.setMode('error');
      p.offer(mesh(31));
      await p.idle();
      p.offer(mesh(32));
      agg.setMode('accept');
      t.fireLast();
      await p.idle();
      await p.stop();
      const [, failed, retried] = agg.received.map((r) => r.report);
      expect(deltaOf(failed!, 'routes')).toMatchObject({ base: hashOf(30, 'routes') });
      expect(deltaOf(retried!, 'routes')).toMatchObject({ base: hashOf(30, 'routes'), splices: [{ insert: [expect.anything(), expect.anything()] }] });
      expect(retried!.sections.routes.hash).toBe(hashOf(32, 'routes'));
    });

    it('a big change travels in full', async () => {
      const p = make();
      p.offer(mesh(4));
      await p.idle();
      p.offer(mesh(40));
      await p.idle();
      await p.stop();
      expect(withData(agg.received[1]!.report)).toEqual(expect.arrayContaining(['routes', 'neighbours', 'fdb']));
    });
  });

  // issue #17
  it('sends a big list in full to an aggregator that asks for it in full after it came in chunks', async () => {
    agg.setMode('no-chunks');
    const p = make();
    const mesh = (round: number): PushPayload => ({ snapshot: meshSnapshot(0, 400, round), checks: [], findings: [] });
    p.offer(mesh(1));
    await p.idle();
    p.offer(mesh(2));
    await p.idle();
    await p.stop();
    const [asChunks, inFull] = agg.received.map((r) => r.report);
    expect((asChunks!.sections.routes as { chunks?: unknown[] }).chunks?.length).toBeGreaterThan(1);
    expect(withData(inFull!)).toEqual([...SECTION_NAMES]);
    expect(outcomes).toEqual(['sections-required', 'accepted', 'accepted']);
    // the agent does not try chunks again with this aggregator
    expect(agg.received).toHaveLength(3);
  });

  it('gives up on a payload after repeated 409s and backs off', async () => {
    const t = manualTimers();
    const p = make({ timers: t.timers, random: () => 0.5 });
    agg.setMode('conflict-always');
    p.offer(payload());
    await p.idle();
    expect(agg.received).toHaveLength(3);
    expect(withData(agg.received[2]!.report)).toEqual([...SECTION_NAMES]);
    expect(p.state()).toMatchObject({ failures: 1, backingOff: true });
    await p.stop();
  });

  it('backs off on 5xx with full jitter, and then sends only the latest result', async () => {
    const t = manualTimers();
    const p = make({ timers: t.timers, random: () => 0.5 });
    agg.setMode('error');
    p.offer(payload({ drops: 1 }));
    await p.idle();
    expect(outcomes).toEqual(['server-error']);
    expect(t.scheduled.map((s) => s.ms)).toEqual([1250]); // 0.5 × base (a quarter of the 10 s interval)
    // newer results while backing off replace the pending one and send nothing
    p.offer(payload({ drops: 2 }));
    p.offer(payload({ drops: 3 }));
    await p.idle();
    expect(agg.received).toHaveLength(1);

    t.fireLast();
    await p.idle();
    expect(agg.received).toHaveLength(2);
    expect(t.scheduled.map((s) => s.ms)).toEqual([1250, 2500]);

    agg.setMode('accept');
    t.fireLast();
    await p.idle();
    expect(agg.received).toHaveLength(3);
    const last = agg.received[2]!.report;
    const iptables = last.sections.iptables.data;
    expect(iptables?.status === 'ok' && iptables.data.dropRules[0]!.packets).toBe(3);
    expect(p.state()).toMatchObject({ failures: 0, backingOff: false, lastOutcome: 'accepted' });
    await p.stop();
  });

  it('times out a hanging aggregator without blocking the caller', async () => {
    const t = manualTimers();
    const p = make({ timers: t.timers, requestTimeoutMs: 200 });
    agg.setMode('hang');
    const returned = p.offer(payload());
    expect(returned).toBeUndefined(); // offer() does not wait for the request
    expect(agg.received.length).toBeLessThanOrEqual(1);
    await p.idle();
    expect(outcomes).toEqual(['timeout']);
    expect(p.state().backingOff).toBe(true);
    await p.stop();
  });

  it('counts an unreachable aggregator and a refused token, and never throws', async () => {
    const t = manualTimers();
    const dead = make({ aggregatorUrl: 'http://127.0.0.1:1', timers: t.timers });
    dead.offer(payload());
    await dead.idle();
    await dead.stop();
    agg.setMode('unauthorized');
    const p = make({ timers: t.timers });
    p.offer(payload());
    await p.idle();
    await p.stop();
    expect(outcomes).toEqual(['unreachable', 'rejected']);
  });

  it('a crashing fetch never escapes', async () => {
    const t = manualTimers();
    const p = make({ timers: t.timers, fetch: (() => { throw new TypeError('boom'); }) as unknown as typeof fetch });
    p.offer(payload());
    await p.idle();
    expect(outcomes).toEqual(['unreachable']);
    await p.stop();
  });

  it('retries a connection error once at once (stale keep-alive socket to a restarted aggregator)', async () => {
    let calls = 0;
    const flaky = (async (input: string | URL | Request, init?: RequestInit) => {
      if (++calls === 1) throw new TypeError('fetch failed', { cause: new Error('other side closed') });
      return fetch(input, init);
    }) as typeof fetch;
    const p = make({ fetch: flaky });
    p.offer(payload());
    await p.idle();
    await p.stop();
    expect(calls).toBe(2);
    expect(outcomes).toEqual(['accepted']);
    expect(agg.received).toHaveLength(1);
  });

  it('stop() aborts the request in flight and clears the backoff timer', async () => {
    const t = manualTimers();
    agg.setMode('hang');
    const p = make({ timers: t.timers, requestTimeoutMs: 60_000 });
    p.offer(payload());
    await new Promise((r) => setTimeout(r, 50));
    await p.stop();
    expect(t.scheduled).toHaveLength(0);
  });

  // #16: with node identities the aggregator opens this agent with a key it hands over on acceptance
  it('passes on the agent key an accepted report brings back', async () => {
    const keys: string[] = [];
    const fetchWithKey: typeof fetch = async () => new Response(JSON.stringify({ accepted: true, node: 'node-a', seq: 0, agentKey: 'key-for-node-a' }), { status: 200 });
    const p = make({ fetch: fetchWithKey, onAgentKey: (k) => keys.push(k) });
    p.offer(payload());
    await p.idle();
    await p.stop();
    expect(keys).toEqual(['key-for-node-a']);
  });

  // #16: after an aggregator outage the view came back only after ~5 intervals
  it('retries within one interval however long the aggregator was down', async () => {
    const t = manualTimers();
    const p = make({ timers: t.timers, random: () => 0.999999 });
    agg.setMode('error');
    p.offer(payload());
    await p.idle();
    for (let i = 0; i < 40; i++) {
      t.fireLast();
      await p.idle();
    }
    expect(p.state().failures).toBe(41);
    expect(Math.max(...t.scheduled.map((s) => s.ms))).toBeLessThan(10_000);
    agg.setMode('accept');
    t.fireLast();
    await p.idle();
    expect(outcomes.at(-1)).toBe('accepted');
    expect(p.state()).toMatchObject({ failures: 0, backingOff: false });
    await p.stop();
  });
});

describe('backoff', () => {
  it('grows exponentially from the interval and is capped', () => {
    const max = () => 0.999999;
    expect(backoffDelayMs(0, 10_000, 300_000, max)).toBe(0);
    expect(backoffDelayMs(1, 10_000, 300_000, max)).toBe(9_999);
    expect(backoffDelayMs(2, 10_000, 300_000, max)).toBe(19_999);
    expect(backoffDelayMs(3, 10_000, 300_000, max)).toBe(39_999);
    expect(backoffDelayMs(10, 10_000, 300_000, max)).toBe(299_999);
    expect(backoffDelayMs(1000, 10_000, 300_000, max)).toBe(299_999);
  });
  it('is fully jittered', () => {
    expect(backoffDelayMs(3, 10_000, 300_000, () => 0)).toBe(0);
    expect(backoffDelayMs(3, 10_000, 300_000, () => 0.25)).toBe(10_000);
  });
});

describe('report hashes', () => {
  it('hashes each section as it is now: a section sent again keeps its hash, a newer one with other data gets its own', () => {
    // #17: hashes are kept per section object (the daemon reuses the iptables and ipsets sections)
    const meta = { agentId: 'a', seq: 0, agentVersion: 'v', intervalSeconds: 30, sentAt: '2026-11-21T12:00:00.000Z' };
    const one = payload({ drops: 1 });
    const first = buildReport(one, meta, new Map(), 'all');
    const again = buildReport(one, meta, new Map(), 'all');
    for (const n of SECTION_NAMES) expect(again.sections[n].hash).toBe(hashSection(one.snapshot.sections[n]));
    expect(again.sections.iptables.hash).toBe(first.sections.iptables.hash);
    const other = payload({ drops: 9 });
    const next = buildReport(other, meta, new Map(), 'all');
    expect(next.sections.iptables.hash).toBe(hashSection(other.snapshot.sections.iptables));
    expect(next.sections.iptables.hash).not.toBe(first.sections.iptables.hash);
  });
});
