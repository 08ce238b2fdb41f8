/**
 * Pure parser of `nft -j list ruleset` (libnftables JSON schema 1): `{"nftables":[{"metainfo":…},
 * {"table":…}, {"chain":…}, {"rule":…}, {"set":…}, {"map":…}, …]}` into typed tables, chains with
 * their rules, sets and maps. Calico's native nftables dataplane (FelixConfiguration
 * `nftablesMode: Enabled`) lives in tables `ip calico` / `ip6 calico`.
 *
 * What a rule keeps: its counter (`{"counter":{"packets","bytes"}}`), its verdict (accept, drop,
 * reject, return, continue, queue, jump/goto with the target), its matches with the left side
 * named as nft prints it (`udp dport`, `ip saddr`, `meta l4proto`, `fib daddr type`, `ct state`)
 * and the right side as JSON (`"@cali40all-vxlan-net"`, `4789`, `{"set":[…]}`), its comment, and
 * a one-line rendering close to `nft list ruleset` text. Expressions we do not model are kept by
 * name in the rendering (`<xt>`), never dropped silently from the rule count.
 *
 * Errors are typed and name where the input went wrong: JSON syntax errors carry the character
 * offset and its line and column; shape errors carry a JSON path (`nftables[12].rule.expr[3]`).
 * Input longer than the cap (`maxChars`, default NFT_JSON_MAX_CHARS) is refused before parsing.
 * Never throws. Stateless.
 */
import { z } from 'zod';
import type { ParseError } from '../../contract/result.js';

/** Refuse dumps longer than this many characters (a big node's ruleset is a few tens of MB). */
export const NFT_JSON_MAX_CHARS = 128 * 1024 * 1024;

export interface NftJsonError {
  code: ParseError['code'] | 'too-large';
  message: string;
  /** 1-based line of a JSON syntax error */
  line?: number;
  /** 1-based column of a JSON syntax error */
  column?: number;
  /** 0-based character offset of a JSON syntax error */
  offset?: number;
  /** JSON path of a shape error, e.g. `nftables[12].rule.expr[3]` (`$` for the document itself) */
  path?: string;
}
export type NftParsed<T> = { ok: true; value: T } | { ok: false; error: NftJsonError };

export type NftVerdict =
  | { kind: 'accept' | 'drop' | 'return' | 'continue' | 'queue' }
  | { kind: 'reject'; with: string | null }
  | { kind: 'jump' | 'goto'; target: string };

/** A JSON value as nft printed it (the right side of a match). */
export type NftValue = string | number | boolean | null | NftValue[] | { [k: string]: NftValue };

export interface NftMatch {
  /** `==`, `!=`, `in`, `<`, … */
  op: string;
  /** the left side named as nft text prints it: `udp dport`, `ip saddr`, `meta l4proto`, `fib daddr type`, `ct state`; concatenations joined by ` . ` */
  left: string;
  /** the payload fields of the left side, in order (`ip saddr`, `udp dport`): empty for non-payload keys */
  fields: string[];
  right: NftValue;
}

export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number | null;
  /** 1-based position in its chain */
  index: number;
  comment: string | null;
  counter: { packets: number; bytes: number } | null;
  /** the rule's final verdict statement, null when it has none (a counter-only or mark-setting rule, a vmap) */
  verdict: NftVerdict | null;
  matches: NftMatch[];
  /** verdict maps the rule dispatches through (`iifname vmap @filter-cali-from-wl-dispatch`) */
  vmaps: string[];
  /** a one-line rendering close to nft's text */
  text: string;
}

export interface NftChain {
  family: string;
  table: string;
  name: string;
  handle: number | null;
  /** the hook of a base chain (`input`, `forward`, …): null for a regular chain */
  hook: string | null;
  type: string | null;
  prio: number | null;
  /** `accept` / `drop` for base chains, null otherwise */
  policy: string | null;
  rules: NftRule[];
}

