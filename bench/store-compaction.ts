/**
 * Store compaction benchmark (not a test; issue #3): `npm run bench:compaction -- [--nodes N]
 * [--compactions K] [--compact-above M]`.
 *
 * What it measures: the synchronous pause of ReportStore's table compaction (aggregator/store.ts
 * header). A compaction builds a new table of one kind and re-packs every node's list of that kind
 * (N × (N + 10) route ids in an N-node VXLAN mesh, ~25 M at 5000 nodes) inside the ingest() that
 * tipped the table over, so that ingest blocks the event loop for as long as it takes.
 *
 * How: in this process, no HTTP. A ReportStore (default options: compactAbove 65 536) is filled with
 * one full report per node of the bench/aggregator.ts mesh (MeshReports text, JSON.parse'd; zod is
 * skipped: the schema has no transforms, and the store takes the parsed object as is). Then routes
 * churn: round after round every node re-sends its report with only its routes section changed
 * (the other sections travel as hash only): its 8 workload /32 routes are replaced (pods
 * rescheduled: new IPs in the node's block, new cali* veth names), so each report brings 8 new
 * route entries and the previous 8 become dead. The peer routes stay those of the mesh, so every
 * node's list keeps its N − 1 peer entries and the re-pack has the full N² ids to do. Churn stops
 * after K compactions of the routes table.
 *
 * Every churn ingest is timed (performance.now() and process.cpuUsage() around store.ingest()).
 * Since issue #17 the store spreads the re-pack over the ingests after the one that began it
 * (compactStep): those are timed too, and the pause reported is the longest ingest of the
 * compaction; the sample is checked once the compaction is done.
 * Reported: the wall and CPU time of the ingest that compacted, the time inside the store's
 * compact() alone (its private method, wrapped for the run), the median and p99 of the ordinary
 * churn ingests of the same run and the ratio, and heap / array-buffer use before the compacting
 * ingest (after a forced GC when run with --expose-gc, as `npm run bench:compaction` does),
 * right after it, and after a forced GC. A sample of nodes (all of them up to 50 nodes) is checked:
 * the states held before the compaction and the ones after read the same sections.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { hashSection } from '../contract/hash.js';
import type { Report } from '../contract/report.js';
import { SECTION_NAMES, type Route, type SectionName } from '../contract/snapshot.js';
import type { NodeState } from '../aggregator/cluster/node-state.js';
import { ReportStore } from '../aggregator/cluster/store.js';
import { MeshReports } from './aggregator.js';
import { meshSnapshot, nodeName, peerRoute, toReport } from './aggregator-mesh.js';

/** Workload routes per node in the mesh (bench/aggregator-mesh.ts WORKLOADS). */
const WORKLOADS = 8;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (round: number): string => new Date(T0 + round * 30_000).toISOString();

const ipToInt = (ip: string): number => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const intToIp = (n: number): string => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** The node's own routes (default, uplink subnet, blackhole block, workload /32s) as the fill report holds them. */
const ownRoutes = (i: number): Route[] => {
  const s = meshSnapshot(i, 0, 1, {}, at(1), true).sections.routes;
  if (s.status !== 'ok') throw new Error('mesh routes section not ok');
  return s.data;
};

const isWorkloadRoute = (r: Route): boolean => r.dev !== null && r.dev.startsWith('cali') && r.dst.endsWith('/32');

/**
 * The routes section of node `i` of an `n`-node mesh in churn round `round` (≥ 2): the mesh's
 * routes with the 8 workload /32s replaced by ones no earlier round had (addresses cycle through
 * the node's /26, veth names carry the round). Fresh objects, as a parsed report would give.
 */
export const churnRoutesSection = (i: number, n: number, round: number): { status: 'ok'; data: Route[] } => {
  const block = meshSnapshot(i, 0, 1, {}, at(1), true).identity.blocks[0]!;
  const base = ipToInt(block.split('/')[0]!);
  let w = 0;
  const own = ownRoutes(i).map((r) => {
    if (!isWorkloadRoute(r)) return r;
    const k = round * WORKLOADS + w++;
    return { ...r, dst: `${intToIp(base + 2 + (k % 60))}/32`, dev: `cali${(i * 1_000_003 + k).toString(16).padStart(11, '0')}` };
  });
  const peers: Route[] = [];
  for (let j = 0; j < n; j++) if (j !== i) peers.push(peerRoute(j));
  return { status: 'ok', data: [...own, ...peers] };
};

