/**
 * Our own parser for `iptables-save` / `ip6tables-save` output (with or without `-c`). Pure.
 *
 * Design for speed (a big Calico node: 100k rules, 16k chains, ~15 MB; numbers in bench/results.md):
 * one pass over the text, no per-line split, no regex, no closure and no object per rule or per
 * chain while parsing. For ASCII text the rule lines are scanned by a WebAssembly module
 * (iptables-scan.ts) and only declarations, tables, comments and the first rule line of each run of
 * a chain come back here (class `Pass`); other text takes a JavaScript loop over indexOf /
 * charCodeAt (`jsPass`) that hands `Pass` the same lines. Either way every line is validated
 * (structure, counters, chain, balanced quotes) and packed into typed arrays (`ParseData`): a rule
 * is four 32-bit numbers (line, offsets) and two counters, its chain found through the runs; a
 * chain ten numbers (offsets of its name and policy, counters, the span of its rule records). A
 * rule line's chain is found by comparing its `-A CHAIN` with the previous rule line's (iptables-save
 * prints a chain's rules together), else by probing the next declared chains, else by a hash index
 * over the names in place.
 * `IptablesTable.chains` makes the chain objects on first access; `IptablesRule` objects (raw text,
 * tokens with quotes removed and `!` kept as a token, target, -j vs -g, target args, every comment,
 * cali id, ipset matches) are made on access and derive their fields on first use; totals read the
 * packed counters. The grouping of tokens into matches/options with their negations is
 * `ruleMatches`, on demand.
 *
 * Strictness follows iptables-restore, which is what would load the text back:
 *  - a rule or chain line before any `*table` line is an error (`syntax`);
 *  - a rule for a chain that was never declared: builtin chains of the table are implicit
 *    (iptables-restore accepts `-A INPUT` without `:INPUT`), user chains must be declared
 *    (iptables-restore fails "chain ... does not exist") → `syntax`;
 *  - a table without COMMIT at the end of input → `truncated` (partial dumps, cut pastes);
 *  - an unterminated quote or a line that is none of the known kinds → `syntax`;
 *  - iptables-nft's "# Table `x' is incompatible, use 'nft' tool." → `incompatible`
 *    (iptables-nft-save prints it on stdout and exits 0, projectcalico/calico#8403);
 *  - iptables-nft ≥ 1.8.9's "# Table `x' contains incompatible base-chains, use 'nft' tool to list
 *    them." is followed by the table's iptables-visible part: recorded in `warnings`, parsing goes on
 *    (the chains it hides are not iptables chains, so not Felix's);
 *  - "# Warning: iptables-legacy tables present, ..." is recorded in `warnings` and ignored.
 */
import { parsed, parseError, type ParseError, type Parsed } from '../../contract/result.js';
import { ERR_COUNTERS, ERR_QUOTE, EV, EV_RUN, SCAN_REC, scanRules, type RuleScan } from './iptables-scan.js';

export interface IptablesSetMatch {
  name: string;
  negated: boolean;
  /** e.g. `src`, `dst`, `dst,dst,src` */
  direction: string;
}

/** What is derived from a rule's tokens on first access (see `IptablesRule`). */
interface Derived {
  tokens: string[];
  target: string | null;
  targetKind: 'jump' | 'goto' | null;
  targetArgs: string[];
  comments: string[];
  caliId: string | null;
  matchSets: IptablesSetMatch[];
}

/**
 * One `-A` line. The parse pass fills the cheap fields (position, chain, counters, raw text) and
 * checks the quoting; tokens and everything derived from them are computed on first access of any
 * of those getters and memoised (a 100k-rule dump is mostly read for totals and a few DROP rules).
 * Not shared across threads; memoisation is the only mutation.
 */
export class IptablesRule {
  #d: Derived | undefined = undefined;
  constructor(
    /** 1-based line number in the input */
    readonly line: number,
    readonly chain: string,
    /** 1-based position in its chain */
    readonly index: number,
    /** rule counters from the `[pkts:bytes]` prefix (`iptables-save -c`), null without `-c` */
    readonly packets: number | null,
    readonly bytes: number | null,
    /** the rule line as printed, without the counter prefix (starts with `-A `) */
    readonly text: string,
    /** offset in `text` where the tokens after `-A CHAIN` start */
    private readonly argsAt: number,
  ) {}

  #derive(): Derived {
    if (this.#d === undefined) {
      const tokens: string[] = [];
      tokenize(this.text, this.argsAt, this.text.length, tokens);
      this.#d = deriveFromTokens(tokens);
    }
    return this.#d;
  }
  /** every token after `-A CHAIN`, quotes removed, escapes resolved, `!` kept as a token */
  get tokens(): string[] {
    return this.#derive().tokens;
  }
  /** `-j X` / `-g X` target, null when the rule has none (a counting rule) */
  get target(): string | null {
    return this.#derive().target;
  }
  get targetKind(): 'jump' | 'goto' | null {
    return this.#derive().targetKind;
  }
  /** tokens after the target name, e.g. `['--set-xmark', '0x0/0x1b0000']` */
  get targetArgs(): string[] {
    return this.#derive().targetArgs;
  }
  /** every `--comment` value in order (including the `cali:` one) */
  get comments(): string[] {
    return this.#derive().comments;
  }
  /** the id from a `cali:<id>` comment */
  get caliId(): string | null {
    return this.#derive().caliId;
  }
  /** `-m set [!] --match-set NAME DIR` matches */
  get matchSets(): IptablesSetMatch[] {
    return this.#derive().matchSets;
  }
  toJSON() {
    const d = this.#derive();
    return { line: this.line, chain: this.chain, index: this.index, packets: this.packets, bytes: this.bytes, text: this.text, ...d };
  }
}

