import type { FindingDraft } from '../../contract/finding.js';
import type { Snapshot } from '../../contract/snapshot.js';

export interface CheckInput {
  snapshot: Snapshot;
  /** the previous snapshot of the same node, for rules about counters that rise */
  previous?: Snapshot | undefined;
}

export type CheckOutcome = { status: 'ok' } | { status: 'unknown'; reason: string } | { status: 'finding'; findings: FindingDraft[] };

/** One local rule: pure, snapshot in, outcome out. Never throws, never reads the clock. */
export interface LocalCheck {
  /** stable kebab-case rule id */
  rule: string;
  description: string;
  run(input: CheckInput): CheckOutcome;
}