export interface CompactionBenchOptions {
  /** nodes in the mesh (≥ 8) */
  nodes: number;
  /** stop after this many compactions of the routes table (default 1) */
  compactions?: number;
  /** the store's compactAbove (default: the store's own default, 65 536) */
  compactAbove?: number;
  /** progress lines (default: none) */
  log?: (line: string) => void;
}

export interface HeapReading {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

export interface CompactionEvent {
  round: number;
  /** index of the node whose ingest compacted */
  node: number;
  /** performance.now() when the compacting ingest started */
  startMs: number;
  /** the compacting ingest: wall and CPU (user + system, all threads) */
  ingestMs: number;
  ingestCpuMs: number;
  /** time inside the store's compact() and compactStep() during the compacting ingest (wrapped for the run) */
  compactMs: number;
  /**
   * The ingests after the compacting one while the compaction was still under way (issue #17: the
   * re-pack is spread over them): count, the longest (wall, and its CPU), all together, and the
   * time inside compactStep() in all.
   */
  transition: { count: number; maxMs: number; maxCpuMs: number; totalMs: number; stepMs: number };
  /** the longest ingest of the compaction, the compacting one or one of the transition (wall) */
  pauseMs: number;
  tableBefore: number;
  tableAfter: number;
  /** route ids re-packed (sum of every node's routes list length) */
  idsRepacked: number;
  /** the ingest ran when this benchmark predicted it would compact (heap read after a forced GC) */
  predicted: boolean;
  heapBefore: HeapReading;
  heapAfter: HeapReading;
  /** after a forced GC (null without --expose-gc) */
  heapAfterGc: HeapReading | null;
  /** ordinary churn ingests since the previous compaction (or the start of the churn) */
  ordinary: { count: number; medianMs: number; p99Ms: number; maxMs: number; medianCpuMs: number };
  /** compacting ingest wall time / median ordinary ingest wall time */
  ratio: number;
  /** nodes whose sections were read before and after and compared (JSON) */
  checked: number;
  mismatches: string[];
}

export interface CompactionBenchResult {
  nodes: number;
  compactAbove: number;
  fill: { ms: number; medianIngestMs: number; tableSizes: Record<string, number> };
  churnIngests: number;
  compactions: CompactionEvent[];
  store: ReportStore;
  /** per node, the round of the routes section the store holds (1 = the fill report) */
  rounds: number[];
}

const gc = (): boolean => {
  const f = (globalThis as { gc?: () => void }).gc;
  if (typeof f !== 'function') return false;
  f();
  return true;
};

const heap = (): HeapReading => {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss };
};

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const routesLength = (s: NodeState | undefined): number => (s?.report.sections.routes.status === 'ok' ? s.report.sections.routes.data.length : 0);

/** Wraps ReportStore.prototype.compact and compactStep (private) to time them; returns the undo. */
const timeCompact = (onCompact: (ms: number) => void): (() => void) => {
  const proto = ReportStore.prototype as unknown as Record<'compact' | 'compactStep', ((this: ReportStore, arg: unknown) => void) | undefined>;
  const originals = { compact: proto.compact, compactStep: proto.compactStep };
  for (const name of ['compact', 'compactStep'] as const) {
    const original = originals[name];
    if (typeof original !== 'function') throw new Error(`ReportStore.prototype.${name} not found: update bench/store-compaction.ts`);
    proto[name] = function (this: ReportStore, arg: unknown) {
      const t = performance.now();
      original.call(this, arg);
      onCompact(performance.now() - t);
    };
  }
  return () => {
    proto.compact = originals.compact;
    proto.compactStep = originals.compactStep;
  };
};

