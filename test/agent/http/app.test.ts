import type { FastifyPluginAsync } from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildAgentApp, type LatestState } from '../../../agent/http/app.js';
import { createAgentMetrics } from '../../../agent/metrics.js';
import { sampleFinding, sampleSnapshot } from '../snapshot-sample.js';

const T0 = Date.parse('2026-11-21T12:00:05.000Z');
const state: LatestState = { snapshot: sampleSnapshot(), checks: [{ rule: 'tunnel-mtu', status: 'finding' }], findings: [sampleFinding()], completedAt: T0 };

const build = (over: { latest?: LatestState | null; now?: number; extraRoutes?: FastifyPluginAsync[] } = {}) => {
  const registry = new Registry();
  const metrics = createAgentMetrics(registry, { defaultMetrics: false });
  metrics.observeSnapshot(state.snapshot);
  return buildAgentApp({
    logger: pino({ level: 'silent' }),
    registry,
    token: () => 's3cret',
    latest: () => (over.latest === undefined ? state : over.latest),
    now: () => over.now ?? T0 + 2500,
    staleAfterMs: 60_000,
    ...(over.extraRoutes ? { extraRoutes: over.extraRoutes } : {}),
  });
};
const auth = { authorization: 'Bearer s3cret' };

// issue #2
describe('agent HTTP API', () => {
  it('GET /healthz needs no token and gives the snapshot age', async () => {
    const res = await build().inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', snapshotAgeSeconds: 2.5, lastSnapshotAt: '2026-11-21T12:00:00.000Z', node: 'node-a' });
  });

  it('GET /healthz is 503 before the first snapshot and when the loop is wedged', async () => {
    const starting = await build({ latest: null }).inject({ method: 'GET', url: '/healthz' });
    expect(starting.statusCode).toBe(503);
    expect(starting.json()).toMatchObject({ status: 'starting' });
    const stale = await build({ now: T0 + 61_000 }).inject({ method: 'GET', url: '/healthz' });
    expect(stale.statusCode).toBe(503);
    expect(stale.json()).toMatchObject({ status: 'stale', snapshotAgeSeconds: 61 });
  });

  it('GET /metrics serves the registry it was given', async () => {
    const res = await build().inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('calico_diag_agent_collector_runs_total{collector="links",outcome="ok"} 1');
  });

  it('GET /v1/snapshot requires the bearer token', async () => {
    const app = build();
    expect((await app.inject({ method: 'GET', url: '/v1/snapshot' })).statusCode).toBe(401);
    const wrong = await app.inject({ method: 'GET', url: '/v1/snapshot', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    const res = await app.inject({ method: 'GET', url: '/v1/snapshot', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.snapshot.node).toBe('node-a');
    expect(body.checks).toEqual(state.checks);
    expect(body.findings).toHaveLength(1);
  });

  it('GET /v1/snapshot is a coded 404 before the first snapshot', async () => {
    const res = await build({ latest: null }).inject({ method: 'GET', url: '/v1/snapshot', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND', message: 'no snapshot taken yet' });
  });

  it('registers extra routes (captures/probes) behind the same auth', async () => {
    const extra: FastifyPluginAsync = async (app) => {
      app.post('/v1/probes', async () => ({ probed: true }));
    };
    const app = build({ extraRoutes: [extra] });
    expect((await app.inject({ method: 'POST', url: '/v1/probes', payload: {} })).statusCode).toBe(401);
    const res = await app.inject({ method: 'POST', url: '/v1/probes', payload: {}, headers: auth });
    expect(res.json()).toEqual({ probed: true });
  });

  it('answers unknown routes with a coded 404', async () => {
    const res = await build().inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('agent HTTP server timeouts', () => {
  // #16: no request timeouts: a client that never finishes its request held the socket forever
  it('answers 408 and closes a connection whose request never completes', async () => {
    const registry = new Registry();
    const app = buildAgentApp({
      logger: pino({ level: 'silent' }),
      registry,
      token: () => 's3cret',
      latest: () => state,
      now: () => T0,
      staleAfterMs: 60_000,
      timeouts: { requestMs: 500, headersMs: 300, idleMs: 2_000, keepAliveMs: 500, checkEveryMs: 100 },
    });
    const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    try {
      const { connect } = await import('node:net');
      const s = connect(Number(address.port), address.hostname);
      let answer = '';
      s.on('data', (d) => (answer += d.toString()));
      await new Promise((r) => s.once('connect', r));
      s.write('GET /v1/snapshot HTTP/1.1\r\nHost: x\r\n');
      await new Promise((r) => s.once('close', r));
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await app.close();
    }
  });
});

describe('agent credentials', () => {
  // #16: with node identities the aggregator calls an agent with that node's own key
  it('opens /v1 to the agent key the aggregator gave, as to the token', async () => {
    let key = '';
    const app = buildAgentApp({ logger: pino({ level: 'silent' }), registry: new Registry(), token: () => 's3cret', agentKey: () => key, latest: () => state, now: () => T0, staleAfterMs: 60_000 });
    const get = (token: string) => app.inject({ method: 'GET', url: '/v1/snapshot', headers: { authorization: `Bearer ${token}` } });
    expect((await get('node-key')).statusCode).toBe(401);
    key = 'node-key';
    expect((await get('node-key')).statusCode).toBe(200);
    expect((await get('s3cret')).statusCode).toBe(200);
    expect((await get('other-node-key')).statusCode).toBe(401);
  });
});
