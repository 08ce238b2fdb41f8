/**
 * The agent's pusher against the real aggregator (aggregator/main.ts startAggregator) on 127.0.0.1:
 * the delta protocol end to end, including an aggregator restart that forgets every section.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createPusher } from '../../agent/push.js';
import type { PushOutcome } from '../../agent/metrics.js';
import { resolveAggregatorConfig } from '../../aggregator/config.js';
import { startAggregator } from '../../aggregator/main.js';
import { meshSnapshot } from '../../bench/aggregator-mesh.js';
import { sampleSnapshot } from './snapshot-sample.js';

const silent = pino({ level: process.env.CDC_DEBUG ? 'debug' : 'silent' });

const start = async (port = 0) => {
  const cfg = resolveAggregatorConfig({ listen: `127.0.0.1:${port === 0 ? 1 : port}`, tokenFile: '/nonexistent', kube: 'off' }, {});
  if (!cfg.ok) throw new Error(cfg.message);
  const config = { ...cfg.config, listen: { ...cfg.config.listen, port } };
  return startAggregator({ config, token: 's3cret', logger: silent, registry: new Registry(), processMetrics: false });
};

/** A pusher to the aggregator at `address` that records its outcomes and never schedules a retry by itself. */
const pusherTo = (address: string, node: string, outcomes: PushOutcome[], fetchFn?: typeof fetch) =>
  createPusher({
    aggregatorUrl: address,
    token: () => 's3cret',
    node,
    intervalSeconds: 30,
    agentVersion: '0.1.0',
    now: () => Date.now(),
    logger: silent,
    onOutcome: (o) => outcomes.push(o),
    timers: { setTimeout: () => null, clearTimeout: () => {} },
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });

// issue #3
describe('report push to the real aggregator', () => {
  it('is accepted, sends deltas, and recovers the sections a restarted aggregator asks for', async () => {
    let agg = await start();
    const port = Number(new URL(agg.address).port);
    const outcomes: PushOutcome[] = [];
    const p = pusherTo(agg.address, 'node-a', outcomes);
    try {
      p.offer({ snapshot: sampleSnapshot({ takenAt: new Date().toISOString() }), checks: [], findings: [] });
      await p.idle();
      p.offer({ snapshot: sampleSnapshot({ takenAt: new Date().toISOString() }), checks: [], findings: [] });
      await p.idle();
      expect(outcomes).toEqual(['accepted', 'accepted']);

      // restart: a new aggregator on the same port holds none of the sections the agent thinks it has
      await agg.stop();
      agg = await start(port);
      p.offer({ snapshot: sampleSnapshot({ takenAt: new Date().toISOString() }), checks: [], findings: [] });
      await p.idle();
      expect(outcomes.slice(2)).toEqual(['sections-required', 'accepted']);
      expect(p.state()).toMatchObject({ failures: 0, lastOutcome: 'accepted' });
    } finally {
      await p.stop();
      await agg.stop();
    }
  });

  it('a node joining travels as entry-level deltas, and a restarted aggregator gets full sections', async () => {
    let agg = await start();
    const port = Number(new URL(agg.address).port);
    const outcomes: PushOutcome[] = [];
    const sizes: number[] = [];
    const p = pusherTo(agg.address, 'node-00000', outcomes, async (url, init) => {
      sizes.push(String(init?.body ?? '').length);
      return fetch(url, init);
    });
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
    const push = async (n: number, round: number) => {
      p.offer({ snapshot: meshSnapshot(0, n, round), checks: [], findings: [] });
      await p.idle();
    };
    try {
      await push(60, 1);
      await push(61, 2); // a node joins
      await push(60, 3); // and leaves again
      expect(outcomes).toEqual(['accepted', 'accepted', 'accepted']);
      expect(sizes[1]!).toBeLessThan(sizes[0]! / 3);
      const held = agg.store.get('node-00000')!.report.sections;
      for (const name of ['routes', 'neighbours', 'fdb', 'ipsets'] as const) expect(plain(held[name])).toEqual(plain(meshSnapshot(0, 60, 3).sections[name]));

      await agg.stop();
      agg = await start(port);
      await push(61, 4);
      expect(outcomes.slice(3)).toEqual(['sections-required', 'accepted']);
      const again = agg.store.get('node-00000')!.report.sections;
      expect(plain(again.routes)).toEqual(plain(meshSnapshot(0, 61, 4).sections.routes));
    } finally {
      await p.stop();
      await agg.stop();
    }
  });

  // issue #17
  it('big lists travel as chunks: after a restart only the chunks the aggregator lacks carry data, and a second node sends few', async () => {
    let agg = await start();
    const port = Number(new URL(agg.address).port);
    const outcomes: PushOutcome[] = [];
    const bodies: { node: string; body: string }[] = [];
    const record = (node: string) => async (url: string | URL | Request, init?: RequestInit) => {
      bodies.push({ node, body: String(init?.body ?? '') });
      return fetch(url, init);
    };
    const p0 = pusherTo(agg.address, 'node-00000', outcomes, record('node-00000'));
    const p1 = pusherTo(agg.address, 'node-00001', outcomes, record('node-00001'));
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
    const dataChunks = (body: string) =>
      ['routes', 'neighbours', 'fdb'].reduce((n, name) => n + ((JSON.parse(body) as { sections: Record<string, { chunks?: { data?: unknown }[] }> }).sections[name]!.chunks ?? []).filter((c) => c.data).length, 0);
    const push = async (p: typeof p0, i: number, round: number) => {
      p.offer({ snapshot: meshSnapshot(i, 400, round), checks: [], findings: [] });
      await p.idle();
    };
    try {
      await push(p0, 0, 1);
      // first report: chunk hashes, a 409 naming them all, then their data
      expect(outcomes).toEqual(['sections-required', 'accepted']);
      await agg.stop();
      agg = await start(port);
      bodies.length = 0;
      await push(p0, 0, 2);
      // restarted: hashes only → 409; sections with lists as chunk hashes → 409 naming chunks; their data
      expect(outcomes.slice(2)).toEqual(['sections-required', 'sections-required', 'accepted']);
      // the middle request only asks: lists as chunk hashes, every other section as its hash
      const probe = JSON.parse(bodies.at(-2)!.body) as { sections: Record<string, { data?: unknown; chunks?: { data?: unknown }[] }> };
      expect(Object.values(probe.sections).filter((x) => x.data !== undefined)).toEqual([]);
      expect(dataChunks(bodies.at(-2)!.body)).toBe(0);
      expect(probe.sections.routes!.chunks!.length).toBeGreaterThan(1);
      const allChunks = dataChunks(bodies.at(-1)!.body);
      await push(p1, 1, 2);
      expect(outcomes.slice(5)).toEqual(['sections-required', 'accepted']);
      const fewer = dataChunks(bodies.at(-1)!.body);
      expect(fewer).toBeGreaterThan(0);
      expect(fewer).toBeLessThan(allChunks / 3);
      expect(bodies.at(-1)!.body.length).toBeLessThan(bodies.filter((b) => b.node === 'node-00000').at(-1)!.body.length / 2);
      for (const [i, name] of [[0, 'routes'], [1, 'routes'], [1, 'neighbours'], [1, 'fdb']] as const) {
        expect(plain(agg.store.get(`node-0000${i}`)!.report.sections[name])).toEqual(plain(meshSnapshot(i, 400, 2).sections[name]));
      }
    } finally {
      await p0.stop();
      await p1.stop();
      await agg.stop();
    }
  });
});