/** The benchmark's core: fill, churn routes until `compactions` compactions, measure each. */
export const runCompactionBench = (opts: CompactionBenchOptions): CompactionBenchResult => {
  const n = opts.nodes;
  if (!Number.isInteger(n) || n < 8) throw new Error('nodes must be an integer ≥ 8');
  const wanted = opts.compactions ?? 1;
  const log = opts.log ?? (() => {});
  const store = new ReportStore(opts.compactAbove === undefined ? {} : { compactAbove: opts.compactAbove });
  const compactAbove = opts.compactAbove ?? 0x10000;

  // fill: one full report per node
  const mesh = new MeshReports(n, {});
  const hashes: Map<SectionName, string>[] = [];
  const fillTimes: number[] = [];
  const fillStart = performance.now();
  for (let i = 0; i < n; i++) {
    const body = mesh.body(i, 1, { full: true });
    const report = JSON.parse(body.text) as Report;
    const t = performance.now();
    const res = store.ingest(report, at(1));
    fillTimes.push(performance.now() - t);
    if (res.kind !== 'accepted') throw new Error(`fill: node ${i}: ${res.kind}`);
    hashes.push(body.hashes);
    if ((i + 1) % Math.max(1, Math.floor(n / 10)) === 0) log(`fill ${i + 1}/${n} (${((performance.now() - fillStart) / 1000).toFixed(0)} s)`);
  }
  const fill = { ms: performance.now() - fillStart, medianIngestMs: quantile(fillTimes, 0.5), tableSizes: store.tableSizes() };
  log(`filled in ${(fill.ms / 1000).toFixed(1)} s; tables ${JSON.stringify(fill.tableSizes)}`);

  const sample = n <= 50 ? Array.from({ length: n }, (_, i) => i) : [0, 1, Math.floor(n / 2), n - 2, n - 1];
  const rounds = new Array<number>(n).fill(1);
  const compactions: CompactionEvent[] = [];
  let compactMs: number[] = [];
  const undo = timeCompact((ms) => compactMs.push(ms));
  let churnIngests = 0;
  let ordinary: number[] = [];
  let ordinaryCpu: number[] = [];
  let liveAfter = 0;
  // the compaction under way: the sample's states before it began, and the routes sent since
  let held: (NodeState | undefined)[] = [];
  let heldSample: number[] = [];
  let startNode = -1;
  const sinceStart = new Map<number, unknown>();
  /** The compaction is done: check the nodes read the same sections, measure, log. */
  const finish = (ev: CompactionEvent): void => {
    for (const [k, idx] of heldSample.entries()) {
      const old = held[k];
      const now = store.get(nodeName(idx));
      if (!old || !now) {
        ev.mismatches.push(`${nodeName(idx)}: missing`);
        continue;
      }
      for (const s of SECTION_NAMES) {
        const expected = sinceStart.has(idx) && s === 'routes' ? sinceStart.get(idx) : old.report.sections[s];
        if (JSON.stringify(now.report.sections[s]) !== JSON.stringify(expected)) ev.mismatches.push(`${nodeName(idx)} ${s}`);
      }
    }
    if (!heldSample.includes(startNode)) {
      const now = store.get(nodeName(startNode));
      if (JSON.stringify(now?.report.sections.routes) !== JSON.stringify(sinceStart.get(startNode))) ev.mismatches.push(`${nodeName(startNode)} routes`);
    }
    ev.checked = heldSample.length + (heldSample.includes(startNode) ? 0 : 1);
    for (const s of store.nodes()) ev.idsRepacked += routesLength(s);
    ev.tableAfter = store.tableSizes().routes;
    held = [];
    ev.heapAfterGc = gc() ? heap() : null;
    log(
      `compaction ${compactions.length}: round ${ev.round}, node ${ev.node}: compacting ingest ${ev.ingestMs.toFixed(0)} ms wall / ${ev.ingestCpuMs.toFixed(0)} ms CPU (compact() + step ${ev.compactMs.toFixed(0)} ms), ` +
        `then ${ev.transition.count} ingests while it ran (longest ${ev.transition.maxMs.toFixed(0)} ms, steps ${ev.transition.stepMs.toFixed(0)} ms in all); ` +
        `ordinary median ${ev.ordinary.medianMs.toFixed(2)} ms over ${ev.ordinary.count} → pause ratio ${(ev.pauseMs / ev.ordinary.medianMs).toFixed(0)}; table ${ev.tableBefore} → ${ev.tableAfter}; ${ev.idsRepacked} ids; mismatches ${ev.mismatches.length}`,
    );
    ev.ratio = ev.pauseMs / ev.ordinary.medianMs;
    liveAfter = ev.tableAfter;
  };
  try {
    churn: for (let round = 2; ; round++) {
      for (let i = 0; i < n; i++) {
        const routes = churnRoutesSection(i, n, round);
        const shell = toReport(meshSnapshot(i, 0, 1, {}, at(round), true), { agentId: `bench-agent-${i}`, seq: round, intervalSeconds: 30 });
        const sections = {} as Record<SectionName, { hash: string; data?: unknown }>;
        for (const s of SECTION_NAMES) sections[s] = s === 'routes' ? { hash: hashSection(routes), data: routes } : { hash: hashes[i]!.get(s)! };
        const report = { ...shell, sections } as Report;

        const size = store.tableSizes().routes;
        const wasCompacting = store.compacting.length > 0;
        // each churn report brings exactly WORKLOADS new route entries (store.ts compactIfNeeded's rule)
        const predicted = !wasCompacting && size + WORKLOADS > compactAbove && size + WORKLOADS > 2 * liveAfter;
        const before = sample.map((k) => store.get(nodeName(k)));
        if (predicted) gc();
        const heapBefore = heap();
        compactMs = [];
        const cpu0 = process.cpuUsage();
        const t = performance.now();
        const res = store.ingest(report, at(round));
        const ms = performance.now() - t;
        const cpu = process.cpuUsage(cpu0);
        const cpuMs = (cpu.user + cpu.system) / 1000;
        churnIngests++;
        if (res.kind !== 'accepted') throw new Error(`churn round ${round}: node ${i}: ${res.kind}`);
        rounds[i] = round;
        // only the checked nodes' routes are kept (a fresh 5000-route list per report adds up)
        if (wasCompacting && heldSample.includes(i)) sinceStart.set(i, routes);
        const after = store.tableSizes().routes;
        if (wasCompacting) {
          const ev = compactions[compactions.length - 1]!;
          const tr = ev.transition;
          tr.count++;
          tr.totalMs += ms;
          tr.stepMs += compactMs.reduce((a, b) => a + b, 0);
          if (ms > tr.maxMs) {
            tr.maxMs = ms;
            tr.maxCpuMs = cpuMs;
          }
          ev.pauseMs = Math.max(ev.pauseMs, ms);
          if (store.compacting.length === 0) {
            finish(ev);
            if (compactions.length >= wanted) break churn;
          }
          continue;
        }
        if (after >= size) {
          ordinary.push(ms);
          ordinaryCpu.push(cpuMs);
          if (predicted) throw new Error(`round ${round} node ${i}: a compaction was predicted and did not happen (table ${size} → ${after})`);
          continue;
        }

        // this ingest began a compaction (and at small sizes finished it)
        const heapAfter = heap();
        held = before;
        heldSample = sample;
        startNode = i;
        sinceStart.clear();
        sinceStart.set(i, routes);
        const medianMs = quantile(ordinary, 0.5);
        const ev: CompactionEvent = {
          round,
          node: i,
          startMs: t,
          ingestMs: ms,
          ingestCpuMs: cpuMs,
          compactMs: compactMs.reduce((a, b) => a + b, 0),
          transition: { count: 0, maxMs: 0, maxCpuMs: 0, totalMs: 0, stepMs: 0 },
          pauseMs: ms,
          tableBefore: size + WORKLOADS,
          tableAfter: after,
          idsRepacked: 0,
          predicted,
          heapBefore,
          heapAfter,
          heapAfterGc: null,
          ordinary: { count: ordinary.length, medianMs, p99Ms: quantile(ordinary, 0.99), maxMs: quantile(ordinary, 1), medianCpuMs: quantile(ordinaryCpu, 0.5) },
          ratio: ms / medianMs,
          checked: 0,
          mismatches: [],
        };
        compactions.push(ev);
        ordinary = [];
        ordinaryCpu = [];
        if (store.compacting.length === 0) {
          finish(ev);
          if (compactions.length >= wanted) break churn;
        }
      }
      log(`churn round ${round} done (${churnIngests} ingests, routes table ${store.tableSizes().routes})`);
    }
  } finally {
    undo();
  }
  return { nodes: n, compactAbove, fill, churnIngests, compactions, store, rounds };
};