export interface NftSet {
  family: string;
  table: string;
  name: string;
  /** element type (`ipv4_addr`; concatenations joined by ` . `) */
  type: string;
  flags: string[];
  /** elements as nft text prints them: `10.0.0.1`, `10.1.0.0/16`, `10.2.0.1-10.2.0.9`, `10.0.0.1 . 53` (maps: the keys) */
  elements: string[];
  /** maps only: the value type (`verdict`, `ipv4_addr`, …) */
  map: string | null;
}

export interface NftRuleset {
  metainfo: { version: string | null; jsonSchemaVersion: number | null } | null;
  tables: { family: string; name: string; handle: number | null }[];
  chains: NftChain[];
  sets: NftSet[];
  maps: NftSet[];
  /** objects of kinds we do not model (flowtables, ct helpers, named counters, …): kind → count */
  other: Record<string, number>;
}

// ---------------------------------------------------------------- schemas (zod)

const Name = z.string().max(4096);
const Handle = z.number().int().nonnegative().optional();

const Metainfo = z.object({ version: z.string().optional(), json_schema_version: z.number().int().optional() });
const Table = z.object({ family: Name, name: Name, handle: Handle });
const Chain = z.object({
  family: Name,
  table: Name,
  name: Name,
  handle: Handle,
  type: z.string().optional(),
  hook: z.string().optional(),
  prio: z.number().optional(),
  policy: z.string().optional(),
});
// JSON.parse only yields JSON values: inner values are checked where they are read, not walked twice
const Json = z.custom<NftValue>(() => true);
const Expr = z
  .record(z.string(), Json)
  .refine((o) => Object.keys(o).length === 1, { message: 'an expression is an object with one key' });
const Rule = z.object({
  family: Name,
  table: Name,
  chain: Name,
  handle: Handle,
  comment: z.string().optional(),
  expr: z.array(Expr),
});
type RuleShape = z.infer<typeof Rule>;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length <= 4096;
/** The same test as the Rule schema, without its cost; a value it refuses goes through zod for the message. */
const isRuleShape = (v: unknown): v is RuleShape => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (!isName(o.family) || !isName(o.table) || !isName(o.chain)) return false;
  if (o.handle !== undefined && !isCount(o.handle)) return false;
  if (o.comment !== undefined && typeof o.comment !== 'string') return false;
  if (!Array.isArray(o.expr)) return false;
  for (const e of o.expr) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
    let n = 0;
    for (const k in e) if (Object.hasOwn(e, k)) n++;
    if (n !== 1) return false;
  }
  return true;
};

const SetObj = z.object({
  family: Name,
  table: Name,
  name: Name,
  handle: Handle,
  type: z.union([z.string(), z.array(z.string())]),
  map: z.union([z.string(), z.array(z.string())]).optional(),
  flags: z.array(z.string()).optional(),
  elem: z.array(Json).optional(),
});
const Top = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });

const pathOf = (base: (string | number)[], issuePath: readonly PropertyKey[]): string => {
  let out = '';
  for (const p of [...base, ...issuePath]) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '$' : out; // `$`: the document itself
};

const shapeError = (base: (string | number)[], e: z.ZodError): NftParsed<never> => {
  const issue = e.issues[0];
  const path = pathOf(base, issue?.path ?? []);
  return { ok: false, error: { code: 'invalid-shape', message: `${path}: ${issue?.message ?? 'invalid'}`, path } };
};

// ---------------------------------------------------------------- JSON syntax errors

/**
 * The offset of the first character that breaks the JSON grammar (text.length when the text ends
 * too early), found by a small scanner: V8's messages do not always carry a position ("Unexpected
 * token '}', ... is not valid JSON"). Run only after JSON.parse failed. Iterative (no recursion).
 */
