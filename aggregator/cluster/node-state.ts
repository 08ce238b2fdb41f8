/**
 * What the store holds per node: the latest report with its sections resolved (hash-only sections
 * turned back into the held data, per-peer lists packed: ./packed.ts), when it arrived, and the
 * report before it.
 */
import { isStale } from '../../common/staleness.js';
import type { Report } from '../../contract/report.js';
import type { Sections } from '../../contract/snapshot.js';

export type ResolvedReport = Omit<Report, 'sections'> & { sections: Sections };

export interface NodeState {
  node: string;
  /** when the aggregator accepted the latest report (ISO 8601) */
  receivedAt: string;
  report: ResolvedReport;
  /** the report before the latest one, when kept (for counters that must rise between reports) */
  previous?: ResolvedReport;
}

/** Whether the node's latest report is too old (common/staleness.ts: an unreadable time is stale). */
export const nodeIsStale = (s: NodeState, nowMs: number, staleAfterIntervals: number): boolean =>
  isStale(s.receivedAt, s.report.intervalSeconds, staleAfterIntervals, nowMs);
