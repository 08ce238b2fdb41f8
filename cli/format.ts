/**
 * Terminal rendering for the CLI (pure): tables, `key: value` fields, escaping and colour.
 *
 * Reports are untrusted: a node name, a comment in an iptables rule or a finding's summary may hold
 * terminal escape sequences. Every cell and field value goes through `termSafe`, which makes C0/C1
 * control characters, DEL and the Unicode bidirectional overrides visible (`\x1b`, `\u{202e}`)
 * instead of letting the terminal act on them. Cells are single-line (newlines become spaces) and
 * cut at `maxCellWidth` with an ellipsis. Colour is applied after padding, so it never skews widths.
 */
import { styleText } from 'node:util';

/** C0 controls (all but none: tab and newline are escaped too), DEL, C1 controls, bidi overrides and isolates. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string): string => {
  const code = c.codePointAt(0)!;
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  if (c === '\n') return '\\n';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
};

/** The text with every control/escape character made visible; safe to print to a terminal. */
export const termSafe = (s: string): string => s.replace(UNSAFE, escapeChar);

/** One terminal-safe line: runs of whitespace around newlines become one space, the rest is escaped. */
export const safeLine = (s: string): string => termSafe(s.replace(/\s*[\r\n]+\s*/g, ' '));

/** The styles the CLI uses (node:util styleText names). */
export type Style = 'red' | 'yellow' | 'green' | 'bold' | 'dim';
/** Wraps text in a style, or returns it as is when colour is off. */
export type Paint = (style: Style | undefined, s: string) => string;

export const noColour: Paint = (_style, s) => s;
// validateStream: false — whether to colour at all is decided once, by colourEnabled (cli/io.ts).
export const ansiColour: Paint = (style, s) => (style === undefined || s === '' ? s : styleText(style, s, { validateStream: false }));
export const painter = (colour: boolean | undefined): Paint => (colour ? ansiColour : noColour);

/** Colour of a severity word (critical red, warning yellow, info dim). */
const SEVERITY_STYLE: Record<string, Style> = { critical: 'red', warning: 'yellow', info: 'dim' };
export const severityStyle = (severity: string): Style | undefined => (Object.hasOwn(SEVERITY_STYLE, severity.toLowerCase()) ? SEVERITY_STYLE[severity.toLowerCase()] : undefined);

export interface TableOptions {
  /** cut cells longer than this (default 80) */
  maxCellWidth?: number;
  /** colours a cell by its column and (escaped) text; the header row is bold */
  style?: (column: number, cell: string) => Style | undefined;
  paint?: Paint;
}

const clean = (s: string, max: number): string => {
  const one = safeLine(s);
  return one.length > max ? `${one.slice(0, Math.max(1, max - 1))}…` : one;
};

export const renderTable = (headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions = {}): string => {
  const max = opts.maxCellWidth ?? 80;
  const paint = opts.paint ?? noColour;
  const all = [headers, ...rows].map((r) => headers.map((_, i) => clean(r[i] ?? '', max)));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: readonly string[], style: (i: number, c: string) => Style | undefined) => {
    const cells = r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)));
    return cells
      .map((c, i) => {
        const st = style(i, r[i]!);
        if (st === undefined) return c;
        // colour the text only: the padding stays plain, so trimEnd and widths are unaffected
        const text = c.trimEnd();
        return paint(st, text) + c.slice(text.length);
      })
      .join('  ')
      .trimEnd();
  };
  const body = all.slice(1).map((r) => line(r, (i, c) => opts.style?.(i, c)));
  return [line(all[0]!, () => 'bold'), line(widths.map((w) => '-'.repeat(w)), () => undefined), ...body].join('\n') + '\n';
};

/** `key: value` lines with the keys aligned; values are escaped single lines. */
export const renderFields = (fields: readonly (readonly [string, string])[]): string => {
  const w = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${safeLine(v)}`).join('\n') + '\n';
};
