/**
 * Fuzz over the report contract (#16): mutations of real reports posted to the real aggregator app
 * must never throw out of it and never answer 5xx. Seeds: a report built from the lab's recorded
 * kernel outputs through the agent's own parsers, a full mesh report and a delta report. Mutations
 * are structural (drop, replace, retype, grow or nest a value; plant control characters) and
 * textual (truncate, flip a byte). A seeded generator makes every failure reproducible by its case
 * number.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { labNode1Report } from '../../helpers/lab-report.js';
import { ackedOf, meshSnapshot, toReport } from '../../../bench/aggregator-mesh.js';
import { correlate } from '../../../aggregator/correlate/index.js';
import { CorrelationEngine } from '../../../aggregator/engine.js';
import { buildAggregatorApp } from '../../../aggregator/http/app.js';
import { createAggregatorMetrics } from '../../../aggregator/metrics.js';
import { ReportStore } from '../../../aggregator/cluster/store.js';
import { mulberry32 as rng } from '../../../bench/prng.js';

const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
const TOKEN = 'fuzz-token';


const HOSTILE: unknown[] = [
  null, -1, 0, 1.5, 1e308, -0, 2 ** 53 + 2, '', 'x'.repeat(70_000), '\u001b[2J\u001b[31mRED\u0007', 'a\u0000b', '../../etc/passwd',
  'http://169.254.169.254/latest/', true, [], {}, JSON.parse('['.repeat(20) + ']'.repeat(20)) as unknown, JSON.parse('{"__proto__":{"polluted":1}}') as unknown, { constructor: { prototype: { x: 1 } } },
  'node-00001', 'NODE_WITH_CAPS', '2026-13-45T99:99:99Z', Array.from({ length: 300 }, (_, i) => i),
];

type Json = unknown;
/** every container path in v, sampled: [parent, key] pairs */
const places = (v: Json, out: [Record<string, Json> | Json[], string | number][] = [], depth = 0): typeof out => {
  if (depth > 10 || v === null || typeof v !== 'object') return out;
  const keys = Array.isArray(v) ? v.map((_, i) => i).slice(0, 8) : Object.keys(v);
  for (const k of keys) {
    out.push([v as Record<string, Json>, k]);
    places((v as Record<string | number, Json>)[k], out, depth + 1);
  }
  return out;
};

const mutate = (seedText: string, r: () => number): string => {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const kind = r();
  if (kind < 0.15) {
    // textual: truncate or flip one character
    const at = Math.floor(r() * seedText.length);
    return r() < 0.5 ? seedText.slice(0, at) : seedText.slice(0, at) + String.fromCharCode(Math.floor(r() * 128)) + seedText.slice(at + 1);
  }
  const v = JSON.parse(seedText) as Json;
  const all = places(v);
  for (let n = 1 + Math.floor(r() * 3); n > 0; n--) {
    const [parent, key] = pick(all);
    const p = parent as Record<string | number, Json>;
    const m = r();
    if (m < 0.25) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete p[key];
    } else if (m < 0.7) p[key] = pick(HOSTILE);
    else if (m < 0.8) p[key] = [p[key], p[key]];
    else if (m < 0.9) p[key] = { wrapped: p[key] };
    else p[key] = typeof p[key] === 'string' ? `${p[key] as string}\u001b]8;;x\u0007` : String(p[key]);
  }
  const text = JSON.stringify(v);
  return r() < 0.05 ? text.replace('{', `${'{"d":'.repeat(200)}{`) : text;
};

describe('report contract fuzz', () => {
  it(`${CASES} mutated real reports: no uncaught exception, no 5xx`, async () => {
    const registry = new Registry();
    const metrics = createAggregatorMetrics(registry);
    const logger = pino({ level: 'silent' });
    const store = new ReportStore();
    const clock = { now: () => Date.parse('2026-01-01T00:00:30.000Z'), monotonic: () => performance.now() };
    const engine = new CorrelationEngine({ store, correlate, metrics, logger, clock, staleAfterIntervals: 3, debounceMs: 60_000 });
    const app = await buildAggregatorApp({ store, engine, metrics, registry, token: () => TOKEN, logger, clock, staleAfterIntervals: 3 });
    const mesh = toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-mesh0001', seq: 1 });
    const delta = toReport(meshSnapshot(0, 4, 2), { agentId: 'agent-mesh0001', seq: 2 }, ackedOf(mesh));
    const seeds = [JSON.stringify(labNode1Report()), JSON.stringify(mesh), JSON.stringify(delta)];
    const r = rng(16);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    try {
      for (let i = 0; i < CASES; i++) {
        const body = mutate(seeds[i % seeds.length]!, r);
        const res = await app.inject({ method: 'POST', url: '/v1/reports', payload: body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500 && failures.length < 5) failures.push(`case ${i}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        if (i % 5000 === 4999) {
          await engine.trigger();
          const f = await app.inject({ method: 'GET', url: '/v1/findings', headers: { authorization: `Bearer ${TOKEN}` } });
          if (f.statusCode !== 200 && failures.length < 5) failures.push(`findings after case ${i}: ${f.statusCode} ${f.body.slice(0, 200)}`);
        }
      }
    } finally {
      await engine.stop();
      await app.close();
    }
    expect(failures).toEqual([]);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    // the mutations reach past the parser: some are accepted, most are refused with a 4xx
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(CASES / 4);
  }, 600_000);
});
