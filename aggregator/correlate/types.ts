/**
 * The input every correlation rule reads: each node's latest report with its sections resolved
 * (the store has turned hash-only sections back into data), and the time passed in.
 */
import { isStale } from '../../common/staleness.js';
import type { FindingDraft } from '../../contract/finding.js';
import type { Report } from '../../contract/report.js';
import type { Sections } from '../../contract/snapshot.js';

export type ResolvedReport = Omit<Report, 'sections'> & { sections: Sections };

/** Whether the node's latest report is too old (common/staleness.ts: an unreadable time is stale). */
export const nodeIsStale = (s: NodeState, nowMs: number, staleAfterIntervals: number): boolean => isStale(s.receivedAt, s.report.intervalSeconds, staleAfterIntervals, nowMs);

export interface NodeState {
  node: string;
  /** when the aggregator accepted the latest report (ISO 8601) */
  receivedAt: string;
  report: ResolvedReport;
  /** the report before the latest one, when kept (for counters that must rise between reports) */
  previous?: ResolvedReport;
}

/** What the Kubernetes / Calico datastore says, when the aggregator runs in a cluster. */
export interface DatastoreView {
  /** Kubernetes node names */
  nodes: { name: string; internalIPs: string[] }[];
  /** calico-node pods per node */
  calicoNodePods: { node: string; name: string; ready: boolean; restarts: number }[];
  ipPools: { name: string; cidr: string; blockSize: number; vxlanMode: string; ipipMode: string; disabled: boolean; natOutgoing: boolean }[];
  blockAffinities: { node: string; cidr: string; state: string }[];
  /**
   * Parts that could not be read (e.g. the Calico CRDs are absent with an etcd datastore): their
   * arrays above are empty and rules reading them do not run. Absent means every part was read.
   */
  missing?: { part: DatastorePart; reason: string }[];
}

export type DatastorePart = 'nodes' | 'calicoNodePods' | 'ipPools' | 'blockAffinities';

/** True when the datastore is present and `part` of it was read. */
export const hasDatastorePart = (ds: DatastoreView | undefined, part: DatastorePart): ds is DatastoreView =>
  ds !== undefined && !(ds.missing ?? []).some((m) => m.part === part);

/**
 * Optional memo a caller keeps across passes (the aggregator's engine: one per process). Per rule
 * and per node it holds the result computed from that node's per-peer list (keyed by the store's
 * packed list, see common.ts EntryList, or by the plain data array / ipsets data of a hand-built
 * NodeState); the store hands out the same object while a section's hash is unchanged, so a
 * steady-state pass recomputes only the nodes whose per-peer sections changed. Every entry is
 * dropped when the cluster's truth (the fingerprint of who owns which node IP, tunnel IP, VTEP MAC
 * and block, and who is fresh) changes. Held in WeakMaps keyed by those objects: replaced ones
 * are collected with their results.
 */
export interface CorrelateCache {
  fingerprint: string | null;
  perRule: Map<string, WeakMap<object, unknown>>;
}

export const createCorrelateCache = (): CorrelateCache => ({ fingerprint: null, perRule: new Map() });

export interface CorrelateInput {
  nodes: readonly NodeState[];
  /** ISO 8601 */
  now: string;
  /** agent-stale threshold = this many intervals without a report */
  staleAfterIntervals: number;
  datastore?: DatastoreView | undefined;
  /** results carried over from earlier passes (see CorrelateCache); absent → every pass is cold */
  cache?: CorrelateCache | undefined;
}

export interface CorrelateRule {
  /** the stable rule id findings carry */
  id: string;
  description: string;
  /**
   * `index` is the lookup structure built once per pass by correlate(); when a caller runs a rule on
   * its own it may leave it out and the rule builds it.
   */
  run(input: CorrelateInput, map: import('../../contract/cluster.js').ClusterMap, index?: import('../cluster-map.js').ClusterIndex): FindingDraft[];
}