export const jsonErrorOffset = (t: string): number => {
  let i = 0;
  const ws = (): void => {
    while (i < t.length && (t[i] === ' ' || t[i] === '\n' || t[i] === '\r' || t[i] === '\t')) i++;
  };
  const str = (): boolean => {
    i++; // opening quote
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = t[i + 1];
        if (e === undefined) {
          i++;
          return false;
        }
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 2, i + 6))) {
            i += 2;
            while (i < t.length && /[0-9a-fA-F]/.test(t[i] as string)) i++;
            return false;
          }
          i += 6;
        } else if ('"\\/bfnrt'.includes(e)) i += 2;
        else {
          i++;
          return false;
        }
      } else i++;
    }
    return false;
  };
  const digit = (k: number): boolean => k < t.length && t.charCodeAt(k) >= 0x30 && t.charCodeAt(k) <= 0x39;
  /** moves i past a number; false with i at the first character the grammar refuses */
  const num = (): boolean => {
    if (t[i] === '-') i++;
    if (!digit(i)) return false;
    if (t[i] === '0') i++;
    else while (digit(i)) i++;
    if (t[i] === '.') {
      i++;
      if (!digit(i)) return false;
      while (digit(i)) i++;
    }
    if (t[i] === 'e' || t[i] === 'E') {
      i++;
      if (t[i] === '+' || t[i] === '-') i++;
      if (!digit(i)) return false;
      while (digit(i)) i++;
    }
    return true;
  };
  // a stack of open containers: '{' or '['; `want` says what may come next
  const stack: string[] = [];
  let want: 'value' | 'key' | 'after' = 'value';
  for (;;) {
    ws();
    if (i >= t.length) return t.length; // ended early (or, for valid JSON, complete)
    const c = t[i] as string;
    if (want === 'value') {
      if (c === '{' || c === '[') {
        stack.push(c);
        i++;
        ws();
        if (t[i] === (c === '{' ? '}' : ']')) {
          stack.pop();
          i++;
          want = 'after';
        } else want = c === '{' ? 'key' : 'value';
        continue;
      }
      if (c === '"') {
        if (!str()) return i;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        if (!num()) return i;
      } else {
        const lit = ({ t: 'true', f: 'false', n: 'null' } as Record<string, string>)[c];
        if (lit === undefined) return i;
        for (let k = 0; k < lit.length; k++) if (t[i + k] !== lit[k]) return i + k; // where V8 stops too
        i += lit.length;
      }
      want = 'after';
      continue;
    }
    if (want === 'key') {
      if (c !== '"' || !str()) return i;
      ws();
      if (t[i] !== ':') return i;
      i++;
      want = 'value';
      continue;
    }
    // after a value
    const top = stack[stack.length - 1];
    if (top === undefined) return i; // trailing garbage after the document
    if (c === ',') {
      i++;
      want = top === '{' ? 'key' : 'value';
    } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
      stack.pop();
      i++;
    } else return i;
  }
};

/** A typed error for JSON.parse's failure: the offset (our scanner's), its line and column. */
const jsonError = (text: string, err: unknown): NftJsonError => {
  const msg = err instanceof Error ? err.message : String(err);
  const offset = Math.min(jsonErrorOffset(text), text.length);
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const atEnd = text.slice(offset).trim() === '';
  return {
    code: atEnd ? 'truncated' : 'invalid-json',
    message: `${atEnd ? 'input ends inside the JSON document' : msg.replace(/\s*\(line \d+ column \d+\)$/, '').replace(/\s+/g, ' ').slice(0, 200)} (line ${line}, column ${offset - lineStart + 1})`,
    offset,
    line,
    column: offset - lineStart + 1,
  };
};

// ---------------------------------------------------------------- expressions

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isObj = (v: unknown): v is Record<string, NftValue> => typeof v === 'object' && v !== null && !Array.isArray(v);
const firstKey = (o: Record<string, unknown>): string => Object.keys(o)[0] ?? '';

