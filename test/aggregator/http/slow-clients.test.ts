import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CorrelationEngine } from '../../../aggregator/engine.js';
import { buildAggregatorApp } from '../../../aggregator/http/app.js';
import { createAggregatorMetrics } from '../../../aggregator/metrics.js';
import { ReportStore } from '../../../aggregator/cluster/store.js';
import type { ServerTimeouts } from '../../../common/server-timeouts.js';

const TOKEN = 'slow-client-token';
const TIMEOUTS: ServerTimeouts = { requestMs: 600, headersMs: 400, idleMs: 2_000, keepAliveMs: 500, checkEveryMs: 100 };

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const start = async () => {
  const registry = new Registry();
  const metrics = createAggregatorMetrics(registry);
  const logger = pino({ level: 'silent' });
  const store = new ReportStore();
  const clock = { now: () => Date.now(), monotonic: () => performance.now() };
  const engine = new CorrelationEngine({ store, correlate: () => ({ map: { nodes: [] }, findings: [] }), metrics, logger, clock, staleAfterIntervals: 3, debounceMs: 60_000 });
  const app = await buildAggregatorApp({ store, engine, metrics, registry, token: () => TOKEN, logger, clock, staleAfterIntervals: 3, maxConcurrentReports: 4, timeouts: TIMEOUTS });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanup.push(async () => {
    await engine.stop();
    await app.close();
  });
  return new URL(address);
};

/** Opens a report upload that announces a body and then never finishes sending it. */
const stalledUpload = (url: URL): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname, () => {
      s.write(
        `POST /v1/reports HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"node":',
      );
      s.resume(); // read what the server answers, so its close is seen
      resolve(s);
    });
    s.on('error', reject);
    cleanup.push(async () => void s.destroy());
  });

const closed = (s: Socket): Promise<void> => new Promise((r) => (s.closed ? r() : s.once('close', () => r())));

describe('aggregator HTTP server against slow clients', () => {
  // #16: four slow uploads held every ingest slot indefinitely (no request timeouts)
  it('closes uploads that stall past the request timeout and gives their ingest slots back', async () => {
    const url = await start();
    const stalled = await Promise.all([1, 2, 3, 4].map(() => stalledUpload(url)));
    const t0 = Date.now();
    await Promise.all(stalled.map(closed));
    expect(Date.now() - t0).toBeLessThan(3_000);
    // a fifth upload now gets a slot: its (invalid) body is read and answered with a 4xx
    const res = await fetch(new URL('/v1/reports', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(3_000),
    });
    expect(res.status).toBe(400);
  });

  it('closes a connection whose headers never complete', async () => {
    const url = await start();
    const s = connect(Number(url.port), url.hostname);
    cleanup.push(async () => void s.destroy());
    await new Promise((r) => s.once('connect', r));
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    let answer = '';
    s.on('data', (d) => (answer += d.toString()));
    await closed(s);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