// ---------------------------------------------------------------------------------------------
// command line

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const mib = (b: number): string => `${(b / (1 << 20)).toFixed(1)} MiB`;
const reading = (h: HeapReading | null): string => (h === null ? 'n/a (run with --expose-gc)' : `heap used ${mib(h.heapUsed)}, array buffers ${mib(h.arrayBuffers)}, RSS ${mib(h.rss)}`);

/** Milliseconds of GC pauses (PerformanceObserver 'gc' entries) that overlap [start, start + ms). */
const gcWithin = (entries: PerformanceEntry[], start: number, ms: number): { ms: number; count: number } => {
  let total = 0;
  let count = 0;
  for (const e of entries) {
    const overlap = Math.min(e.startTime + e.duration, start + ms) - Math.max(e.startTime, start);
    if (overlap > 0) {
      total += overlap;
      count++;
    }
  }
  return { ms: total, count };
};

const main = async (): Promise<void> => {
  const nodes = Number(arg('nodes') ?? '5000');
  const compactions = Number(arg('compactions') ?? '1');
  const above = arg('compact-above');
  const log = (s: string) => process.stderr.write(`[compaction n=${nodes}] ${s}\n`);
  const started = new Date().toISOString().slice(0, 16);
  const gcEntries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => gcEntries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const r = runCompactionBench({ nodes, compactions, ...(above === undefined ? {} : { compactAbove: Number(above) }), log });
  // the run is synchronous: the observer gets its entries once it has returned
  await new Promise((resolve) => setTimeout(resolve, 100));
  observer.disconnect();
  const gcs = r.compactions.map((c) => gcWithin(gcEntries, c.startMs, c.ingestMs));
  const flags = process.execArgv.join(' ');
  const lines = [
    `Command: \`node ${flags ? `${flags} ` : ''}${relative(process.cwd(), process.argv[1]!)} ${process.argv.slice(2).join(' ')}\`, ${started}Z, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]!.toFixed(1)} at the end`,
    `Fill: ${nodes} full reports in ${(r.fill.ms / 1000).toFixed(1)} s (median ingest ${r.fill.medianIngestMs.toFixed(1)} ms); tables ${JSON.stringify(r.fill.tableSizes)}; compactAbove ${r.compactAbove}`,
    '',
    '| compaction | round/node | table entries | route ids re-packed | compacting ingest | of which compact() + step | of which GC | ingests while it ran: n, longest, steps in all | longest pause | ordinary churn ingest (median / p99 / max, n) | pause ratio | heap before (GC) → right after → after GC | check |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.compactions.map(
      (c, k) =>
        `| ${k + 1} | ${c.round}/${c.node} | ${c.tableBefore} → ${c.tableAfter} | ${c.idsRepacked >= 1e6 ? `${(c.idsRepacked / 1e6).toFixed(2)} M` : c.idsRepacked} | ${c.ingestMs.toFixed(0)} ms wall, ${c.ingestCpuMs.toFixed(0)} ms CPU | ${c.compactMs.toFixed(0)} ms | ${gcs[k]!.ms.toFixed(0)} ms (${gcs[k]!.count} GCs) | ${c.transition.count}, ${c.transition.maxMs.toFixed(0)} ms wall (${c.transition.maxCpuMs.toFixed(0)} ms CPU), ${c.transition.stepMs.toFixed(0)} ms | **${c.pauseMs.toFixed(0)} ms** | ${c.ordinary.medianMs.toFixed(2)} / ${c.ordinary.p99Ms.toFixed(2)} / ${c.ordinary.maxMs.toFixed(1)} ms (${c.ordinary.count}) | ${c.ratio.toFixed(0)}× | ${mib(c.heapBefore.heapUsed)} + ${mib(c.heapBefore.arrayBuffers)} AB → ${mib(c.heapAfter.heapUsed)} + ${mib(c.heapAfter.arrayBuffers)} AB → ${c.heapAfterGc ? `${mib(c.heapAfterGc.heapUsed)} + ${mib(c.heapAfterGc.arrayBuffers)} AB` : 'n/a'} | ${c.checked} nodes, ${c.mismatches.length === 0 ? 'same sections' : `MISMATCH ${c.mismatches.join(', ')}`} |`,
    ),
    '',
    ...r.compactions.map((c, k) => `compaction ${k + 1}: before ${reading(c.heapBefore)}; right after ${reading(c.heapAfter)}; after GC ${reading(c.heapAfterGc)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (r.compactions.some((c) => c.mismatches.length > 0)) process.exitCode = 1;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