/** A left-hand (or key) expression as nft text names it, with the payload fields it reads. */
const describeKey = (v: NftValue, depth = 0): { text: string; fields: string[] } => {
  if (depth > 8) return { text: '<deep>', fields: [] };
  if (!isObj(v)) return { text: renderValue(v), fields: [] };
  const k = firstKey(v);
  const b = v[k];
  if (k === 'payload' && isObj(b)) {
    if (typeof b.protocol === 'string' && typeof b.field === 'string') {
      const f = `${b.protocol} ${b.field}`;
      return { text: f, fields: [f] };
    }
    return { text: `@${String(b.base ?? 'nh')},${String(b.offset ?? '?')},${String(b.len ?? '?')}`, fields: [] };
  }
  if (k === 'meta' && isObj(b) && typeof b.key === 'string') return { text: `meta ${b.key}`, fields: [] };
  if (k === 'ct' && isObj(b) && typeof b.key === 'string') return { text: `ct ${typeof b.dir === 'string' ? `${b.dir} ` : ''}${b.key}`, fields: [] };
  if (k === 'fib' && isObj(b)) {
    const flags = Array.isArray(b.flags) ? b.flags.map(String).join(' . ') : typeof b.flags === 'string' ? b.flags : '';
    return { text: `fib ${flags} ${typeof b.result === 'string' ? b.result : '?'}`, fields: [] };
  }
  if (k === 'concat' && Array.isArray(b)) {
    const parts = b.map((x) => describeKey(x, depth + 1));
    return { text: parts.map((p) => p.text).join(' . '), fields: parts.flatMap((p) => p.fields) };
  }
  if ((k === '&' || k === '|' || k === '^' || k === '<<' || k === '>>') && Array.isArray(b) && b.length === 2) {
    const l = describeKey(b[0] as NftValue, depth + 1);
    return { text: `${l.text} ${k} ${renderValue(b[1] as NftValue)}`, fields: l.fields };
  }
  return { text: k, fields: [] };
};

/** A right-hand value as nft text prints it. */
const renderValue = (v: NftValue, depth = 0): string => {
  if (depth > 8) return '…';
  if (v === null) return 'null';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map((x) => renderValue(x, depth + 1)).join(',');
  const k = firstKey(v);
  const b = v[k];
  if (k === 'set') return `{ ${(Array.isArray(b) ? b : [b]).map((x) => renderValue(x as NftValue, depth + 1)).join(', ')} }`;
  if (k === 'prefix' && isObj(b)) return `${renderValue(b.addr ?? null, depth + 1)}/${renderValue(b.len ?? null, depth + 1)}`;
  if (k === 'range' && Array.isArray(b)) return b.map((x) => renderValue(x, depth + 1)).join('-');
  if (k === 'concat' && Array.isArray(b)) return b.map((x) => renderValue(x, depth + 1)).join(' . ');
  if (k === 'elem' && isObj(b)) return renderValue(b.val ?? null, depth + 1);
  return describeKey(v, depth + 1).text;
};

const VERDICTS = new Set(['accept', 'drop', 'return', 'continue', 'queue']);

interface ExprRead {
  matches: NftMatch[];
  counter: { packets: number; bytes: number } | null;
  verdict: NftVerdict | null;
  vmaps: string[];
  text: string[];
}

