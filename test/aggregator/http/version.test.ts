/**
 * GET /v1/version (issue #13: `calico-diag version` shows the aggregator's and the agents' versions)
 * and the X-Calico-Diag-Token header the kubectl plugin uses through the API server's service proxy.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { meshSnapshot, toReport } from '../../../bench/aggregator-mesh.js';
import { CorrelationEngine } from '../../../aggregator/engine.js';
import { buildAggregatorApp } from '../../../aggregator/http/app.js';
import { createAggregatorMetrics } from '../../../aggregator/metrics.js';
import { ReportStore } from '../../../aggregator/cluster/store.js';

const TOKEN = 'version-test-token';
const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

const setup = async () => {
  const registry = new Registry();
  const metrics = createAggregatorMetrics(registry);
  const logger = pino({ level: 'silent' });
  const store = new ReportStore();
  const clock = { now: () => Date.parse('2026-01-01T00:01:00.000Z'), monotonic: () => 0 };
  const engine = new CorrelationEngine({ store, correlate: () => ({ map: { nodes: [] }, findings: [] }), metrics, logger, clock, staleAfterIntervals: 3, debounceMs: 60_000 });
  const app = await buildAggregatorApp({ store, engine, metrics, registry, token: () => TOKEN, logger, clock, staleAfterIntervals: 3, version: '1.2.3' });
  apps.push({
    close: async () => {
      await engine.stop();
      await app.close();
    },
  });
  const push = async (i: number, agentVersion: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/reports',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      payload: JSON.stringify({ ...toReport(meshSnapshot(i, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 }), agentVersion }),
    });
    expect(res.statusCode).toBe(200);
  };
  return { app, push };
};

describe('aggregator GET /v1/version', () => {
  it('answers its version and how many nodes report each agent version, most common first', async () => {
    const { app, push } = await setup();
    await push(0, '1.2.3');
    await push(1, '1.2.2');
    await push(2, '1.2.3');
    const res = await app.inject({ method: 'GET', url: '/v1/version', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ version: '1.2.3', agents: [{ version: '1.2.3', nodes: 2 }, { version: '1.2.2', nodes: 1 }] });
  });

  it('needs the token like every /v1 route', async () => {
    const { app } = await setup();
    expect((await app.inject({ method: 'GET', url: '/v1/version' })).statusCode).toBe(401);
  });
});

describe('aggregator token in X-Calico-Diag-Token (the API server proxy drops Authorization)', () => {
  it('accepts the token in X-Calico-Diag-Token and refuses a wrong or empty one', async () => {
    const { app } = await setup();
    const get = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/v1/findings', headers });
    expect((await get({ 'x-calico-diag-token': TOKEN })).statusCode).toBe(200);
    expect((await get({ 'x-calico-diag-token': 'wrong' })).statusCode).toBe(401);
    expect((await get({ 'x-calico-diag-token': '' })).statusCode).toBe(401);
    // a wrong Authorization header is not rescued by a right X-Calico-Diag-Token: the bearer is read first
    expect((await get({ authorization: 'Bearer wrong', 'x-calico-diag-token': TOKEN })).statusCode).toBe(401);
  });
});
