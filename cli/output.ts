/**
 * The output conventions every read command shares: `-o, --output table|wide|json|yaml` (`--json`
 * is kept as another spelling of `-o json`), JSON/YAML serialisation, and duration flags.
 * `table` is the short view (the key columns); `wide` adds the details.
 * The yaml package is loaded when YAML is asked for (#17: the table views' cold start).
 */
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import type * as Yaml from 'yaml';
import { parseDuration } from '../common/duration.js';
import { CliError } from './io.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface OutputFlags {
  output?: OutputFormat;
  json?: boolean;
}

/**
 * Adds `-o, --output` and `--json` to a read command. The option is made by the command
 * (`createOption`), so that this module loads no commander code: `findings` runs without it when
 * its arguments are plain (cli/findings.ts `plainFindingsFlags`, #17: cold start).
 */
export const addOutputOptions = (cmd: Command): Command =>
  cmd
    .addOption(cmd.createOption('-o, --output <format>', 'output format: table (short), wide (details), json or yaml').choices(OUTPUT_FORMATS))
    .option('--json', 'same as -o json');

export const outputFormat = (opts: OutputFlags): OutputFormat => {
  if (opts.json && opts.output !== undefined && opts.output !== 'json') throw new CliError(`--json and -o ${opts.output} contradict each other`);
  return opts.json ? 'json' : (opts.output ?? 'table');
};

export const isStructured = (f: OutputFormat): f is 'json' | 'yaml' => f === 'json' || f === 'yaml';

// JSON.stringify already escapes C0 controls; DEL, C1 controls and bidi overrides are written as
// \uXXXX as well (the same string once parsed), so a terminal never acts on report text.
const JSON_UNSAFE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const HAS_UNSAFE = new RegExp(JSON_UNSAFE.source);

/** require() for yaml, made on first use: createRequire costs a fraction of a ms of every findings run (#17) */
let requireHere: NodeJS.Require | undefined;

const escapeU = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** The data as JSON (pretty unless `compact`) or YAML, ending with a newline. */
export const renderStructured = (format: 'json' | 'yaml', data: unknown, opts: { compact?: boolean } = {}): string => {
  if (format === 'yaml') {
    // the yaml package escapes C0 controls in double-quoted scalars but writes C1 controls and
    // bidi overrides raw, even in plain scalars: every scalar (key or value) holding one is made
    // double-quoted, and those characters are then written as \uXXXX escapes.
    const { Document, Scalar, visit } = (requireHere ??= createRequire(import.meta.url))('yaml') as typeof Yaml;
    const doc = new Document(data);
    visit(doc, {
      Scalar(_key, node: Yaml.Scalar) {
        if (typeof node.value === 'string' && HAS_UNSAFE.test(node.value)) node.type = Scalar.QUOTE_DOUBLE;
      },
    });
    return doc.toString({ lineWidth: 0 }).replace(JSON_UNSAFE, escapeU);
  }
  const json = opts.compact ? JSON.stringify(data) : JSON.stringify(data, null, 2);
  return `${json.replace(JSON_UNSAFE, escapeU)}\n`;
};

/**
 * Writes the compact JSON of `data` in pieces of about `pieceChars` characters: joined, exactly
 * `renderStructured('json', data, { compact: true })` (JSON.stringify's text, the same escapes, the
 * newline). For documents too large to hold as one string beside the data (#17: a snapshot of a node
 * with 100k iptables rules is ~8 MB of JSON; one string of it, its escaped copy and the bytes written
 * added ~35 MiB to the one-shot snapshot's peak RSS): only one piece is held at a time.
 * Plain objects and arrays down to `depth` levels are walked as JSON.stringify walks them (`toJSON`
 * first, keys in `Object.keys` order, undefined/function/symbol members left out of objects and null
 * in arrays); any other value, and every value `depth` levels down, is serialised by JSON.stringify.
 */
export function writeCompactJson(data: unknown, write: (piece: string) => void, pieceChars = 64 * 1024, depth = 6): void {
  let buf = '';
  const emit = (s: string): void => {
    buf += s;
    if (buf.length >= pieceChars) {
      write(buf.replace(JSON_UNSAFE, escapeU));
      buf = '';
    }
  };
  const toJson = (v: unknown, key: string): unknown =>
    v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON: (k: string) => unknown }).toJSON(key) : v;
  /** emits `v` (already through toJSON); false, emitting nothing, when JSON has no text for it */
  const walk = (v: unknown, level: number): boolean => {
    const plain = v !== null && typeof v === 'object' && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
    if (!plain || level >= depth) {
      const text = JSON.stringify(v) as string | undefined;
      if (text === undefined) return false;
      emit(text);
      return true;
    }
    if (Array.isArray(v)) {
      emit('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) emit(',');
        if (!walk(toJson(v[i], String(i)), level + 1)) emit('null');
      }
      emit(']');
      return true;
    }
    emit('{');
    let first = true;
    for (const k of Object.keys(v as object)) {
      const m = toJson((v as Record<string, unknown>)[k], k);
      if (m === undefined || typeof m === 'function' || typeof m === 'symbol') continue;
      emit(first ? `${JSON.stringify(k)}:` : `,${JSON.stringify(k)}:`);
      first = false;
      walk(m, level + 1);
    }
    emit('}');
    return true;
  };
  if (!walk(toJson(data, ''), 0)) emit('undefined');
  write(`${buf}\n`.replace(JSON_UNSAFE, escapeU));
}

/** A duration flag in milliseconds, or a CliError naming the flag. */
export const durationFlag = (flag: string, value: string, plainUnit: 'ms' | 's', range: { minMs: number; maxMs: number }): number => {
  const d = parseDuration(value, plainUnit);
  if (!d.ok) throw new CliError(`invalid ${flag} ${JSON.stringify(value)}: ${d.message}`);
  if (d.ms < range.minMs || d.ms > range.maxMs) throw new CliError(`invalid ${flag} ${JSON.stringify(value)}: must be between ${fmt(range.minMs)} and ${fmt(range.maxMs)}`);
  return d.ms;
};

const fmt = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
