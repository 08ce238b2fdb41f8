/**
 * The correlation engine: runs correlate() over the store and keeps the current findings.
 *
 * Design and concurrency
 * - Passes are scheduled, never run inline with a request: `notify()` (after an accepted report)
 *   arms one debounce timer (stretched to 5× the last pass duration); a periodic timer runs a pass anyway so `agent-stale` is raised when
 *   reports stop arriving. At most one pass runs at a time: a trigger during a pass sets `pending`
 *   and one more pass follows it (triggers coalesce, they never queue up).
 * - A pass reads `store.nodes()` once (NodeState objects are replaced, never mutated, by ingest),
 *   so it works on a consistent view while reports keep arriving. The only await in a pass is the
 *   datastore read, before the node list is taken.
 * - Findings of a pass replace the previous set in one assignment: findings not produced again are
 *   cleared (fixed). firstSeen is carried across passes by finding id (stampFindings); a node's
 *   local findings (from its report) keep the earliest firstSeen seen.
 * - A pass first forgets nodes that are gone (no report for `forgetAfterMs`, or stale and no longer
 *   in the datastore), so deleted nodes do not stay stale forever nor keep their metric series.
 * - The correlate cache (cluster/cluster.ts ClusterCache) lives as long as the engine: a steady
 *   pass recomputes only nodes whose per-peer sections changed.
 * - Time comes from the injected clock; the pass duration is measured with its monotonic reading.
 */
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { ClusterMap } from '../contract/cluster.js';
import { bySeverity, stampFindings, type Finding, type FindingDraft } from '../contract/finding.js';
import { createClusterCache } from './cluster/cluster.js';
import { nodeIsStale, type NodeState } from './cluster/node-state.js';
import type { CorrelateInput, DatastoreView } from './correlate/types.js';
import { forgetNode, recordFindings, recordNodeStates, type AggregatorMetrics } from './metrics.js';
import type { ReportStore } from './cluster/store.js';
import { remedyForLocalRule } from '../common/remedies.js';

export type CorrelateFn = (input: CorrelateInput) => { map: ClusterMap; findings: FindingDraft[] };

export interface EngineOptions {
  store: ReportStore;
  correlate: CorrelateFn;
  metrics: AggregatorMetrics;
  logger: Logger;
  clock: Clock;
  staleAfterIntervals: number;
  /** wait this long after a report before a pass, so a burst of reports makes one pass */
  debounceMs?: number;
  /** a pass at least this often (agent-stale) */
  periodicMs?: number;
  /** the datastore view, when the aggregator reads Kubernetes; undefined when unavailable */
  datastore?: () => Promise<DatastoreView | undefined>;
  /** rule ids whose finding gauges are exported as 0 when nothing fires */
  ruleIds?: readonly string[];
  /**
   * forget a node (store entry and its metric series) after this long without a report, or as
   * soon as it is stale and the datastore no longer lists it (node deleted); default 24 h
   */
  forgetAfterMs?: number;
}

export interface PassSummary {
  at: string;
  durationMs: number;
  nodes: number;
  findings: number;
  cleared: number;
}


const byImportance = (a: Finding, b: Finding): number =>
  bySeverity(a, b) || a.rule.localeCompare(b.rule) || a.node.localeCompare(b.node) || a.id.localeCompare(b.id);

/** Correlation findings (stamped) merged with each node's local findings; pure. */
export const mergeFindings = (drafts: readonly FindingDraft[], nodes: readonly NodeState[], previous: readonly Finding[], now: string): Finding[] => {
  const byId = new Map<string, Finding>();
  for (const f of stampFindings(drafts, previous, now)) byId.set(f.id, f);
  const before = new Map(previous.map((f) => [f.id, f]));
  for (const n of nodes) {
    for (const f of n.report.findings) {
      if (byId.has(f.id)) continue;
      const prev = before.get(f.id);
      const firstSeen = prev && Date.parse(prev.firstSeen) < Date.parse(f.firstSeen) ? prev.firstSeen : f.firstSeen;
      // #16: what a responder is told to run comes from our catalogue, not from the report
      byId.set(f.id, { ...f, firstSeen, remedy: remedyForLocalRule(f.rule) });
    }
  }
  return [...byId.values()].sort(byImportance);
};

export class CorrelationEngine {
  private current: Finding[] = [];
  private map: ClusterMap = { nodes: [] };
  private last: PassSummary | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private debounce: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastExpected: number | null = null;
  /** per-rule results carried across passes; only this engine's passes touch it (one at a time) */
  private readonly cache = createClusterCache();
  private readonly log: Logger;

