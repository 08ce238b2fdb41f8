/**
 * Durations on the command line (pure): `500ms`, `30s`, `1m`, `2m30s`, `1h`, `1.5s` — the ms/s/m/h
 * subset of what Go's time.ParseDuration (and so kubectl) reads; no sign, no exponent. A plain
 * number keeps the flag's old unit (seconds for --interval and --duration, milliseconds for the
 * hidden --timeout-ms), so existing scripts work.
 * Hand-written on purpose: `ms` reads no compound forms (`2m30s`) and `parse-duration` accepts
 * loose text ("1 hr and 5 m") and returns null on junk; a strict flag needs the grammar below anyway.
 */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

const NUMBER = /^\d+(?:\.\d+)?$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Reads a duration; `plainUnit` is the unit of a bare number. Never throws. */
export const parseDuration = (text: string, plainUnit: Unit): DurationResult => {
  const s = text.trim();
  const bad = (): DurationResult => ({
    ok: false,
    message: `not a duration: use e.g. 500ms, 30s, 1m, 2m30s (a plain number is ${plainUnit === 'ms' ? 'milliseconds' : plainUnit === 's' ? 'seconds' : plainUnit === 'm' ? 'minutes' : 'hours'})`,
  });
  if (s === '') return bad();
  if (NUMBER.test(s)) return { ok: true, ms: Number(s) * UNIT_MS[plainUnit] };
  let total = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < s.length) {
    PART.lastIndex = at;
    const m = PART.exec(s);
    if (!m) return bad();
    total += Number(m[1]) * UNIT_MS[m[2] as Unit];
    at = PART.lastIndex;
  }
  return Number.isFinite(total) ? { ok: true, ms: total } : bad();
};

