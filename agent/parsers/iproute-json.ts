/**
 * Small pure helpers for reading iproute2 JSON (`ip -j`, `bridge -j`): a tolerant top-level reader
 * and typed field accessors. Never throws.
 *
 * Quirks handled by `readJsonArray`:
 * - empty / whitespace-only output (old iproute2 prints nothing instead of `[]` for an empty dump):
 *   error code `empty`, so the caller decides whether "nothing" means "no entries";
 * - several top-level arrays one after another (`[...][...]` or one per line, as some iproute2
 *   releases print for multi-part dumps): concatenated;
 * - output cut short (killed at the size cap, truncated bundle): error code `truncated` with the line;
 * - trailing garbage or anything that is not JSON: error code `invalid-json` with the line;
 * - plain text where JSON was asked for (iproute2 4.15, Ubuntu 18.04, ignores -j for `ip route`):
 *   error code `incompatible`, so the detail says why instead of "unexpected token".
 */
import { parsed, parseError, type Parsed } from '../../contract/result.js';

export type JsonObject = Record<string, unknown>;

const lineAt = (text: string, pos: number): number => {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
};

/** Splits `text` into its top-level JSON values (only `[` / `{` values are allowed at top level). */
const splitTopLevel = (text: string): Parsed<string[]> => {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (depth === 0) {
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
      if (c !== '[' && c !== '{') {
        return parseError('invalid-json', `unexpected ${JSON.stringify(text.slice(i, i + 20))} outside a JSON value`, lineAt(text, i));
      }
      start = i;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth < 0) return parseError('invalid-json', `unbalanced ${c}`, lineAt(text, i));
      if (depth === 0) parts.push(text.slice(start, i + 1));
    }
  }
  if (depth > 0 || inString) return parseError('truncated', 'output ends inside a JSON value', lineAt(text, text.length));
  return parsed(parts);
};

/** Reads iproute2 JSON output as one array of entries (see the quirks above). */
export const readJsonArray = (text: string): Parsed<unknown[]> => {
  const trimmed = text.trimStart();
  if (trimmed === '') return parseError('empty', 'no output');
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) {
    return parseError(
      'incompatible',
      `not JSON: this iproute2 printed plain text (${JSON.stringify(trimmed.split('\n')[0]?.slice(0, 60) ?? '')}); -j is ignored by old releases`,
      lineAt(text, text.length - trimmed.length),
    );
  }
  // fast path: well-formed output is one JSON array
  try {
    const whole: unknown = JSON.parse(text);
    if (Array.isArray(whole)) return parsed(whole as unknown[]);
  } catch {
    // fall through to the tolerant reader, which also says where it went wrong
  }
  const split = splitTopLevel(text);
  if (!split.ok) return split;
  const out: unknown[] = [];
  let offset = 0;
  for (const part of split.value) {
    let value: unknown;
    try {
      value = JSON.parse(part);
    } catch (err) {
      const at = text.indexOf(part, offset);
      return parseError('invalid-json', (err as Error).message, lineAt(text, at < 0 ? 0 : at));
    }
    offset += part.length;
    if (!Array.isArray(value)) return parseError('invalid-shape', 'expected a JSON array at top level');
    out.push(...(value as unknown[]));
  }
  return parsed(out);
};

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export const str = (o: JsonObject, k: string): string | null => {
  const v = o[k];
  return typeof v === 'string' ? v : null;
};

export const int = (o: JsonObject, k: string): number | null => {
  const v = o[k];
  // beyond 2^53 JSON.parse has already lost precision (and the contract rejects it): unknown
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
};

export const counter = (o: JsonObject, k: string): number | null => {
  const v = int(o, k);
  return v !== null && v >= 0 ? v : null;
};

export const bool = (o: JsonObject, k: string): boolean | null => {
  const v = o[k];
  return typeof v === 'boolean' ? v : null;
};

export const obj = (o: JsonObject, k: string): JsonObject | null => {
  const v = o[k];
  return isObject(v) ? v : null;
};

/** A string array field; a lone string becomes a one-element array (older iproute2 releases). */
export const strings = (o: JsonObject, k: string): string[] => {
  const v = o[k];
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is string => typeof x === 'string');
};

/**
 * Reads iproute2 JSON output (readJsonArray) and visits its entries in order: `visit` appends what
 * it keeps to `out`, or returns a ParseError, which is returned at once. An entry that is not an
 * object is `invalid-shape` (`<what> entry <i>: not an object`); `{}`, which old iproute2 prints for
 * entries a filter dropped, is skipped.
 */
export const visitJsonEntries = <T>(
  text: string,
  what: string,
  visit: (e: JsonObject, i: number, out: T[]) => Parsed<never> | undefined,
): Parsed<T[]> => {
  const arr = readJsonArray(text);
  if (!arr.ok) return arr;
  const out: T[] = [];
  for (const [i, e] of arr.value.entries()) {
    if (!isObject(e)) return parseError('invalid-shape', `${what} entry ${i}: not an object`);
    if (Object.keys(e).length === 0) continue;
    const bad = visit(e, i, out);
    if (bad !== undefined) return bad;
  }
  return parsed(out);
};