/** Reads one expression into `acc`; an expression of an unexpected inner shape is a path error. */
const readExpr = (e: Record<string, NftValue>, acc: ExprRead): string | null => {
  const k = firstKey(e);
  const b = e[k] as NftValue;
  if (k === 'match') {
    if (!isObj(b) || typeof b.op !== 'string' || !('left' in b) || !('right' in b)) return 'match needs op, left and right';
    const left = describeKey(b.left as NftValue);
    acc.matches.push({ op: b.op, left: left.text, fields: left.fields, right: b.right as NftValue });
    const op = b.op === '==' || b.op === 'in' ? '' : `${b.op} `;
    acc.text.push(`${left.text} ${op}${renderValue(b.right as NftValue)}`);
    return null;
  }
  if (k === 'counter') {
    if (typeof b === 'string') {
      acc.text.push(`counter name ${b}`); // a named counter: its values live in the counter object
      return null;
    }
    if (!isObj(b)) return 'counter needs packets and bytes';
    const { packets, bytes } = b;
    if (!isCount(packets) || !isCount(bytes)) return 'counter packets and bytes must be non-negative integers';
    acc.counter ??= { packets, bytes };
    acc.text.push(`counter packets ${packets} bytes ${bytes}`);
    return null;
  }
  if (VERDICTS.has(k)) {
    acc.verdict = { kind: k as 'accept' };
    acc.text.push(k);
    return null;
  }
  if (k === 'reject') {
    const w = isObj(b) ? [b.type, b.expr].filter((x) => typeof x === 'string').join(' ') : '';
    acc.verdict = { kind: 'reject', with: w === '' ? null : w };
    acc.text.push(w === '' ? 'reject' : `reject with ${w}`);
    return null;
  }
  if (k === 'jump' || k === 'goto') {
    if (!isObj(b) || typeof b.target !== 'string') return `${k} needs a target`;
    acc.verdict = { kind: k, target: b.target };
    acc.text.push(`${k} ${b.target}`);
    return null;
  }
  if (k === 'vmap') {
    if (!isObj(b)) return 'vmap needs key and data';
    const key = describeKey(b.key ?? null).text;
    if (typeof b.data === 'string' && b.data.startsWith('@')) acc.vmaps.push(b.data.slice(1));
    acc.text.push(`${key} vmap ${renderValue(b.data ?? null)}`);
    return null;
  }
  if (k === 'mangle' && isObj(b)) {
    acc.text.push(`${describeKey(b.key ?? null).text} set ${renderValue(b.value ?? null)}`);
    return null;
  }
  acc.text.push(b === null ? k : isObj(b) && Object.keys(b).length === 0 ? k : `${k} ${renderValue(b)}`.slice(0, 200));
  return null;
};

// ---------------------------------------------------------------- the parser

export interface NftParseOptions {
  /** refuse input longer than this (characters); default NFT_JSON_MAX_CHARS */
  maxChars?: number;
}

