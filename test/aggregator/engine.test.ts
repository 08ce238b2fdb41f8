import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { meshSnapshot, toReport } from '../../bench/aggregator-mesh.js';
import type { Finding, FindingDraft } from '../../contract/finding.js';
import { Report } from '../../contract/report.js';
import type { CorrelateInput } from '../../aggregator/correlate/types.js';
import type { Clock } from '../../common/clock.js';
import { CorrelationEngine, mergeFindings, type CorrelateFn } from '../../aggregator/engine.js';
import { createAggregatorMetrics, recordNodeReport } from '../../aggregator/metrics.js';
import { ReportStore } from '../../aggregator/cluster/store.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const draft = (node: string, rule: string, peer?: string): FindingDraft => ({
  rule,
  severity: 'critical',
  node,
  ...(peer ? { peer } : {}),
  summary: `${rule} on ${node}`,
  evidence: { seen: 'a', expected: 'b', details: {} },
  remedy: 'r',
});

const localFinding = (node: string, firstSeen: string): Finding => ({
  id: `felix-not-ready/${node}//`,
  rule: 'felix-not-ready',
  severity: 'warning',
  node,
  summary: 'Felix is not ready',
  evidence: { seen: 'not-ready', expected: 'ready', details: {} },
  remedy: 'check calico-node logs',
  firstSeen,
  lastSeen: firstSeen,
});

const setup = (correlate: CorrelateFn, extra: Partial<ConstructorParameters<typeof CorrelationEngine>[0]> = {}) => {
  let t = T0;
  const clock: Clock & { advance(ms: number): void } = { now: () => t, monotonic: () => t, advance: (ms) => void (t += ms) };
  const registry = new Registry();
  const metrics = createAggregatorMetrics(registry);
  const store = new ReportStore();
  const engine = new CorrelationEngine({ store, correlate, metrics, logger: pino({ level: 'silent' }), clock, staleAfterIntervals: 3, debounceMs: 1000, periodicMs: 15_000, ...extra });
  const add = (i: number, seq: number, findings: Finding[] = []) => {
    const r = Report.parse({ ...toReport(meshSnapshot(i, 3, seq), { agentId: 'agent-aaaaaaaa', seq }), findings });
    expect(store.ingest(r, new Date(t).toISOString()).kind).toBe('accepted');
    recordNodeReport(metrics, store.get(r.node)!.report, t);
  };
  return { engine, store, clock, registry, add };
};

let engines: CorrelationEngine[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const e of engines) await e.stop();
  engines = [];
});