/** Fields per rule record in `ParseData.rec`: line, start, end, argsAt (relative to start). */
const REC = SCAN_REC;
/** Fields per chain in `ParseData.ch`. */
const CH = 10;
const CH_NAME = 0; // offset of the name in the text (an implicit builtin chain: in its first rule)
const CH_NAME_END = 1;
const CH_POLICY = 2; // offset of the policy, -1 for an implicit builtin chain
const CH_POLICY_END = 3;
const CH_LINE = 4; // line of the declaration, 0 for an implicit builtin chain
const CH_PACKETS = 5;
const CH_BYTES = 6;
const CH_FIRST = 7; // first rule record, -1 while it has none
const CH_LAST = 8;
const CH_COUNT = 9;

/**
 * Everything one parse produces, packed: a rule is four 32-bit numbers in `rec` and two counters in
 * `ctr` (packets -1: none), its chain is found through `runs`; a chain is ten numbers in `ch`
 * (offsets into the text, counters and the span of its rule records), numbered in order of
 * appearance over all tables. Chain and rule objects are made from it on access. Owned by one
 * parse; appended to while parsing, read-only after.
 */
class ParseData {
  rec = new Int32Array(0);
  ctr = new Float64Array(0);
  n = 0;
  /** chain, first record, end record of every run of consecutive records of one chain */
  readonly runs: number[] = [];
  ch: Float64Array;
  chainCount = 0;
  /** per chain whose records are not one contiguous run (input that interleaves chains) */
  #lists: Map<number, number[]> | null = null;
  constructor(
    readonly text: string,
    expectedChains: number,
  ) {
    this.ch = new Float64Array(CH * Math.max(64, expectedChains));
  }
  /** room for `cap` records, written by the JavaScript pass */
  reserve(cap: number): void {
    this.rec = new Int32Array(REC * cap);
    this.ctr = new Float64Array(2 * cap);
  }
  /** the records of a WebAssembly scan */
  adopt(scan: RuleScan): void {
    this.rec = scan.rec;
    this.ctr = scan.ctr;
  }
  grow(): void {
    const rec = new Int32Array(this.rec.length * 2);
    rec.set(this.rec);
    this.rec = rec;
    const ctr = new Float64Array(this.ctr.length * 2);
    ctr.set(this.ctr);
    this.ctr = ctr;
  }
  addChain(nameAt: number, nameEnd: number, policyAt: number, policyEnd: number, line: number, packets: number, bytes: number): number {
    const c = this.chainCount++;
    let b = c * CH;
    if (b + CH > this.ch.length) {
      const ch = new Float64Array(this.ch.length * 2);
      ch.set(this.ch);
      this.ch = ch;
    }
    const ch = this.ch;
    ch[b++] = nameAt;
    ch[b++] = nameEnd;
    ch[b++] = policyAt;
    ch[b++] = policyEnd;
    ch[b++] = line;
    ch[b++] = packets;
    ch[b++] = bytes;
    ch[b++] = -1;
    ch[b++] = -1;
    ch[b] = 0;
    return c;
  }
  /** records [from, to) belong to chain c (called once per run of consecutive records) */
  addRun(c: number, from: number, to: number): void {
    if (to <= from) return;
    this.runs.push(c, from, to);
    const b = c * CH;
    const ch = this.ch;
    if (ch[b + CH_FIRST] === -1) ch[b + CH_FIRST] = from;
    ch[b + CH_LAST] = to - 1;
    ch[b + CH_COUNT] = (ch[b + CH_COUNT] as number) + to - from;
  }
  nameOf(c: number): string {
    return this.text.slice(this.ch[c * CH + CH_NAME] as number, this.ch[c * CH + CH_NAME_END] as number);
  }
  nameLength(c: number): number {
    return (this.ch[c * CH + CH_NAME_END] as number) - (this.ch[c * CH + CH_NAME] as number);
  }
  /** text[at, at+len) equals chain c's name */
  nameIs(c: number, at: number, len: number): boolean {
    const b = c * CH;
    const nameAt = this.ch[b + CH_NAME] as number;
    if ((this.ch[b + CH_NAME_END] as number) - nameAt !== len) return false;
    const text = this.text;
    // last characters first (Calico's names share long prefixes), then one native compare
    if (text.charCodeAt(at + len - 1) !== text.charCodeAt(nameAt + len - 1)) return false;
    return at === nameAt || text.slice(at, at + len).indexOf(text.slice(nameAt, nameAt + len)) === 0;
  }
  /** the record numbers of chain c in order */
  records(c: number): { first: number; count: number; list: number[] | null } {
    const b = c * CH;
    const first = this.ch[b + CH_FIRST] as number;
    const count = this.ch[b + CH_COUNT] as number;
    if (count === 0 || (this.ch[b + CH_LAST] as number) - first + 1 === count) return { first, count, list: null };
    if (this.#lists === null) {
      // one pass over all records builds the lists of every scattered chain
      const lists = new Map<number, number[]>();
      for (let k = 0; k < this.chainCount; k++) {
        const kb = k * CH;
        const kc = this.ch[kb + CH_COUNT] as number;
        if (kc > 0 && (this.ch[kb + CH_LAST] as number) - (this.ch[kb + CH_FIRST] as number) + 1 !== kc) lists.set(k, []);
      }
      const runs = this.runs;
      for (let k = 0; k < runs.length; k += 3) {
        const list = lists.get(runs[k] as number);
        if (list !== undefined) for (let r = runs[k + 1] as number, to = runs[k + 2] as number; r < to; r++) list.push(r);
      }
      this.#lists = lists;
    }
    return { first, count, list: this.#lists.get(c) ?? null };
  }
}

/**
 * One chain, made on access from the parse's packed data. Its rules are records there; `rules`
 * materialises `IptablesRule` objects on first access and keeps them; `ruleCount`,
 * `ruleCounters()`, `ruleTextAt()` and `ruleAt()` read the records without materialising all rules.
 * Not shared across threads; memoisation is the only mutation.
 */
export class IptablesChain {
  readonly name: string;
  /** ACCEPT / DROP / … for builtin chains, null for user chains (`-`) */
  readonly policy: string | null;
  /** chain counters from the declaration (builtin chains carry policy counters) */
  readonly packets: number;
  readonly bytes: number;
  readonly builtin: boolean;
  /** line of the declaration, null for an implicit builtin chain */
  readonly line: number | null;
  #data: ParseData;
  #first: number;
  #count: number;
  #idx: number[] | null;
  #rules: IptablesRule[] | undefined = undefined;
  /** @internal made by `IptablesTable.chains` */
  constructor(data: ParseData, c: number, table: string) {
    const ch = data.ch;
    const b = c * CH;
    this.#data = data;
    this.name = data.nameOf(c);
    const policyAt = ch[b + CH_POLICY] as number;
    const policy = policyAt < 0 ? '-' : data.text.slice(policyAt, ch[b + CH_POLICY_END] as number);
    this.policy = policy === '-' ? null : policy;
    this.packets = ch[b + CH_PACKETS] as number;
    this.bytes = ch[b + CH_BYTES] as number;
    this.builtin = isBuiltin(table, this.name);
    this.line = policyAt < 0 ? null : (ch[b + CH_LINE] as number);
    const r = data.records(c);
    this.#first = r.first;
    this.#count = r.count;
    this.#idx = r.list;
  }
  get ruleCount(): number {
    return this.#count;
  }
  /** the i-th rule's record number */
  #at(i: number): number {
    return this.#idx === null ? this.#first + i : (this.#idx[i] as number);
  }
  /** packets/bytes summed over this chain's rule counters (0 without -c) */
  ruleCounters(): { packets: number; bytes: number } {
    let packets = 0;
    let bytes = 0;
    const c = this.#data.ctr;
    for (let i = 0; i < this.#count; i++) {
      const k = this.#at(i) * 2;
      const p = c[k] as number;
      if (p >= 0) {
        packets += p;
        bytes += c[k + 1] as number;
      }
    }
    return { packets, bytes };
  }
  /** the i-th rule's text (0-based), without materialising the rule */
  ruleTextAt(i: number): string {
    const k = this.#at(i) * REC;
    const d = this.#data.rec;
    return this.#data.text.slice(d[k + 1] as number, d[k + 2] as number);
  }
  /** the i-th rule (0-based): the memoised one once `rules` was read, else a fresh object */
  ruleAt(i: number): IptablesRule {
    if (this.#rules !== undefined) return this.#rules[i] as IptablesRule;
    return this.#make(i);
  }
  #make(i: number): IptablesRule {
    const r = this.#at(i);
    const d = this.#data.rec;
    const k = r * REC;
    const c = this.#data.ctr;
    const p = c[r * 2] as number;
    return new IptablesRule(
      d[k] as number,
      this.name,
      i + 1,
      p >= 0 ? p : null,
      p >= 0 ? (c[r * 2 + 1] as number) : null,
      this.#data.text.slice(d[k + 1] as number, d[k + 2] as number),
      d[k + 3] as number,
    );
  }
  get rules(): IptablesRule[] {
    if (this.#rules === undefined) {
      const out: IptablesRule[] = new Array(this.#count);
      for (let i = 0; i < this.#count; i++) out[i] = this.#make(i);
      this.#rules = out;
    }
    return this.#rules;
  }
  toJSON() {
    return { name: this.name, policy: this.policy, packets: this.packets, bytes: this.bytes, builtin: this.builtin, line: this.line, rules: this.rules };
  }
}

/** One `*table` … `COMMIT` block; its chains are made on first access of `chains`. */
export class IptablesTable {
  #data: ParseData;
  #from: number;
  #to = -1;
  #chains: IptablesChain[] | undefined = undefined;
  /** @internal made by the parser: chains numbered from `from` belong to this table */
  constructor(
    readonly name: string,
    /** line of the `*table` line */
    readonly line: number,
    data: ParseData,
    from: number,
  ) {
    this.#data = data;
    this.#from = from;
  }
  /** @internal parser use: the table's last chain is numbered to − 1 */
  close(to: number): void {
    this.#to = to;
  }
  get chains(): IptablesChain[] {
    if (this.#chains === undefined) {
      const out: IptablesChain[] = [];
      for (let c = this.#from; c < this.#to; c++) out.push(new IptablesChain(this.#data, c, this.name));
      this.#chains = out;
    }
    return this.#chains;
  }
  toJSON() {
    return { name: this.name, line: this.line, chains: this.chains };
  }
}

export interface IptablesWarning {
  line: number;
  message: string;
}

export interface IptablesDump {
  tables: IptablesTable[];
  /** the `# Generated by …` header text of the first table, if any */
  generatedBy: string | null;
  /** true when rule lines carry `[pkts:bytes]` counters */
  hasCounters: boolean;
  warnings: IptablesWarning[];
}

export interface IptablesTotals {
  tables: number;
  chains: number;
  rules: number;
  /** summed over rule counters */
  packets: number;
  bytes: number;
}

/** A match module (`-m set ...`) or a plain option (`-p tcp`, `! -s 10.0.0.0/8`) of a rule. */
export interface IptablesMatchOption {
  /** the flag, e.g. `-s`, `--match-set`, `--dport` */
  flag: string;
  negated: boolean;
  values: string[];
}
export interface IptablesMatch {
  /** module name for `-m NAME`, else null for the rule's basic options (-p, -s, -d, -i, -o, -f) */
  module: string | null;
  options: IptablesMatchOption[];
}

/** Builtin chains per table (iptables and ip6tables). */
const BUILTIN: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const isBuiltin = (table: string, chain: string): boolean => BUILTIN[table]?.includes(chain) ?? false;

const CH_SPACE = 32;
const CH_TAB = 9;
const CH_CR = 13;
const CH_QUOTE = 34;
const CH_BACKSLASH = 92;
const CH_COLON = 58;
const CH_LBRACKET = 91;
const CH_RBRACKET = 93;
const CH_0 = 48;
const CH_9 = 57;

const INCOMPATIBLE_PREFIX = '# Table `';
const INCOMPATIBLE_SUFFIX = "' is incompatible, use 'nft' tool.";
const INCOMPATIBLE_CHAINS_SUFFIX = "' contains incompatible base-chains, use 'nft' tool to list them.";
const LEGACY_WARNING_PREFIX = '# Warning: iptables-legacy tables present';
const GENERATED_PREFIX = '# Generated by ';

/** One step of the chain-name hash the parse pass computes while it scans a declared name. */
const hashStep = (h: number, c: number): number => (Math.imul(h, 31) + c) | 0;

/**
 * The chains of one open table by name: open addressing over the names' hashes, candidates
 * compared in place in the text, so that looking up a rule's chain makes no string. Owned by one
 * parse; only appended to.
 */
class ChainIndex {
  // per slot: chain number + 1 (0 = empty) and the name's hash
  #slots: Int32Array;
  #hashes: Int32Array;
  #n = 0;
  /** `expected`: a guess of the table's chain count (the index doubles when it is exceeded) */
  constructor(
    private readonly data: ParseData,
    expected: number,
  ) {
    let size = 64;
    while (size < expected * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#hashes = new Int32Array(size);
  }
  /** the chain named text[at, at+len) whose hash is h, or -1 */
  find(at: number, len: number, h: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let s = (h ^ (h >>> 13)) & mask; ; s = (s + 1) & mask) {
      const v = slots[s] as number;
      if (v === 0) return -1;
      if (this.#hashes[s] === h && this.data.nameIs(v - 1, at, len)) return v - 1;
    }
  }
  /** adds chain c, not yet in the index, whose name hashes to h */
  add(c: number, h: number): void {
    if (++this.#n * 2 > this.#slots.length) {
      const slots = this.#slots;
      const hashes = this.#hashes;
      this.#slots = new Int32Array(slots.length * 2);
      this.#hashes = new Int32Array(slots.length * 2);
      for (let s = 0; s < slots.length; s++) if (slots[s] !== 0) this.#put(slots[s] as number, hashes[s] as number);
    }
    this.#put(c + 1, h);
  }
  #put(v: number, h: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = (h ^ (h >>> 13)) & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = v;
    this.#hashes[s] = h;
  }
}

/** The hash of text[at, end) as the parse pass computes it for declared names. */
const hashRange = (text: string, at: number, end: number): number => {
  let h = 0;
  for (let i = at; i < end; i++) h = hashStep(h, text.charCodeAt(i));
  return h;
};

/**
 * Reads `[digits:digits]` starting at `pos` (which holds '['); returns the index after ']' or -1.
 * The digit loops need no bound: text[end] is a line end (or past the string: NaN), never a digit.
 */
const readCounters = (text: string, pos: number, end: number, out: { a: number; b: number }): number => {
  let i = pos + 1;
  let a = 0;
  let c = text.charCodeAt(i);
  while (c >= CH_0 && c <= CH_9) {
    a = a * 10 + (c - CH_0);
    c = text.charCodeAt(++i);
  }
  if (i === pos + 1 || i >= end || c !== CH_COLON) return -1;
  const bAt = ++i;
  let b = 0;
  c = text.charCodeAt(i);
  while (c >= CH_0 && c <= CH_9) {
    b = b * 10 + (c - CH_0);
    c = text.charCodeAt(++i);
  }
  if (i === bAt || i >= end || c !== CH_RBRACKET) return -1;
  out.a = a;
  out.b = b;
  return i + 1;
};

/**
 * Tokenizes text[pos, end) the way iptables-restore does (xshared add_param_to_argv): blanks
 * separate tokens, `"` opens/closes a quoted part, inside quotes `\x` stands for `x`, a closing
 * quote ends the token. Pushes into `out`; returns false on an unterminated quote.
 */
const tokenize = (text: string, pos: number, end: number, out: string[]): boolean => {
  let i = pos;
  while (i < end) {
    let c = text.charCodeAt(i);
    if (c === CH_SPACE || c === CH_TAB) {
      i++;
      continue;
    }
    const start = i;
    // fast path: a plain token without quotes
    while (i < end && c !== CH_SPACE && c !== CH_TAB && c !== CH_QUOTE) {
      i++;
      c = i < end ? text.charCodeAt(i) : 0;
    }
    if (c !== CH_QUOTE || i >= end) {
      out.push(text.slice(start, i));
      continue;
    }
    // slow path: a token containing a quoted part
    let buf = text.slice(start, i);
    i++; // opening quote
    let segStart = i;
    let closed = false;
    while (i < end) {
      c = text.charCodeAt(i);
      if (c === CH_BACKSLASH && i + 1 < end) {
        buf += text.slice(segStart, i);
        buf += text[i + 1];
        i += 2;
        segStart = i;
        continue;
      }
      if (c === CH_QUOTE) {
        closed = true;
        break;
      }
      i++;
    }
    if (!closed) return false;
    buf += text.slice(segStart, i);
    i++; // closing quote ends the token
    out.push(buf);
  }
  return true;
};

type Failure = { ok: false; error: ParseError };

/**
 * The state of one parse and what it does for everything but the bulk of rule lines: declarations,
 * tables, COMMIT, comments, and the first rule line of each run (its chain is looked up here).
 * Shared by the two drivers below: the WebAssembly scan calls it once per event, the JavaScript
 * loop once per such line. A method that finds the input malformed sets `failure` and returns false
 * (or -1). Owned by one parse.
 */
class Pass {
  readonly tables: IptablesTable[] = [];
  readonly warnings: IptablesWarning[] = [];
  generatedBy: string | null = null;
  hasCounters = false;
  sawContent = false;
  failure: Failure | null = null;
  /** the chain of the current run of rule records, -1 at the start of a table */
  last = -1;
  /** the first record of the current run */
  runFrom = 0;
  #table: IptablesTable | null = null;
  #index: ChainIndex | null = null;
  // the number after the chain found by the in-order probe (iptables-save prints rules in
  // declaration order)
  #cursor = 0;
  readonly #seenTables = new Set<string>();
  /** chain number of each declaration line so far, in order */
  readonly #declChains: number[] = [];
  readonly #counters = { a: 0, b: 0 };
  constructor(
    readonly text: string,
    readonly data: ParseData,
  ) {}

  #fail(code: ParseError['code'], message: string, line: number): false {
    this.failure = parseError(code, message, line) as Failure;
    return false;
  }

  /**
   * The rule line at text[textStart, end) (after its counters) starts a run at record r: checks
   * `-A CHAIN` and finds the chain. `decl`: the ordinal of the chain's declaration line when the
   * WebAssembly scan found it (its name compared), else -1. Returns the end of the chain name
   * (unknown: 0 when `decl` was given), or -1.
   */
  runStart(textStart: number, end: number, lineNo: number, r: number, decl: number): number {
    const { text, data } = this;
    const table = this.#table;
    const index = this.#index;
    if (table === null || index === null) {
      this.#fail('syntax', `line ${lineNo}: rule before any *table line`, lineNo);
      return -1;
    }
    if (decl >= 0) {
      const chain = this.#declChains[decl] as number;
      this.#cursor = chain + 1;
      this.#startRun(chain, r);
      return 0;
    }
    let p = textStart;
    if (!(text.charCodeAt(p) === 45 && text.charCodeAt(p + 1) === 65 /* A */ && text.charCodeAt(p + 2) === CH_SPACE)) {
      this.#fail('syntax', `line ${lineNo}: expected "-A CHAIN", got "${text.slice(p, Math.min(end, p + 40))}"`, lineNo);
      return -1;
    }
    p += 3;
    while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
    let chain = -1;
    let q = p;
    // iptables-save prints rules in declaration order, so try the next few declared chains
    // (length, last character, one native compare), then the hash index
    for (let k = this.#cursor, stop = Math.min(data.chainCount, this.#cursor + 4); k < stop; k++) {
      const e = p + data.nameLength(k);
      if (e <= end && (e === end || text.charCodeAt(e) === CH_SPACE) && data.nameIs(k, p, e - p)) {
        chain = k;
        this.#cursor = k + 1;
        q = e;
        break;
      }
    }
    if (chain < 0) {
      q = text.indexOf(' ', p);
      if (q < 0 || q > end) q = end;
      if (q === p) {
        this.#fail('syntax', `line ${lineNo}: "-A" without a chain name`, lineNo);
        return -1;
      }
      const h = hashRange(text, p, q);
      chain = index.find(p, q - p, h);
      if (chain < 0) {
        if (!isBuiltin(table.name, text.slice(p, q))) {
          this.#fail('syntax', `line ${lineNo}: rule for undeclared chain "${text.slice(p, q)}" in table ${table.name}`, lineNo);
          return -1;
        }
        // builtin chains are implicit (iptables-restore accepts `-A INPUT` without `:INPUT`)
        chain = data.addChain(p, q, -1, -1, 0, 0, 0);
        index.add(chain, h);
      }
    }
    this.#startRun(chain, r);
    return q;
  }

  #startRun(chain: number, r: number): void {
    if (this.last >= 0) this.data.addRun(this.last, this.runFrom, r);
    this.last = chain;
    this.runFrom = r;
    this.sawContent = true;
  }

  /**
   * A line that is not a rule line (not blank); n: the rule records so far; for a `*table` line,
   * `chains`: its number of declarations when known (sizes the name index), else -1; for a
   * declaration, `nameEnd` and `hash` when known (else -1 and 0).
   */
  line(start: number, end: number, lineNo: number, n: number, chains: number, nameEnd: number, hash: number): boolean {
    const { text, data } = this;
    const first = text.charCodeAt(start);
    if (first === CH_COLON) {
      const index = this.#index;
      if (index === null) return this.#fail('syntax', `line ${lineNo}: chain declaration before any *table line`, lineNo);
      let q = nameEnd;
      let h = hash;
      if (q < 0) {
        q = start + 1;
        while (q < end) {
          const c = text.charCodeAt(q);
          if (c === CH_SPACE) break;
          h = hashStep(h, c);
          q++;
        }
      }
      if (q === start + 1) return this.#fail('syntax', `line ${lineNo}: chain declaration without a name`, lineNo);
      let r = q + 1;
      while (r < end && text.charCodeAt(r) !== CH_SPACE) r++;
      if (q + 1 >= end || r === q + 1) return this.#fail('syntax', `line ${lineNo}: chain ${text.slice(start + 1, q)} has no policy`, lineNo);
      let packets = 0;
      let bytes = 0;
      let s = r;
      while (s < end && text.charCodeAt(s) === CH_SPACE) s++;
      if (s < end) {
        const counters = this.#counters;
        const after = text.charCodeAt(s) === CH_LBRACKET ? readCounters(text, s, end, counters) : -1;
        if (after < 0 || after !== end) return this.#fail('syntax', `line ${lineNo}: malformed chain counters for ${text.slice(start + 1, q)}`, lineNo);
        packets = counters.a;
        bytes = counters.b;
      }
      if (index.find(start + 1, q - start - 1, h) >= 0) {
        return this.#fail('syntax', `line ${lineNo}: chain ${text.slice(start + 1, q)} declared twice`, lineNo);
      }
      const chain = data.addChain(start + 1, q, q + 1, r, lineNo, packets, bytes);
      index.add(chain, h);
      this.#declChains.push(chain);
      this.sawContent = true;
      return true;
    }

    if (first === 35 /* # */) {
      const line = text.slice(start, end);
      if (line.startsWith(INCOMPATIBLE_PREFIX) && line.endsWith(INCOMPATIBLE_SUFFIX)) {
        const name = line.slice(INCOMPATIBLE_PREFIX.length, line.length - INCOMPATIBLE_SUFFIX.length);
        return this.#fail('incompatible', `line ${lineNo}: table ${name} is incompatible with iptables-nft (use nft to read it)`, lineNo);
      }
      if (line.startsWith(LEGACY_WARNING_PREFIX) || (line.startsWith(INCOMPATIBLE_PREFIX) && line.endsWith(INCOMPATIBLE_CHAINS_SUFFIX))) {
        this.warnings.push({ line: lineNo, message: line.slice(2) });
      } else if (this.generatedBy === null && line.startsWith(GENERATED_PREFIX)) {
        this.generatedBy = line.slice(2);
      }
      return true;
    }

    if (first === 42 /* * */) {
      const table = this.#table;
      if (table !== null) return this.#fail('syntax', `line ${lineNo}: table ${table.name} (line ${table.line}) not committed before a new *table`, lineNo);
      const name = text.slice(start + 1, end).trimEnd();
      if (name.length === 0 || name.includes(' ')) return this.#fail('syntax', `line ${lineNo}: bad table line`, lineNo);
      if (this.#seenTables.has(name)) return this.#fail('syntax', `line ${lineNo}: table ${name} appears twice`, lineNo);
      this.#seenTables.add(name);
      const from = data.chainCount;
      this.#table = new IptablesTable(name, lineNo, data, from);
      this.tables.push(this.#table);
      // without a count: a Calico declaration per ~1 KiB of dump (16 698 in the 15.7 MB benchmark)
      this.#index = new ChainIndex(data, chains >= 0 ? chains + 8 : Math.min((text.length - end) >> 10, 1 << 15));
      this.#cursor = from;
      this.sawContent = true;
      return true;
    }

    if (end - start === 6 && text.startsWith('COMMIT', start)) {
      const table = this.#table;
      if (table === null) return this.#fail('syntax', `line ${lineNo}: COMMIT outside a table`, lineNo);
      if (this.last >= 0) data.addRun(this.last, this.runFrom, n);
      table.close(data.chainCount);
      this.#table = null;
      this.#index = null;
      this.last = -1;
      return true;
    }

    return this.#fail('syntax', `line ${lineNo}: unrecognised line "${text.slice(start, Math.min(end, start + 60))}"`, lineNo);
  }

  /** The end of the input after `lines` lines and n rule records. */
  finish(lines: number, n: number): Parsed<IptablesDump> {
    const table = this.#table;
    if (table !== null) {
      return parseError('truncated', `line ${lines}: input ends inside table ${table.name} (opened at line ${table.line}) without COMMIT`, lines);
    }
    if (!this.sawContent) {
      return lines === 0 ? parseError('empty', 'empty input') : parseError('empty', `line ${lines}: no iptables table in input`, lines);
    }
    this.data.n = n;
    return parsed({ tables: this.tables, generatedBy: this.generatedBy, hasCounters: this.hasCounters, warnings: this.warnings });
  }
}

const malformedCounters = (text: string, start: number, end: number, lineNo: number) =>
  parseError('syntax', `line ${lineNo}: malformed counters "${text.slice(start, Math.min(end, start + 40))}"`, lineNo);
const unterminatedQuote = (lineNo: number) => parseError('syntax', `line ${lineNo}: unterminated quote`, lineNo);

export interface ParseOptions {
  /**
   * `auto` (default): the WebAssembly scan for the rule lines when it can answer (ASCII text),
   * else the JavaScript loop; `js`: always the JavaScript loop. Both give the same result (tested).
   */
  scanner?: 'auto' | 'js';
  /**
   * Let the scan's memory go after this parse (a chunk of the text and the rule records: ~5 MB
   * for a 15 MB dump). For callers that parse once in a while (the collector, the CLI); a caller
   * parsing often keeps it (the default) and saves growing it again.
   */
  releaseMemory?: boolean;
  /** characters the scan copies into its memory at a time (default SCAN_CHUNK, 1 Mi; tests use tiny ones) */
  scanChunk?: number;
}

/** Parses a whole `iptables-save [-c]` dump. Never throws. */
export function parseIptablesSave(text: string, options: ParseOptions = {}): Parsed<IptablesDump> {
  const scan = options.scanner === 'js' ? null : scanRules(text, { release: options.releaseMemory === true, chunk: options.scanChunk });
  if (scan !== null) {
    const result = wasmPass(new Pass(text, new ParseData(text, scan.decls + 16)), scan);
    if (result !== null) return result;
  }
  // a Calico rule line is ~150 bytes, a chain per ~6 rules (16 698 chains for 100k rules in the
  // benchmark dump): size the records once for the usual case (capped: the input may be mostly not
  // rules; the arrays double when needed)
  const expected = Math.min(Math.ceil(text.length / 120), 1 << 17);
  return jsPass(new Pass(text, new ParseData(text, Math.min(Math.ceil(expected / 6), 1 << 15))), expected);
}

/**
 * The driver over a WebAssembly scan: rule records are done, the events go to `pass`. Null in the
 * one case the scan leaves to JavaScript (it stops at a rule line without `-A `, which the
 * JavaScript side should then have failed on).
 */
function wasmPass(pass: Pass, scan: RuleScan): Parsed<IptablesDump> | null {
  const { text, data } = pass;
  data.adopt(scan);
  pass.hasCounters = scan.hasCounters;
  const ev = scan.ev;
  for (let b = 0; b < ev.length; b += EV) {
    const lineNo = ev[b] as number;
    const r = ev[b + 3] as number;
    if (ev[b + 4] === EV_RUN) {
      if (pass.runStart(ev[b + 7] as number, ev[b + 2] as number, lineNo, r, ev[b + 6] as number) < 0) return pass.failure as Failure;
    } else if (!pass.line(ev[b + 1] as number, ev[b + 2] as number, lineNo, r, ev[b + 5] as number, ev[b + 6] as number, ev[b + 7] as number)) {
      return pass.failure as Failure;
    }
  }
  // the scan stopped at its first malformed rule line; the events before it were fine
  if (scan.errKind === ERR_COUNTERS) return malformedCounters(text, scan.errStart, scan.errEnd, scan.lines);
  if (scan.errKind === ERR_QUOTE) return unterminatedQuote(scan.lines);
  if (scan.errKind !== 0) return null;
  return pass.finish(scan.lines, scan.n);
}

/**
 * The driver in JavaScript: one pass over the text with indexOf / charCodeAt. A rule line's
 * `-A CHAIN` is checked against the previous rule line's in place; only the first line of a run goes
 * to `pass`.
 */
function jsPass(pass: Pass, expected: number): Parsed<IptablesDump> {
  const { text, data } = pass;
  const len = text.length;
  data.reserve(Math.max(64, expected));
  let rec = data.rec;
  let ctr = data.ctr;
  let n = 0; // rule records so far
  // the previous rule line's `-A NAME` text (a slice of the input)
  let lastPrefix = '';
  const counters = { a: 0, b: 0 };
  // next '"' at or after the current rule's arguments (amortised: each quote is found once)
  let nextQuote = -1;
  let lastOpen = -1;
  let lineNo = 0;
  let pos = 0;

  while (pos < len) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    lineNo++;
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === CH_CR) end--;
    const start = pos;
    pos = nl + 1;
    if (end === start) continue; // blank line
    const first = text.charCodeAt(start);
    if (first !== 45 /* - */ && first !== CH_LBRACKET) {
      if (!pass.line(start, end, lineNo, n, -1, -1, 0)) return pass.failure as Failure;
      continue;
    }
    // rule line: [pkts:bytes] -A CHAIN tokens...
    let p = start;
    let packets = -1;
    let bytes = 0;
    if (first === CH_LBRACKET) {
      const after = readCounters(text, start, end, counters);
      if (after < 0) return malformedCounters(text, start, end, lineNo);
      packets = counters.a;
      bytes = counters.b;
      pass.hasCounters = true;
      p = after;
      while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
    }
    const textStart = p;
    let q = p + lastPrefix.length;
    // rules come grouped by chain: most lines start like the previous one. Check its `-A CHAIN`
    // in place first: the character after it must end the name, then one native search in a
    // slice exactly one character longer (bounded, makes no copy)
    if (!(pass.last >= 0 && q <= end && (q === end || text.charCodeAt(q) === CH_SPACE) && text.slice(p, q + 1).indexOf(lastPrefix) === 0)) {
      q = pass.runStart(textStart, end, lineNo, n, -1);
      if (q < 0) return pass.failure as Failure;
      lastPrefix = text.slice(textStart, q);
    }
    // quoting check without tokenizing (tokens are derived lazily): quotes must balance,
    // inside quotes a backslash escapes the next character (as in tokenize)
    if (nextQuote < q) {
      nextQuote = text.indexOf('"', q);
      if (nextQuote < 0) nextQuote = len; // none left: do not search again for every line
    }
    let inQuote = false;
    while (nextQuote < end) {
      if (inQuote) {
        let bs = 0;
        let b = nextQuote - 1;
        while (b > lastOpen && text.charCodeAt(b) === CH_BACKSLASH) {
          bs++;
          b--;
        }
        if ((bs & 1) === 0) inQuote = false;
      } else {
        inQuote = true;
        lastOpen = nextQuote;
      }
      nextQuote = text.indexOf('"', nextQuote + 1);
      if (nextQuote < 0) nextQuote = len;
    }
    if (inQuote) return unterminatedQuote(lineNo);
    let k = n * REC;
    if (k + REC > rec.length) {
      data.grow();
      rec = data.rec;
      ctr = data.ctr;
    }
    rec[k++] = lineNo;
    rec[k++] = textStart;
    rec[k++] = end;
    rec[k] = q - textStart;
    ctr[n * 2] = packets;
    ctr[n * 2 + 1] = bytes;
    n++;
  }
  return pass.finish(lineNo, n);
}

/** Derives target, comments, cali id and ipset matches from a rule's tokens (one loop). */
const deriveFromTokens = (tokens: string[]): Derived => {
  let target: string | null = null;
  let targetKind: 'jump' | 'goto' | null = null;
  let targetArgs: string[] = [];
  const comments: string[] = [];
  let caliId: string | null = null;
  const matchSets: IptablesSetMatch[] = [];
  const n = tokens.length;
  for (let i = 0; i < n; i++) {
    const t = tokens[i] as string;
    if (t.charCodeAt(0) !== 45 /* - */ || t.length < 2) continue;
    if (t === '--comment') {
      const v = tokens[i + 1];
      if (v === undefined) continue;
      comments.push(v);
      if (caliId === null && v.startsWith('cali:')) caliId = v.slice(5);
      i++;
    } else if (t === '--match-set') {
      const name = tokens[i + 1];
      if (name === undefined) continue;
      matchSets.push({ name, negated: i > 0 && tokens[i - 1] === '!', direction: tokens[i + 2] ?? '' });
      i += 2;
    } else if ((t === '-j' || t === '-g' || t === '--jump' || t === '--goto') && target === null) {
      const v = tokens[i + 1];
      if (v === undefined) continue;
      target = v;
      targetKind = t === '-j' || t === '--jump' ? 'jump' : 'goto';
      if (i + 2 < n) targetArgs = tokens.slice(i + 2);
      break; // iptables-save prints the target last; its options follow
    }
  }
  return { tokens, target, targetKind, targetArgs, comments, caliId, matchSets };
};

/**
 * Groups a rule's tokens (before its target) into basic options and `-m` match modules, each
 * option with its `!` negation and values. For a checks author who needs more than the fields
 * `parseIptablesSave` derives.
 */
export function ruleMatches(rule: Pick<IptablesRule, 'tokens'>): IptablesMatch[] {
  const out: IptablesMatch[] = [];
  let current: IptablesMatch = { module: null, options: [] };
  out.push(current);
  let negateNext = false;
  const toks = rule.tokens;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as string;
    if (t === '-j' || t === '-g' || t === '--jump' || t === '--goto') break;
    if (t === '!') {
      negateNext = true;
      continue;
    }
    if (t === '-m' || t === '--match') {
      current = { module: toks[i + 1] ?? '', options: [] };
      out.push(current);
      i++;
      continue;
    }
    if (t.length > 1 && t.charCodeAt(0) === 45) {
      const opt: IptablesMatchOption = { flag: t, negated: negateNext, values: [] };
      negateNext = false;
      // basic options take exactly one value; module options take the values up to the next flag
      const basic = current.module === null && t.charCodeAt(1) !== 45 && t !== '-f';
      while (i + 1 < toks.length) {
        const v = toks[i + 1] as string;
        if (v === '!' || (v.length > 1 && v.charCodeAt(0) === 45 && !(t === '--comment' && opt.values.length === 0))) break;
        opt.values.push(v);
        i++;
        if (basic || t === '--comment') break;
      }
      // basic option flags of the leading group belong there even after a -m module
      current.options.push(opt);
      continue;
    }
    // a stray value: attach to the previous option
    const prev = current.options[current.options.length - 1];
    if (prev) prev.values.push(t);
  }
  if (out[0] && out[0].options.length === 0 && out.length > 1) out.shift();
  return out;
}

/** Totals over a dump: tables, chains, rules, and packets/bytes summed over rule counters. */
export function iptablesTotals(dump: IptablesDump): IptablesTotals {
  let chains = 0;
  let rules = 0;
  let packets = 0;
  let bytes = 0;
  for (const table of dump.tables) {
    chains += table.chains.length;
    for (const chain of table.chains) {
      rules += chain.ruleCount;
      const c = chain.ruleCounters();
      packets += c.packets;
      bytes += c.bytes;
    }
  }
  return { tables: dump.tables.length, chains, rules, packets, bytes };
}

/** Tokenizes one line of iptables arguments as iptables-restore does; null on an unterminated quote. */
export function tokenizeIptablesArgs(text: string): string[] | null {
  const out: string[] = [];
  return tokenize(text, 0, text.length, out) ? out : null;
}
