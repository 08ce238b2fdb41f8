import { describe, expect, it } from 'vitest';
import { atMostEvery } from '../../../agent/collectors/cadence.js';
import type { Collector, CollectorConfig, Host } from '../../../agent/collectors/types.js';
import { ok, unavailable } from '../../../contract/result.js';

const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const host = {} as Host;
const context = { linkNames: null, uplinks: [] };

// #17
describe('atMostEvery: the daemon reads iptables every second snapshot', () => {
  it('returns the last result, the same object, until minAgeMs after the read started; then reads again', async () => {
    let now = 0;
    let reads = 0;
    const inner = (async () => {
      reads++;
      return ok({ reads }) as never;
    }) as Collector<'sysctls'>;
    const c = atMostEvery(inner, 45_000, () => now);
    const first = await c(host, config, context);
    now = 30_000;
    expect(await c(host, config, context)).toBe(first);
    now = 45_000;
    const third = await c(host, config, context);
    expect(third).not.toBe(first);
    expect(reads).toBe(2);
  });

  it('does not keep a failed read: the next call reads again', async () => {
    let now = 0;
    let reads = 0;
    const inner = (async () => {
      reads++;
      return reads === 1 ? unavailable('timeout', 'slow') : (ok({}) as never);
    }) as Collector<'sysctls'>;
    const c = atMostEvery(inner, 45_000, () => now);
    expect((await c(host, config, context)).status).toBe('unavailable');
    now = 1;
    expect((await c(host, config, context)).status).toBe('ok');
    expect(reads).toBe(2);
  });
});