export const parseNftJson = (text: string, opts: NftParseOptions = {}): NftParsed<NftRuleset> => {
  const max = opts.maxChars ?? NFT_JSON_MAX_CHARS;
  if (text.length > max) return { ok: false, error: { code: 'too-large', message: `nft JSON output is ${text.length} characters, over the cap of ${max}` } };
  if (text.trim() === '') return { ok: false, error: { code: 'empty', message: 'no output' } };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: jsonError(text, err) };
  }
  // plain check first (the list holds every object of the ruleset), zod only to name what is wrong
  const list = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as { nftables?: unknown }).nftables : undefined;
  const fast = Array.isArray(list) && list.every((o) => typeof o === 'object' && o !== null && !Array.isArray(o));
  const top = fast ? { success: true as const, data: { nftables: list as Record<string, unknown>[] } } : Top.safeParse(doc);
  if (!top.success) return shapeError([], top.error);

  const out: NftRuleset = { metainfo: null, tables: [], chains: [], sets: [], maps: [], other: {} };
  const chainsByKey = new Map<string, NftChain>();
  const keyOf = (family: string, table: string, chain: string): string => `${family}\u0000${table}\u0000${chain}`;

  for (const [i, item] of top.data.nftables.entries()) {
    const keys = Object.keys(item);
    if (keys.length !== 1) {
      const path = `nftables[${i}]`;
      return { ok: false, error: { code: 'invalid-shape', message: `${path}: an entry is an object with one key, not ${keys.length}`, path } };
    }
    const kind = keys[0] as string;
    const body = item[kind];
    const base = ['nftables', i, kind];
    switch (kind) {
      case 'metainfo': {
        const m = Metainfo.safeParse(body);
        if (!m.success) return shapeError(base, m.error);
        out.metainfo = { version: m.data.version ?? null, jsonSchemaVersion: m.data.json_schema_version ?? null };
        break;
      }
      case 'table': {
        const t = Table.safeParse(body);
        if (!t.success) return shapeError(base, t.error);
        out.tables.push({ family: t.data.family, name: t.data.name, handle: t.data.handle ?? null });
        break;
      }
      case 'chain': {
        const c = Chain.safeParse(body);
        if (!c.success) return shapeError(base, c.error);
        const k = keyOf(c.data.family, c.data.table, c.data.name);
        if (chainsByKey.has(k)) {
          const path = `nftables[${i}].chain`;
          return { ok: false, error: { code: 'invalid-shape', message: `${path}: chain ${c.data.family} ${c.data.table} ${c.data.name} listed twice`, path } };
        }
        const chain: NftChain = {
          family: c.data.family,
          table: c.data.table,
          name: c.data.name,
          handle: c.data.handle ?? null,
          hook: c.data.hook ?? null,
          type: c.data.type ?? null,
          prio: c.data.prio ?? null,
          policy: c.data.policy ?? null,
          rules: [],
        };
        chainsByKey.set(k, chain);
        out.chains.push(chain);
        break;
      }
      case 'rule': {
        // the hot path (a big node lists 100k rules): a plain check first, zod only to name what is wrong
        const r = isRuleShape(body) ? { data: body } : Rule.safeParse(body);
        if (!('data' in r) || r.data === undefined) return shapeError(base, (r as { error: z.ZodError }).error);
        const k = keyOf(r.data.family, r.data.table, r.data.chain);
        const chain = chainsByKey.get(k);
        if (chain === undefined) {
          // nft lists a table's chains before its rules: a rule of an unlisted chain means a broken dump
          const path = `nftables[${i}].rule.chain`;
          return { ok: false, error: { code: 'invalid-shape', message: `${path}: rule of chain ${r.data.family} ${r.data.table} ${r.data.chain}, which was not listed before it`, path } };
        }
        const acc: ExprRead = { matches: [], counter: null, verdict: null, vmaps: [], text: [] };
        for (const [j, e] of r.data.expr.entries()) {
          const why = readExpr(e, acc);
          if (why !== null) {
            const path = `nftables[${i}].rule.expr[${j}]`;
            return { ok: false, error: { code: 'invalid-shape', message: `${path}: ${why}`, path } };
          }
        }
        const comment = r.data.comment ?? null;
        chain.rules.push({
          family: r.data.family,
          table: r.data.table,
          chain: r.data.chain,
          handle: r.data.handle ?? null,
          index: chain.rules.length + 1,
          comment,
          counter: acc.counter,
          verdict: acc.verdict,
          matches: acc.matches,
          vmaps: acc.vmaps,
          text: acc.text.join(' ') + (comment !== null ? ` comment ${JSON.stringify(comment)}` : ''),
        });
        break;
      }
      case 'set':
      case 'map': {
        const s = SetObj.safeParse(body);
        if (!s.success) return shapeError(base, s.error);
        const joinType = (t: string | string[]): string => (Array.isArray(t) ? t.join(' . ') : t);
        const elements = (s.data.elem ?? []).map((e) => renderValue(kind === 'map' && Array.isArray(e) ? (e[0] ?? null) : e));
        const set: NftSet = {
          family: s.data.family,
          table: s.data.table,
          name: s.data.name,
          type: joinType(s.data.type),
          flags: s.data.flags ?? [],
          elements,
          map: s.data.map === undefined ? null : joinType(s.data.map),
        };
        (kind === 'map' ? out.maps : out.sets).push(set);
        break;
      }
      default:
        out.other[kind] = (out.other[kind] ?? 0) + 1;
    }
  }
  return { ok: true, value: out };
};

/** Felix's comment: `cali:<id>; free text; …` → the id and the other parts. */
export const splitCaliComment = (comment: string | null): { caliId: string | null; comments: string[] } => {
  if (comment === null) return { caliId: null, comments: [] };
  let caliId: string | null = null;
  const comments: string[] = [];
  for (const part of comment.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    if (caliId === null && p.startsWith('cali:') && p.length > 5) caliId = p.slice(5);
    else comments.push(p);
  }
  return { caliId, comments };
};