describe('aggregator/engine', () => {
  it('keeps firstSeen across passes, moves lastSeen, clears fixed findings', async () => {
    let bad = ['node-00000', 'node-00001'];
    const { engine, clock, add } = setup(() => ({ map: { nodes: [] }, findings: bad.map((n) => draft(n, 'route-missing', 'node-00002')) }));
    engines.push(engine);
    add(0, 1);
    add(1, 1);
    await engine.trigger();
    expect(engine.findings().map((f) => f.firstSeen)).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    clock.advance(30_000);
    bad = ['node-00001'];
    await engine.trigger();
    expect(engine.findings()).toHaveLength(1);
    expect(engine.findings()[0]).toMatchObject({ node: 'node-00001', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:30.000Z' });
    expect(engine.lastPass()).toMatchObject({ findings: 1, cleared: 1, nodes: 2 });
  });

  // issue #3
  it('hands correlate one cache that lives across passes (steady passes reuse per-node results)', async () => {
    const caches: unknown[] = [];
    const { engine, add } = setup((input) => {
      caches.push(input.cache);
      return { map: { nodes: [] }, findings: [] };
    });
    engines.push(engine);
    add(0, 1);
    await engine.trigger();
    await engine.trigger();
    expect(caches).toHaveLength(2);
    expect(caches[0]).toBeDefined();
    expect(caches[1]).toBe(caches[0]);
  });

  it('passes the nodes, time, stale threshold and datastore view to correlate', async () => {
    const seen: CorrelateInput[] = [];
    const view = { nodes: [{ name: 'node-00000', internalIPs: ['172.16.0.1'] }], calicoNodePods: [], ipPools: [], blockAffinities: [] };
    const { engine, add, registry } = setup(
      (input) => {
        seen.push(input);
        return { map: { nodes: [] }, findings: [] };
      },
      { datastore: async () => view },
    );
    engines.push(engine);
    add(0, 1);
    await engine.trigger();
    expect(seen[0]).toMatchObject({ now: '2026-01-01T00:00:00.000Z', staleAfterIntervals: 3, datastore: view });
    expect(seen[0]!.nodes.map((n) => n.node)).toEqual(['node-00000']);
    expect(await registry.getSingleMetricAsString('calico_diag_nodes')).toMatch(/state="expected"} 1/);
  });

  it('correlates without the datastore when reading it fails', async () => {
    const seen: CorrelateInput[] = [];
    const { engine, add } = setup(
      (input) => {
        seen.push(input);
        return { map: { nodes: [] }, findings: [] };
      },
      {
        datastore: async () => {
          throw new Error('apiserver down');
        },
      },
    );
    engines.push(engine);
    add(0, 1);
    await engine.trigger();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.datastore).toBeUndefined();
  });

  it('measures the pass with the injected clock', async () => {
    const holder: { clock?: { advance(ms: number): void } } = {};
    const { engine, clock, add, registry } = setup(() => {
      holder.clock?.advance(250);
      return { map: { nodes: [] }, findings: [] };
    });
    holder.clock = clock;
    engines.push(engine);
    add(0, 1);
    await engine.trigger();
    expect(engine.lastPass()?.durationMs).toBe(250);
    expect(await registry.getSingleMetricAsString('calico_diag_correlation_duration_seconds')).toMatch(/_sum 0.25/);
  });

  it('runs one pass at a time and coalesces triggers made during a pass', async () => {
    let running = 0;
    let maxRunning = 0;
    let passes = 0;
    let release: (() => void) | undefined;
    const { engine, add } = setup(() => ({ map: { nodes: [] }, findings: [] }), {
      datastore: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        passes++;
        await new Promise<void>((r) => (release = r));
        running--;
        return undefined;
      },
    });
    engines.push(engine);
    add(0, 1);
    const first = engine.trigger();
    await vi.waitFor(() => expect(release).toBeDefined());
    void engine.trigger();
    void engine.trigger();
    void engine.trigger();
    const r1 = release!;
    release = undefined;
    r1();
    await vi.waitFor(() => expect(release).toBeDefined());
    release!();
    await first;
    expect(passes).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('debounces notifications into one pass and runs a periodic pass', async () => {
    vi.useFakeTimers();
    let passes = 0;
    const { engine, add } = setup(() => {
      passes++;
      return { map: { nodes: [] }, findings: [] };
    });
    engines.push(engine);
    add(0, 1);
    for (let i = 0; i < 50; i++) engine.notify();
    expect(passes).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(passes).toBe(1);
    engine.start();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(passes).toBe(2);
    await engine.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(passes).toBe(2);
  });

  it('waits 5× the last pass duration when that is longer than the debounce', async () => {
    vi.useFakeTimers();
    let passes = 0;
    const holder: { clock?: { advance(ms: number): void } } = {};
    const { engine, add, clock } = setup(() => {
      passes++;
      holder.clock?.advance(2000); // a 2 s pass (monotonic clock)
      return { map: { nodes: [] }, findings: [] };
    });
    holder.clock = clock;
    engines.push(engine);
    add(0, 1);
    await engine.trigger();
    expect(passes).toBe(1);
    engine.notify();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(passes).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(passes).toBe(2);
  });

  it('forgets nodes gone from the datastore once stale, and nodes silent for too long', async () => {
    let listed = ['node-00000', 'node-00001', 'node-00002'];
    const { engine, add, clock, store, registry } = setup(() => ({ map: { nodes: [] }, findings: [] }), {
      datastore: async () => ({ nodes: listed.map((name) => ({ name, internalIPs: [] })), calicoNodePods: [], ipPools: [], blockAffinities: [] }),
      forgetAfterMs: 3600_000,
    });
    engines.push(engine);
    add(0, 1);
    add(1, 1);
    add(2, 1);
    listed = ['node-00000', 'node-00002'];
    await engine.trigger();
    // node-00001 is not listed but still reporting (not stale): kept
    expect(store.size).toBe(3);
    expect(await registry.getSingleMetricAsString('calico_diag_node_last_report_timestamp_seconds')).toMatch(/node-00001/);
    clock.advance(91_000); // > 3 × 30 s
    add(0, 2);
    await engine.trigger();
    expect(store.nodes().map((n) => n.node).sort()).toEqual(['node-00000', 'node-00002']);
    expect(await registry.getSingleMetricAsString('calico_diag_node_last_report_timestamp_seconds')).not.toMatch(/node-00001/);
    clock.advance(3600_000);
    add(0, 3);
    await engine.trigger();
    // node-00002 is listed but silent for more than an hour
    expect(store.nodes().map((n) => n.node)).toEqual(['node-00000']);
  });

  it('keeps running after a failing pass', async () => {
    let fail = true;
    const { engine, add } = setup(() => {
      if (fail) throw new Error('boom');
      return { map: { nodes: [] }, findings: [draft('node-00000', 'block-conflict')] };
    });
    engines.push(engine);
    add(0, 1);
    await engine.trigger();
    expect(engine.findings()).toEqual([]);
    fail = false;
    await engine.trigger();
    expect(engine.findings()).toHaveLength(1);
  });

  it("merges the nodes' local findings and keeps the earliest firstSeen", async () => {
    const { engine, add, clock, store } = setup(() => ({ map: { nodes: [] }, findings: [draft('node-00001', 'vxlan-fdb-mismatch', 'node-00000')] }));
    engines.push(engine);
    add(0, 1, [localFinding('node-00000', '2025-12-31T23:59:00.000Z')]);
    add(1, 1);
    await engine.trigger();
    expect(engine.findings().map((f) => f.rule)).toEqual(['vxlan-fdb-mismatch', 'felix-not-ready']);
    // the agent restarted and lost its own firstSeen: the aggregator keeps the earlier one
    clock.advance(60_000);
    store.ingest(Report.parse({ ...toReport(meshSnapshot(0, 3, 2), { agentId: 'agent-bbbbbbbb', seq: 0 }), findings: [localFinding('node-00000', '2026-01-01T00:01:00.000Z')] }), '2026-01-01T00:01:00.000Z');
    await engine.trigger();
    expect(engine.findings().find((f) => f.rule === 'felix-not-ready')?.firstSeen).toBe('2025-12-31T23:59:00.000Z');
  });

  it('mergeFindings lets a correlation finding win over a local one with the same id', () => {
    const local = { ...localFinding('node-00000', '2026-01-01T00:00:00.000Z'), id: 'agent-stale/node-00000//', rule: 'agent-stale' };
    const nodes = [{ node: 'node-00000', receivedAt: '2026-01-01T00:00:00.000Z', report: { findings: [local] } }] as never;
    const merged = mergeFindings([draft('node-00000', 'agent-stale')], nodes, [], '2026-01-01T00:05:00.000Z');
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ severity: 'critical', firstSeen: '2026-01-01T00:05:00.000Z' });
  });
});
