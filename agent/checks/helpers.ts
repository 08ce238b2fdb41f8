/**
 * Small pure helpers shared by the local rules: section access that turns an unavailable input into
 * an `unknown` outcome, and outcome builders.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { SectionName, Sections, Snapshot } from '../../contract/snapshot.js';
import type { CheckOutcome } from './types.js';

type DataOf<K extends SectionName> = Extract<Sections[K], { status: 'ok' }>['data'];

export type Needed<K extends SectionName> = { ok: true; data: { [P in K]: DataOf<P> } } | { ok: false; outcome: CheckOutcome };

/** The named sections' data, or `unknown` naming every unavailable one (`<section>: <reason> (<detail>)`). */
export const need = <K extends SectionName>(snapshot: Snapshot, ...names: K[]): Needed<K> => {
  const data: Partial<Record<SectionName, unknown>> = {};
  const missing: string[] = [];
  for (const n of names) {
    const s = snapshot.sections[n];
    if (s.status === 'ok') data[n] = s.data;
    else missing.push(`${n}: ${s.reason}${s.detail !== '' ? ` (${s.detail})` : ''}`);
  }
  if (missing.length > 0) return { ok: false, outcome: { status: 'unknown', reason: missing.join('; ') } };
  return { ok: true, data: data as { [P in K]: DataOf<P> } };
};

export const outcome = (findings: FindingDraft[]): CheckOutcome => (findings.length === 0 ? { status: 'ok' } : { status: 'finding', findings });