// ---------------------------------------------------------------- the table names only

/** A table an nft listing names: `{ family, name }`. */
export interface NftTableName {
  family: string;
  name: string;
}

/** The same test as the Chain schema, without its cost. */
const isChainShape = (v: unknown): v is { family: string; table: string; name: string } => {
  if (!isObj(v)) return false;
  if (!isName(v.family) || !isName(v.table) || !isName(v.name)) return false;
  if (v.handle !== undefined && !isCount(v.handle)) return false;
  for (const k of ['type', 'hook', 'policy'] as const) if (v[k] !== undefined && typeof v[k] !== 'string') return false;
  return v.prio === undefined || typeof v.prio === 'number';
};
const isMetainfoShape = (v: unknown): boolean =>
  isObj(v) && (v.version === undefined || typeof v.version === 'string') && (v.json_schema_version === undefined || Number.isSafeInteger(v.json_schema_version));

/**
 * The tables an `nft -j list chains` output names (its table objects, then the tables of its
 * chains), each once, in that order: what `parseNftJson` gives as `tables` and the chains' tables,
 * without building every chain (#17: the daemon's probe reads ~17k chains on a 100k-rule node).
 * It accepts and refuses exactly what `parseNftJson` does: output holding anything but metainfo,
 * tables and chains, or a shape the plain checks refuse, goes through `parseNftJson` (its typed
 * error, or its tables and chains). Pure; never throws.
 */
export const parseNftTableNames = (text: string, opts: NftParseOptions = {}): NftParsed<NftTableName[]> => {
  const full = (): NftParsed<NftTableName[]> => {
    const p = parseNftJson(text, opts);
    if (!p.ok) return p;
    const named = [...p.value.tables.map((t) => ({ family: t.family, name: t.name })), ...p.value.chains.map((c) => ({ family: c.family, name: c.table }))];
    const seen = new Set<string>();
    return { ok: true, value: named.filter((t) => !seen.has(`${t.family} ${t.name}`) && seen.add(`${t.family} ${t.name}`) !== undefined) };
  };
  const max = opts.maxChars ?? NFT_JSON_MAX_CHARS;
  if (text.length > max || text.trim() === '') return full();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return full();
  }
  const list = isObj(doc as NftValue) ? (doc as { nftables?: unknown }).nftables : undefined;
  if (!Array.isArray(list)) return full();
  const tables: NftTableName[] = [];
  const chainTables: NftTableName[] = [];
  /** per family, per table: the names of its chains seen (no key strings made per chain: #17) */
  const chainNames = new Map<string, Map<string, Set<string>>>();
  for (const item of list) {
    if (!isObj(item)) return full();
    const keys = Object.keys(item);
    const kind = keys[0] ?? '';
    if (kind === '' || keys.length !== 1) return full();
    const body = item[kind];
    if (kind === 'metainfo') {
      if (!isMetainfoShape(body)) return full();
    } else if (kind === 'table') {
      if (!isObj(body) || !isName(body.family) || !isName(body.name) || (body.handle !== undefined && !isCount(body.handle))) return full();
      tables.push({ family: body.family, name: body.name });
    } else if (kind === 'chain') {
      if (!isChainShape(body)) return full();
      let ofFamily = chainNames.get(body.family);
      if (ofFamily === undefined) chainNames.set(body.family, (ofFamily = new Map()));
      let names = ofFamily.get(body.table);
      if (names === undefined) {
        ofFamily.set(body.table, (names = new Set()));
        chainTables.push({ family: body.family, name: body.table });
      }
      if (names.has(body.name)) return full(); // listed twice: parseNftJson's error
      names.add(body.name);
    } else return full();
  }
  const seen = new Set<string>();
  return { ok: true, value: [...tables, ...chainTables].filter((t) => !seen.has(`${t.family} ${t.name}`) && seen.add(`${t.family} ${t.name}`) !== undefined) };
};