  constructor(private readonly o: EngineOptions) {
    this.log = o.logger.child({ component: 'engine' });
  }

  findings(): readonly Finding[] {
    return this.current;
  }
  clusterMap(): ClusterMap {
    return this.map;
  }
  lastPass(): PassSummary | undefined {
    return this.last;
  }

  /** Start the periodic pass. */
  start(): void {
    if (this.periodic || this.stopped) return;
    this.periodic = setInterval(() => void this.trigger(), this.o.periodicMs ?? 15_000);
    this.periodic.unref();
  }

  /**
   * A report was accepted: run a pass soon. The wait is the debounce, or 5× the last pass's
   * duration when that is longer, so that with reports arriving all the time (5000 nodes every
   * 30 s is 160 reports/s) correlation takes at most about a sixth of a core.
   */
  notify(): void {
    if (this.stopped || this.debounce) return;
    const wait = Math.max(this.o.debounceMs ?? 1000, (this.last?.durationMs ?? 0) * 5);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.trigger();
    }, wait);
    this.debounce.unref();
  }

  /** Run a pass now, or after the running one; resolves when no pass is running or pending. */
  trigger(): Promise<void> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.pending = false;
          try {
            await this.pass();
          } catch (err) {
            this.log.error({ err }, 'correlation pass failed');
          }
        } while (this.pending && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.periodic) clearInterval(this.periodic);
    this.debounce = this.periodic = undefined;
    await this.running;
  }

  /** Node counts for /v1/nodes and the nodes gauge. */
  nodeCounts(nowMs = this.o.clock.now()): { reporting: number; stale: number; expected: number | null } {
    let stale = 0;
    const all = this.o.store.nodes();
    for (const n of all) if (nodeIsStale(n, nowMs, this.o.staleAfterIntervals)) stale++;
    return { reporting: all.length - stale, stale, expected: this.lastExpected };
  }

  private forgetGone(nowMs: number, datastore: DatastoreView | undefined): void {
    const forgetAfter = this.o.forgetAfterMs ?? 24 * 3600_000;
    const listed = datastore ? new Set(datastore.nodes.map((n) => n.name)) : undefined;
    for (const s of this.o.store.nodes()) {
      const silentMs = nowMs - Date.parse(s.receivedAt);
      const deleted = listed !== undefined && !listed.has(s.node) && nodeIsStale(s, nowMs, this.o.staleAfterIntervals);
      if (silentMs <= forgetAfter && !deleted) continue;
      this.o.store.remove(s.node);
      forgetNode(this.o.metrics, s.node);
      this.log.info({ node: { name: s.node, lastReport: s.receivedAt, reason: deleted ? 'not in the datastore' : 'no report for too long' } }, 'node forgotten');
    }
  }

  private async pass(): Promise<void> {
    const { clock, metrics } = this.o;
    let datastore: DatastoreView | undefined;
    if (this.o.datastore) {
      try {
        datastore = await this.o.datastore();
      } catch (err) {
        this.log.warn({ err }, 'datastore read failed; correlating without it');
      }
    }
    const started = clock.monotonic();
    const nowMs = clock.now();
    const now = new Date(nowMs).toISOString();
    this.forgetGone(nowMs, datastore);
    const nodes = this.o.store.nodes();
    const { map, findings: drafts } = this.o.correlate({ nodes, now, staleAfterIntervals: this.o.staleAfterIntervals, datastore, cache: this.cache });
    const next = mergeFindings(drafts, nodes, this.current, now);
    const nextIds = new Set(next.map((f) => f.id));
    const cleared = this.current.filter((f) => !nextIds.has(f.id));
    const prevIds = new Set(this.current.map((f) => f.id));
    const raised = next.filter((f) => !prevIds.has(f.id));
    this.current = next;
    this.map = map;
    this.lastExpected = datastore ? datastore.nodes.length : null;
    const durationMs = clock.monotonic() - started;
    metrics.correlationDuration.observe(durationMs / 1000);
    recordFindings(metrics, next, this.o.ruleIds);
    recordNodeStates(metrics, this.nodeCounts(nowMs));
    this.last = { at: now, durationMs, nodes: nodes.length, findings: next.length, cleared: cleared.length };
    const sample = (fs: Finding[]) => fs.slice(0, 20).map((f) => f.id);
    if (raised.length > 0 || cleared.length > 0) {
      this.log.info({ pass: this.last, raised: { count: raised.length, ids: sample(raised) }, cleared: { count: cleared.length, ids: sample(cleared) } }, 'findings changed');
    } else {
      this.log.debug({ pass: this.last }, 'correlation pass');
    }
  }
}
