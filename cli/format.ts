/**
 * Plain-text table rendering for the CLI (pure). Columns are padded to their widest cell; cells
 * are single-line (newlines become spaces) and cut at `maxWidth` with an ellipsis.
 */
export interface TableOptions {
  /** cut cells longer than this (default 80) */
  maxCellWidth?: number;
}

const clean = (s: string, max: number): string => {
  const one = s.replace(/\s*\n\s*/g, ' ');
  return one.length > max ? `${one.slice(0, Math.max(1, max - 1))}…` : one;
};

export const renderTable = (headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions = {}): string => {
  const max = opts.maxCellWidth ?? 80;
  const all = [headers, ...rows].map((r) => headers.map((_, i) => clean(r[i] ?? '', max)));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(all[0]!), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)].join('\n') + '\n';
};

/** `key: value` lines with the keys aligned. */
export const renderFields = (fields: readonly (readonly [string, string])[]): string => {
  const w = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${v}`).join('\n') + '\n';
};
