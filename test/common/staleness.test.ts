import { describe, expect, it } from 'vitest';
import { isStale } from '../../common/staleness.js';

// One definition of staleness (#14): the engine and the cluster map used to disagree on a time
// that does not parse.
describe('staleness', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  it('is stale only after more than the allowed intervals without a report', () => {
    expect(isStale('2026-01-01T00:08:30Z', 30, 3, now)).toBe(false); // 90 s: exactly 3 intervals
    expect(isStale('2026-01-01T00:08:29Z', 30, 3, now)).toBe(true);
  });
  it('counts an unreadable time (or now) as stale', () => {
    expect(isStale('yesterday', 30, 3, now)).toBe(true);
    expect(isStale('2026-01-01T00:09:59Z', 30, 3, Number.NaN)).toBe(true);
  });
});
