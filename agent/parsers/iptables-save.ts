/**
 * Our own parser for `iptables-save` / `ip6tables-save` output (with or without `-c`). Pure: no IO,
 * never throws; bad input gives a typed error naming its 1-based line.
 *
 * Grammar (one item per line; blank lines are skipped; a trailing `\r` is dropped):
 *
 *   dump        = { comment | table }
 *   table       = "*" NAME  { comment | declaration | rule }  "COMMIT"
 *   declaration = ":" CHAIN " " POLICY [ " " counters ]          POLICY is "-" for a user chain
 *   rule        = [ counters ] "-A " CHAIN { argument }             spaces separate the parts
 *   counters    = "[" DIGITS ":" DIGITS "]"                       packets, bytes
 *   argument    = a token as iptables-restore reads it: blanks separate tokens; `"` opens a quoted
 *                 part in which `\x` stands for `x`, and its closing `"` ends the token
 *   comment     = "#" ...
 *
 * The state machine has two states, one step per line:
 *
 *            "*name"                   "COMMIT"
 *   OUTSIDE ─────────▶ IN TABLE name ──────────▶ OUTSIDE
 *                       ▲       │ ":CHAIN ...", "[p:b] -A CHAIN ...", "# ..."
 *                       └───────┘
 *
 *   OUTSIDE reads comments and `*name`; IN TABLE reads comments, declarations, rules and `COMMIT`.
 *   Declarations may follow rules (iptables-restore accepts that; iptables-save never prints it).
 *   End of input: OUTSIDE gives the dump (or `empty` when no table was read), IN TABLE `truncated`.
 *
 * Strictness follows iptables-restore, which is what would load the text back:
 *  - a rule, declaration or COMMIT outside a table, `*name` inside one, a table seen twice → `syntax`;
 *  - a rule for a chain that was never declared: builtin chains of the table are implicit
 *    (iptables-restore accepts `-A INPUT` without `:INPUT`), user chains must be declared
 *    (iptables-restore fails "chain ... does not exist") → `syntax`;
 *  - a chain declared twice, malformed counters, an unterminated quote, or a line that is none of
 *    the kinds above → `syntax`;
 *  - a table without COMMIT at the end of input → `truncated` (partial dumps, cut pastes);
 *  - no table at all → `empty`;
 *  - iptables-nft's "# Table `x' is incompatible, use 'nft' tool." → `incompatible`
 *    (iptables-nft-save prints it on stdout and exits 0, projectcalico/calico#8403);
 *  - iptables-nft ≥ 1.8.9's "# Table `x' contains incompatible base-chains, use 'nft' tool to list
 *    them." is followed by the table's iptables-visible part: recorded in `warnings`, parsing goes on
 *    (the chains it hides are not iptables chains, so not Felix's);
 *  - "# Warning: iptables-legacy tables present, ..." is recorded in `warnings` and ignored.
 *
 * The parse checks every line but tokenizes no rule and makes no object per rule: it keeps the line
 * number and offset of each rule line, and a chain makes `IptablesRule` objects of its own on access;
 * a rule's tokens, target, comments, `cali:` id and ipset matches are derived on first use (a
 * 100k-rule dump is mostly read for totals and a few DROP rules). `ruleMatches` groups a rule's
 * tokens into options and match modules on demand.
 *
 * Speed (bench/iptables.ts: 100k Calico-like rules, 15.7 MB, at most 4× a bare `split('\n')`):
 * rule lines are read in place in the input, without a copy of each line; a rule's chain is first
 * compared with the previous rule line's (its name's code units, in place) and the next declared
 * ones (iptables-save prints rules chain by chain in declaration order), then looked up by name; the
 * search for quotes goes once over the input, not once per line.
 *
 * Memory (#17): `parseIptablesSaveBytes` reads the bytes a save command printed as they are, so the
 * dump is never one string (a 15.7 MB dump was held as its bytes and its text while it was
 * decoded); a line is decoded when it is read. Both entry points share one parse over code units
 * (`Source`). A reader done with the rules past a point can give that part of the bytes back
 * (`IptablesChain.releaseInputFrom`).
 */
import type { ParseError } from '../../contract/result.js';

// ─── The dump ────────────────────────────────────────────────────────────────────────────────────

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
 * One `-A` line. The fields the parse reads are set at once; the tokens and everything derived from
 * them are computed on first access of any of those getters and kept. Memoisation is the only
 * mutation.
 */
export class IptablesRule {
  #derived: Derived | undefined = undefined;
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
    /** offset in `text` where the arguments after `-A CHAIN` start */
    private readonly argsAt: number,
  ) {}

  #derive(): Derived {
    // the parse checked the quotes, so the tokenizer always succeeds here
    this.#derived ??= deriveFromTokens(tokenize(this.text, this.argsAt) ?? []);
    return this.#derived;
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
    const { line, chain, index, packets, bytes, text } = this;
    return { line, chain, index, packets, bytes, text, ...this.#derive() };
  }
}

/**
 * One chain of a table. It knows which of the parse's rule lines are its own and makes
 * `IptablesRule` objects from them on access: `rules` makes them all once and keeps them; `ruleAt`,
 * `ruleTextAt` and `ruleCounters` read single lines (the collector walks 100k rules for a few DROP
 * ones). Only the parse adds rules; the kept `rules` are the only other mutation.
 */
export class IptablesChain {
  readonly #lines: RuleLines;
  /**
   * This chain's rules: the `#count` rule lines from number `#first` on, or the list `#ids` once
   * another chain's rule came between two of them (iptables-save prints a chain's rules together).
   */
  #first = 0;
  #count = 0;
  #ids: number[] | null = null;
  #rules: IptablesRule[] | undefined = undefined;
  /** @internal made by the parse */
  constructor(
    readonly name: string,
    /** ACCEPT / DROP / … for builtin chains, null for user chains (`-`) and implicit builtin chains */
    readonly policy: string | null,
    /** chain counters from the declaration (builtin chains carry policy counters) */
    readonly packets: number,
    readonly bytes: number,
    readonly builtin: boolean,
    /** line of the declaration, null for a builtin chain used without one */
    readonly line: number | null,
    lines: RuleLines,
  ) {
    this.#lines = lines;
  }
  /** @internal the parse found rule line number `id` of this chain */
  addRule(id: number): void {
    if (this.#ids === null && this.#count > 0 && this.#first + this.#count !== id) {
      this.#ids = Array.from({ length: this.#count }, (_, i) => this.#first + i);
    }
    if (this.#ids !== null) this.#ids.push(id);
    else if (this.#count === 0) this.#first = id;
    this.#count++;
  }
  get ruleCount(): number {
    return this.#count;
  }
  /** the i-th rule (0-based): the kept one once `rules` was read, else a new object */
  ruleAt(i: number): IptablesRule {
    const id = this.#id(i);
    if (this.#rules !== undefined) return this.#rules[i] as IptablesRule;
    const { r, end } = this.#read(id);
    const { src } = this.#lines;
    const text = src.slice(r.at, end);
    // where the arguments start in the text: in code units, unless a multi-byte character came before
    const argsAt = text.length === end - r.at ? r.nameEnd - r.at : src.slice(r.at, r.nameEnd).length;
    return new IptablesRule(this.#lines.lineNumber(id), this.name, i + 1, r.packets, r.bytes, text, argsAt);
  }
  /** the i-th rule's text (0-based) without making the rule, e.g. for a cheap filter on it */
  ruleTextAt(i: number): string {
    const { src } = this.#lines;
    const [from, end] = this.#textRange(i);
    return src.slice(from, end);
  }
  /** where this chain's last rule line ends in the input (in code units; 0 without rules) */
  get inputEnd(): number {
    if (this.#count === 0) return 0;
    const { units } = this.#lines.src;
    return Math.min(units.length, this.#lines.end(this.#id(this.#count - 1)) + 1);
  }
  /**
   * Gives back the memory of the dump's input from code unit `from` on, when it was read in place
   * from a runner's bytes (`parseIptablesSaveBytes`; for other input nothing happens): for a reader
   * done with every rule line there (`inputEnd` of the chains it still reads tells how much they
   * need). Reading a rule there afterwards is a RangeError (a caller's bug).
   */
  releaseInputFrom(from: number): void {
    this.#lines.src.keepOnly(from);
  }
  /** the i-th rule line's text range from its `-A` to its line end */
  #textRange(i: number): [number, number] {
    const id = this.#readable(i);
    return [this.#lines.text(id), this.#lines.end(id)];
  }
  get rules(): IptablesRule[] {
    this.#rules ??= Array.from({ length: this.ruleCount }, (_, i) => this.ruleAt(i));
    return this.#rules;
  }
  /** the i-th rule's counters (0-based) without making the rule; null without -c */
  ruleCountersAt(i: number): { packets: number; bytes: number } | null {
    const { units } = this.#lines.src;
    const start = this.#offset(i);
    // the parse checked the line: its counters end before its line end
    return units[start] === LBRACKET ? readCountersU(units, start, units.length) : null;
  }
  /**
   * A fingerprint of this chain's rules as printed, counters left out: the rule count and two
   * seeded 32-bit hashes (two MurmurHash3-style mixes with different constants, over each rule line
   * from its `-A` on as 32-bit little-endian words, then its length: `hashRule`), read in place
   * (its code units: UTF-8 bytes for a dump read as bytes, else UTF-16 ones, the same for ASCII).
   * The same rules give the same fingerprint in any dump, wherever they are in it; rules that
   * differ give the same one only if both hashes collide (#17: the daemon re-reduces only the
   * chains whose fingerprint changed, agent/collectors/iptables.ts; the seed is per process).
   */
  fingerprint(seed: number): string {
    const h = new Int32Array(2);
    this.fingerprintInto(seed, h);
    return `${this.#count}:${((h[0] as number) >>> 0).toString(36)}:${((h[1] as number) >>> 0).toString(36)}`;
  }
  /**
   * The two hashes of `fingerprint` (without the rule count, `ruleCount`) written to `h[0]` and
   * `h[1]`, for a caller that compares fingerprints of many chains without making strings (#17).
   */
  fingerprintInto(seed: number, h: Int32Array): void {
    const { src } = this.#lines;
    const { units, words } = src;
    h[0] = seed | 0;
    h[1] = ~seed | 0;
    for (let i = 0; i < this.#count; i++) {
      const id = this.#readable(i);
      hashRule(units, words, this.#lines.text(id), this.#lines.end(id), h);
    }
  }
  /** packets/bytes summed over this chain's rule counters (0 without -c) */
  ruleCounters(): { packets: number; bytes: number } {
    let packets = 0;
    let bytes = 0;
    for (let i = 0; i < this.ruleCount; i++) {
      const { r } = this.#read(this.#id(i));
      packets += r.packets ?? 0;
      bytes += r.bytes ?? 0;
    }
    return { packets, bytes };
  }
  /** the number of the i-th rule line of this chain; a RangeError for an i past its rules (a caller's bug) */
  #id(i: number): number {
    if (!(i >= 0 && i < this.#count)) throw new RangeError(`chain ${this.name} has no rule ${i} (it has ${this.#count})`);
    return this.#ids === null ? this.#first + i : (this.#ids[i] as number);
  }
  /** where the i-th rule line starts in the input; a RangeError for an i past its rules or for a line given back (a caller's bug) */
  #offset(i: number): number {
    return this.#lines.offset(this.#readable(i));
  }
  /** the number of the i-th rule line, whose input is still held; a RangeError as `#offset` */
  #readable(i: number): number {
    const id = this.#id(i);
    if (this.#lines.offset(id) >= this.#lines.src.length) throw new RangeError(`chain ${this.name}: rule ${i} was read after its input was given back`);
    return id;
  }
  /** rule line number `id` read again (the parse checked it) */
  #read(id: number): { r: RuleLine; end: number } {
    const { units } = this.#lines.src;
    const start = this.#lines.offset(id);
    if (start >= units.length) throw new RangeError(`chain ${this.name}: a rule was read after its input was given back`);
    const end = this.#lines.end(id);
    return { r: readRuleLine(units, start, end) as RuleLine, end };
  }
  toJSON() {
    const { name, policy, packets, bytes, builtin, line, rules } = this;
    return { name, policy, packets, bytes, builtin, line, rules };
  }
}

/** One `*table` … `COMMIT` block; chains in order of declaration (or of first use, if implicit). */
export interface IptablesTable {
  name: string;
  /** line of the `*table` line */
  line: number;
  chains: IptablesChain[];
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

/**
 * Why the input is not a dump. `line` (1-based) and `text` (that line, without its line end) are
 * set for every error but `empty` input; `message` starts with `line N: `.
 */
export interface IptablesParseError extends ParseError {
  code: 'empty' | 'syntax' | 'truncated' | 'incompatible';
  text?: string;
}

export type IptablesParsed = { ok: true; value: IptablesDump } | { ok: false; error: IptablesParseError };

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

// ─── The parser ──────────────────────────────────────────────────────────────────────────────────

/** Builtin chains per table (iptables and ip6tables). */
const BUILTIN: Record<string, ReadonlySet<string>> = {
  filter: new Set(['INPUT', 'FORWARD', 'OUTPUT']),
  nat: new Set(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']),
  mangle: new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']),
  raw: new Set(['PREROUTING', 'OUTPUT']),
  security: new Set(['INPUT', 'FORWARD', 'OUTPUT']),
};
const NO_BUILTIN: ReadonlySet<string> = new Set();

const INCOMPATIBLE_PREFIX = '# Table `';
const INCOMPATIBLE_SUFFIX = "' is incompatible, use 'nft' tool.";
const INCOMPATIBLE_CHAINS_SUFFIX = "' contains incompatible base-chains, use 'nft' tool to list them.";
const LEGACY_WARNING_PREFIX = '# Warning: iptables-legacy tables present';
const GENERATED_PREFIX = '# Generated by ';

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const STAR = 42;
const DASH = 45;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const COLON = 58;
const LETTER_A = 65;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;

/** Parses a whole `iptables-save [-c]` dump. Never throws. */
export function parseIptablesSave(text: string): IptablesParsed {
  return new Parser(Source.ofText(text)).parse();
}

/**
 * Parses a whole `iptables-save [-c]` dump given as the UTF-8 bytes a save command printed, in
 * place: the dump is never one string; a line's text is decoded when it is read (declarations,
 * errors, the rules and rule texts asked for). The same result as `parseIptablesSave` of the bytes
 * decoded (invalid UTF-8 as U+FFFD), line numbers and error texts included. The dump keeps `bytes`
 * (not a copy): they must not change while it is used. Never throws.
 */
export function parseIptablesSaveBytes(bytes: Uint8Array): IptablesParsed {
  return new Parser(Source.ofBytes(bytes)).parse();
}

/**
 * The input as code units the parse reads in place, and the text of a range of them. Every
 * character the grammar names is ASCII, which is one code unit both in UTF-8 (bytes) and in UTF-16
 * (a string's code units) and is never part of another character's units: so the parse reads
 * either alike, and a range between two ASCII units decodes to the same text as that part of the
 * whole input decoded. Bytes are UTF-8 (decoded per range, invalid sequences as U+FFFD, as a
 * decode of the whole would); a string is read as its UTF-16 units, or as bytes when it is ASCII
 * (the common case: half the copy), and its ranges are its own slices.
 */
class Source {
  #units: Uint8Array | Uint16Array;
  private constructor(
    units: Uint8Array | Uint16Array,
    /** the string the units are of, or null for bytes (UTF-8) */
    readonly text: string | null,
  ) {
    this.#units = units;
  }
  get units(): Uint8Array | Uint16Array {
    return this.#units;
  }
  /**
   * Gives back the memory of the units from `from` on, when they are bytes in a resizable buffer
   * (a runner's output, agent/exec/runner.ts) that starts with them; else does nothing. The units
   * are then the first `from` ones.
   */
  keepOnly(from: number): void {
    const u = this.#units;
    const buf = u.buffer;
    if (this.text !== null || !(buf instanceof ArrayBuffer) || !buf.resizable || u.byteOffset !== 0 || from >= u.length) return;
    buf.resize(from);
    this.#units = Buffer.from(buf, 0, from);
    this.#words = undefined;
  }
  #words: Uint32Array | null | undefined = undefined;
  /**
   * The units as little-endian 32-bit words (word k = units 4k to 4k+3), when they are bytes that
   * start at a 4-byte boundary on a little-endian machine; else null. For hashing four bytes per
   * step (`hashRule`).
   */
  get words(): Uint32Array | null {
    if (this.#words === undefined) {
      const u = this.#units;
      this.#words = u instanceof Uint8Array && LITTLE_ENDIAN && u.byteOffset % 4 === 0 ? new Uint32Array(u.buffer, u.byteOffset, u.length >>> 2) : null;
    }
    return this.#words;
  }
  static ofBytes(bytes: Uint8Array): Source {
    return new Source(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), null);
  }
  static ofText(text: string): Source {
    if (Buffer.byteLength(text, 'utf8') === text.length) return new Source(Buffer.from(text, 'latin1'), text);
    const units = new Uint16Array(text.length);
    for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
    return new Source(units, text);
  }
  get length(): number {
    return this.units.length;
  }
  /** the text of units [from, to) */
  slice(from: number, to: number): string {
    return this.text !== null ? this.text.slice(from, to) : (this.units as Buffer).toString('utf8', from, to);
  }
}

/**
 * The rule lines of one parse in input order: the line number, offset and end of each, numbered from 0.
 * Typed arrays, so that a big dump leaves few objects for the garbage collector to copy. Only
 * appended to.
 */
class RuleLines {
  #lineNumbers = new Int32Array(1024);
  #offsets = new Int32Array(1024);
  /** where each line ends (before its line end), so that a rule is read again without a search */
  #ends = new Int32Array(1024);
  /** where each line's `-A` is (after its counters), so that a rule's text is found without a search (#17) */
  #texts = new Int32Array(1024);
  #count = 0;
  constructor(readonly src: Source) {}
  /** Adds the rule line n, units [offset, end) with its `-A` at `text`; returns its number. */
  add(n: number, offset: number, end: number, text: number): number {
    if (this.#count === this.#offsets.length) {
      this.#lineNumbers = doubled(this.#lineNumbers);
      this.#offsets = doubled(this.#offsets);
      this.#ends = doubled(this.#ends);
      this.#texts = doubled(this.#texts);
    }
    this.#lineNumbers[this.#count] = n;
    this.#offsets[this.#count] = offset;
    this.#ends[this.#count] = end;
    this.#texts[this.#count] = text;
    return this.#count++;
  }
  end(id: number): number {
    return this.#ends[id] as number;
  }
  /** where rule line `id`'s `-A` is */
  text(id: number): number {
    return this.#texts[id] as number;
  }
  lineNumber(id: number): number {
    return this.#lineNumbers[id] as number;
  }
  offset(id: number): number {
    return this.#offsets[id] as number;
  }
}

const doubled = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
};

/** The table being read (state IN TABLE). */
interface OpenTable {
  table: IptablesTable;
  /** the table's builtin chains */
  builtin: ReadonlySet<string>;
  /** index of each chain in `table.chains` by name */
  byName: Map<string, number>;
  /** index of the chain of the last rule line */
  cursor: number;
  /** the last rule line's chain and where its name is in the input: a rule line naming it by the same units is its (no name is made) */
  last: IptablesChain | null;
  lastAt: number;
  lastEnd: number;
}

/** How many chains from that of the last rule line on `chainOfRule` compares before it looks a name up. */
const PROBE = 4;

/**
 * One parse: `parse` cuts the input into lines, `step` reads one line (not blank) and returns null,
 * or the error that ends the parse. Lines are handled as unit offsets [start, end) into the input
 * (without the line end); rule lines, nearly all of a big dump, are read in place, other lines as
 * strings.
 */
class Parser {
  readonly tables: IptablesTable[] = [];
  readonly warnings: IptablesWarning[] = [];
  generatedBy: string | null = null;
  hasCounters = false;
  /** the table being read; null in state OUTSIDE */
  open: OpenTable | null = null;
  /** where the first `"` at or after the last rule line read is (`quotesClosed`) */
  nextQuote = -1;

  readonly ruleLines: RuleLines;
  /** the rule line being read (`scanRuleLine`) */
  readonly scratch: RuleLine = { packets: null, bytes: null, at: 0, nameAt: 0, nameEnd: 0 };
  readonly units: Uint8Array | Uint16Array;

  constructor(readonly src: Source) {
    this.ruleLines = new RuleLines(src);
    this.units = src.units;
  }

  parse(): IptablesParsed {
    const u = this.units;
    let n = 0;
    let start = 0;
    let end = 0;
    for (let next = 0; next < u.length; next = end + (u[end] === CR ? 2 : 1)) {
      n++;
      start = next;
      end = lineEnd(u, start);
      const error = end > start ? this.step(start, end, n) : null;
      if (error !== null) return { ok: false, error };
    }
    return this.finish(n, this.src.slice(start, end));
  }

  step(start: number, end: number, n: number): IptablesParseError | null {
    switch (this.units[start]) {
      case DASH:
      case LBRACKET:
        return this.rule(start, end, n);
      case COLON:
        return this.declaration(this.src.slice(start, end), n);
      case HASH:
        return this.comment(this.src.slice(start, end), n);
      case STAR:
        return this.tableHeader(this.src.slice(start, end), n);
      default: {
        const line = this.src.slice(start, end);
        if (line === 'COMMIT') return this.commit(line, n);
        return syntax(line, n, `unrecognised line "${line.slice(0, 60)}"`);
      }
    }
  }

  /** `[p:b] -A CHAIN args...` at units [start, end): adds the rule to its chain. */
  rule(start: number, end: number, n: number): IptablesParseError | null {
    const line = (): string => this.src.slice(start, end);
    if (this.open === null) return syntax(line(), n, 'rule before any *table line');
    const r = this.scratch;
    const why = scanRuleLine(this.units, start, end, r);
    if (why !== RULE_LINE) return syntax(line(), n, ruleLineProblem(line(), why, start));
    const chain = this.chainOfRule(r);
    if (chain === null) {
      return syntax(line(), n, `rule for undeclared chain "${this.src.slice(r.nameAt, r.nameEnd)}" in table ${this.open.table.name}`);
    }
    if (!this.quotesClosed(r.at, end)) return syntax(line(), n, 'unterminated quote');
    if (r.packets !== null) this.hasCounters = true;
    chain.addRule(this.ruleLines.add(n, start, end, r.at));
    return null;
  }

  /**
   * Whether every quoted part of units [from, end) is closed. The next `"` is searched for from where
   * the last search stopped, not from each line: the input is searched once, however few quotes.
   */
  quotesClosed(from: number, end: number): boolean {
    const u = this.units;
    if (this.nextQuote < from) this.nextQuote = indexOrEndU(u, QUOTE, from);
    while (this.nextQuote < end) {
      const close = closingQuoteU(u, this.nextQuote);
      if (close < 0 || close >= end) return false;
      this.nextQuote = indexOrEndU(u, QUOTE, close + 1);
    }
    return true;
  }

  /**
   * The chain a rule line names in the open table: declared, or an implicit builtin one (made here);
   * null if neither. iptables-save prints the rules chain by chain in declaration order, so the
   * chain is nearly always the previous rule line's (its name's units are compared in place) or one
   * declared shortly after it: those are compared first, before a look-up by name.
   */
  chainOfRule(r: RuleLine): IptablesChain | null {
    const open = this.open as OpenTable;
    if (open.last !== null && sameUnits(this.units, open.lastAt, open.lastEnd, r.nameAt, r.nameEnd)) return open.last;
    const { chains } = open.table;
    const name = this.src.slice(r.nameAt, r.nameEnd);
    let found: number | undefined;
    for (let i = open.cursor; i < chains.length && i < open.cursor + PROBE; i++) {
      if ((chains[i] as IptablesChain).name === name) {
        found = i;
        break;
      }
    }
    found ??= open.byName.get(name);
    if (found === undefined) {
      if (!open.builtin.has(name)) return null;
      found = this.addChain(new IptablesChain(name, null, 0, 0, true, null, this.ruleLines)) as number;
    }
    open.cursor = found;
    open.last = chains[found] as IptablesChain;
    open.lastAt = r.nameAt;
    open.lastEnd = r.nameEnd;
    return open.last;
  }

  /** Adds a chain to the open table: its index there, or null when the table has one of that name. */
  addChain(chain: IptablesChain): number | null {
    const open = this.open as OpenTable;
    const i = open.table.chains.length;
    open.byName.set(chain.name, i);
    if (open.byName.size === i) return null; // the name was there already
    open.table.chains.push(chain);
    return i;
  }

  /** `:CHAIN POLICY [p:b]` */
  declaration(line: string, n: number): IptablesParseError | null {
    if (this.open === null) return syntax(line, n, 'chain declaration before any *table line');
    const nameEnd = indexOrEnd(line, ' ', 1);
    const name = line.slice(1, nameEnd);
    if (name.length === 0) return syntax(line, n, 'chain declaration without a name');
    const policyEnd = indexOrEnd(line, ' ', nameEnd + 1);
    const policy = line.slice(nameEnd + 1, policyEnd);
    if (policy.length === 0) return syntax(line, n, `chain ${name} has no policy`);
    let counters: Counters = { packets: 0, bytes: 0, end: policyEnd };
    const countersAt = skipSpaces(line, policyEnd, line.length);
    if (countersAt < line.length) {
      const read = readCounters(line, countersAt, line.length);
      if (read === null || read.end !== line.length) return syntax(line, n, `malformed chain counters for ${name}`);
      counters = read;
    }
    const builtin = this.open.builtin.has(name);
    const chain = new IptablesChain(name, policy === '-' ? null : policy, counters.packets, counters.bytes, builtin, n, this.ruleLines);
    if (this.addChain(chain) === null) return syntax(line, n, `chain ${name} declared twice`);
    return null;
  }

  /** `# ...`: iptables-nft's incompatibility notice, warnings, the `# Generated by` header, else nothing. */
  comment(line: string, n: number): IptablesParseError | null {
    if (line.startsWith(INCOMPATIBLE_PREFIX) && line.endsWith(INCOMPATIBLE_SUFFIX)) {
      const table = line.slice(INCOMPATIBLE_PREFIX.length, line.length - INCOMPATIBLE_SUFFIX.length);
      return fail('incompatible', line, n, `table ${table} is incompatible with iptables-nft (use nft to read it)`);
    }
    if (line.startsWith(LEGACY_WARNING_PREFIX) || (line.startsWith(INCOMPATIBLE_PREFIX) && line.endsWith(INCOMPATIBLE_CHAINS_SUFFIX))) {
      this.warnings.push({ line: n, message: line.slice(2) });
    } else if (this.generatedBy === null && line.startsWith(GENERATED_PREFIX)) {
      this.generatedBy = line.slice(2);
    }
    return null;
  }

  /** `*name`: OUTSIDE → IN TABLE */
  tableHeader(line: string, n: number): IptablesParseError | null {
    if (this.open !== null) {
      const { name, line: at } = this.open.table;
      return syntax(line, n, `table ${name} (line ${at}) not committed before a new *table`);
    }
    const name = line.slice(1).trimEnd();
    if (name.length === 0 || name.includes(' ')) return syntax(line, n, 'bad table line');
    if (this.tables.some((t) => t.name === name)) return syntax(line, n, `table ${name} appears twice`);
    const table: IptablesTable = { name, line: n, chains: [] };
    this.tables.push(table);
    this.open = { table, builtin: BUILTIN[name] ?? NO_BUILTIN, byName: new Map(), cursor: 0, last: null, lastAt: 0, lastEnd: 0 };
    return null;
  }

  /** `COMMIT`: IN TABLE → OUTSIDE */
  commit(line: string, n: number): IptablesParseError | null {
    if (this.open === null) return syntax(line, n, 'COMMIT outside a table');
    this.open = null;
    return null;
  }

  /** The end of the input after n lines, the last of them `last`. */
  finish(n: number, last: string): IptablesParsed {
    if (this.open !== null) {
      const { name, line } = this.open.table;
      return { ok: false, error: fail('truncated', last, n, `input ends inside table ${name} (opened at line ${line}) without COMMIT`) };
    }
    if (this.tables.length === 0) {
      return { ok: false, error: n === 0 ? { code: 'empty', message: 'empty input' } : fail('empty', last, n, 'no iptables table in input') };
    }
    return { ok: true, value: { tables: this.tables, generatedBy: this.generatedBy, hasCounters: this.hasCounters, warnings: this.warnings } };
  }
}

const fail = (code: IptablesParseError['code'], text: string, line: number, message: string): IptablesParseError => ({
  code,
  message: `line ${line}: ${message}`,
  line,
  text,
});
const syntax = (text: string, line: number, message: string) => fail('syntax', text, line, message);

/** The code units the parse reads: UTF-8 bytes or UTF-16 units (`Source`). */
type Units = Uint8Array | Uint16Array;

/** The end of the line that starts at u[start]: where its `\n` or `\r\n` is, or the end of the input (before a last `\r`). */
const lineEnd = (u: Units, start: number): number => {
  const end = indexOrEndU(u, LF, start);
  return end > start && u[end - 1] === CR ? end - 1 : end;
};

/** The parts of a rule line: its counters, where `-A` starts, where the chain name is (unit offsets). */
interface RuleLine {
  packets: number | null;
  bytes: number | null;
  at: number;
  nameAt: number;
  nameEnd: number;
}

/** Why a line is not a rule line (`readRuleLine`): malformed counters, no `-A ` (at unit `at`, as -at - 1), no chain name. */
const BAD_COUNTERS = 0;
const NO_CHAIN_NAME = 1;

/** `scanRuleLine`'s answer for a rule line. */
const RULE_LINE = 2;

/**
 * Reads `[p:b] -A CHAIN ...` at u[start, end) up to the chain name into `out`: RULE_LINE, or a
 * number that says why it is not a rule line (`ruleLineProblem`). The parse reads every rule line
 * into one object (#17: two objects less per rule line of a 100k-rule dump at every read).
 */
const scanRuleLine = (u: Units, start: number, end: number, out: RuleLine): number => {
  let at = start;
  out.packets = null;
  out.bytes = null;
  if (u[start] === LBRACKET) {
    const after = scanCountersU(u, start, end, out);
    if (after < 0) return BAD_COUNTERS;
    at = skipSpacesU(u, after, end);
  }
  if (!(end - at >= 3 && u[at] === DASH && u[at + 1] === LETTER_A && u[at + 2] === SPACE)) return -at - 1;
  const nameAt = skipSpacesU(u, at + 3, end);
  const nameEnd = nearIndexOrEnd(u, SPACE, nameAt, end);
  if (nameEnd === nameAt) return NO_CHAIN_NAME;
  out.at = at;
  out.nameAt = nameAt;
  out.nameEnd = nameEnd;
  return RULE_LINE;
};

/** `scanRuleLine` into a new object. */
const readRuleLine = (u: Units, start: number, end: number): RuleLine | number => {
  const out: RuleLine = { packets: null, bytes: null, at: 0, nameAt: 0, nameEnd: 0 };
  const why = scanRuleLine(u, start, end, out);
  return why === RULE_LINE ? out : why;
};

/**
 * What `readRuleLine` found wrong with `line` (the text of the units from `start`). The units before
 * `-A` are ASCII (counters and spaces), so an offset there is the same in the text.
 */
const ruleLineProblem = (line: string, why: number, start: number): string => {
  if (why === BAD_COUNTERS) return `malformed counters "${line.slice(0, 40)}"`;
  if (why === NO_CHAIN_NAME) return '"-A" without a chain name';
  const at = -why - 1 - start;
  return `expected "-A CHAIN", got "${line.slice(at, Math.min(line.length, at + 40))}"`;
};

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One word into the first of the fingerprint's two 32-bit hashes (MurmurHash3's block step). */
const mixA = (a: number, w: number): number => {
  let k = Math.imul(w, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  a ^= k;
  return (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
};

/** One word into the second hash: the same step with other constants and rotations. */
const mixB = (b: number, w: number): number => {
  let k = Math.imul(w, 0x85ebca6b);
  k = Math.imul((k << 13) | (k >>> 19), 0xc2b2ae35);
  b ^= k;
  return (Math.imul((b << 17) | (b >>> 15), 5) + 0x561ccd1b) | 0;
};

/** The 32-bit little-endian word of units u[p, p + n) (n ≤ 4; a unit past 255 overlaps the next: still one fixed word per units). */
const wordOf = (u: Units, p: number, n: number): number => {
  let w = 0;
  for (let k = n - 1; k >= 0; k--) w = (w << 8) | (u[p + k] as number);
  return w;
};

/**
 * Adds the rule line u[from, end) to the two running hashes in `h` (`IptablesChain.fingerprint`):
 * its units as 32-bit little-endian words counted from `from` (the last one padded with zeros),
 * then its length, each word mixed into both hashes as MurmurHash3 mixes a block, with two sets
 * of constants. The value depends only on the units, not on where they are: with `words` (the same
 * units as aligned words, `Source.words`) the words are read four units at a time (#17: a 100k-rule
 * dump's 15 MB are hashed at every read of the daemon) and shifted into place when the line does
 * not start at a multiple of 4; else, and for the last partial word, they are made unit by unit.
 */
const hashRule = (u: Units, words: Uint32Array | null, from: number, end: number, h: Int32Array): void => {
  let a = h[0] as number;
  let b = h[1] as number;
  const n = end - from;
  const full = n >>> 2;
  const q = from >>> 2;
  const shift = (from & 3) * 8;
  // whole words, read as words when every aligned word they take is in `words`
  let j = 0;
  if (words !== null && q + full + (shift === 0 ? 0 : 1) <= words.length) {
    let lo = full > 0 ? (words[q] as number) : 0;
    for (; j < full; j++) {
      let w: number;
      if (shift === 0) w = words[q + j] as number;
      else {
        const hi = words[q + j + 1] as number;
        w = (lo >>> shift) | (hi << (32 - shift));
        lo = hi;
      }
      a = mixA(a, w);
      b = mixB(b, w);
    }
  }
  // the rest: whole words made unit by unit, the last partial word, then the length
  for (let p = from + 4 * j; p <= end; p += 4) {
    const w = wordOf(u, p, Math.min(4, end - p));
    a = mixA(a, w);
    b = mixB(b, w);
  }
  a = Math.imul(a ^ n, 0x85ebca6b);
  b = Math.imul(b ^ n, 0xcc9e2d51);
  h[0] = a ^ (a >>> 13);
  h[1] = b ^ (b >>> 16);
};

/** Whether u[a, aEnd) and u[b, bEnd) hold the same units. */
const sameUnits = (u: Units, a: number, aEnd: number, b: number, bEnd: number): boolean => {
  if (aEnd - a !== bEnd - b) return false;
  for (let k = 0; k < aEnd - a; k++) if (u[a + k] !== u[b + k]) return false;
  return true;
};

/** `[packets:bytes]`; `end` is the index after `]`. */
interface Counters {
  packets: number;
  bytes: number;
  end: number;
}

/** `[digits:digits]` at s[at] (before `end`), or null. Numbers are read digit by digit in doubles (past 2^53 each step rounds). */
const readCounters = (s: string, at: number, end: number): Counters | null => {
  if (s.charCodeAt(at) !== LBRACKET) return null;
  let i = at + 1;
  let packets = 0;
  for (; i < end && isDigit(s.charCodeAt(i)); i++) packets = packets * 10 + (s.charCodeAt(i) - DIGIT_0);
  if (i === at + 1 || i >= end || s.charCodeAt(i) !== COLON) return null;
  const bytesAt = ++i;
  let bytes = 0;
  for (; i < end && isDigit(s.charCodeAt(i)); i++) bytes = bytes * 10 + (s.charCodeAt(i) - DIGIT_0);
  if (i === bytesAt || i >= end || s.charCodeAt(i) !== RBRACKET) return null;
  return { packets, bytes, end: i + 1 };
};

/**
 * `readCounters` on code units, into `out` (the rule line the parse reuses: #17): the unit after
 * the `]`, or -1 (then `out` is unchanged).
 */
const scanCountersU = (u: Units, at: number, end: number, out: { packets: number | null; bytes: number | null }): number => {
  if (u[at] !== LBRACKET) return -1;
  let i = at + 1;
  let packets = 0;
  for (; i < end && isDigit(u[i] as number); i++) packets = packets * 10 + ((u[i] as number) - DIGIT_0);
  if (i === at + 1 || i >= end || u[i] !== COLON) return -1;
  const bytesAt = ++i;
  let bytes = 0;
  for (; i < end && isDigit(u[i] as number); i++) bytes = bytes * 10 + ((u[i] as number) - DIGIT_0);
  if (i === bytesAt || i >= end || u[i] !== RBRACKET) return -1;
  out.packets = packets;
  out.bytes = bytes;
  return i + 1;
};

/** `readCounters` on code units. */
const readCountersU = (u: Units, at: number, end: number): Counters | null => {
  const c: Counters = { packets: 0, bytes: 0, end: 0 };
  c.end = scanCountersU(u, at, end, c);
  return c.end < 0 ? null : c;
};

const isDigit = (c: number): boolean => c >= DIGIT_0 && c <= DIGIT_9;

const skipSpaces = (s: string, i: number, end: number): number => {
  while (i < end && s.charCodeAt(i) === SPACE) i++;
  return i;
};

const skipSpacesU = (u: Units, i: number, end: number): number => {
  while (i < end && u[i] === SPACE) i++;
  return i;
};

/** The index of `c` in s at or after `from`, else s.length. */
const indexOrEnd = (s: string, c: string, from: number): number => {
  const i = s.indexOf(c, from);
  return i < 0 ? s.length : i;
};

/**
 * The typed arrays' own search: for bytes ~4× faster per call than Buffer's `indexOf` (which goes
 * through argument checks to a native binding), what a parse that searches each line pays.
 */
const typedIndexOf = Uint8Array.prototype.indexOf as (this: Units, c: number, from: number) => number;
const typedIndexOf16 = Uint16Array.prototype.indexOf as (this: Units, c: number, from: number) => number;

/** The index of unit `c` in u at or after `from`, else -1. */
const unitIndexOf = (u: Units, c: number, from: number): number => (u instanceof Uint8Array ? typedIndexOf : typedIndexOf16).call(u, c, from);

/** The index of unit `c` in u at or after `from`, else u.length. */
const indexOrEndU = (u: Units, c: number, from: number): number => {
  const i = unitIndexOf(u, c, from);
  return i < 0 ? u.length : i;
};

/** The index of unit `c` in u[from, end), else `end` (a typed arrays' search: a loop over bytes in a resizable buffer is slow until optimised). */
const nearIndexOrEnd = (u: Units, c: number, from: number, end: number): number => {
  if (from >= end) return end;
  const i = unitIndexOf(u, c, from);
  return i < 0 || i > end ? end : i;
};

/**
 * The index of the `"` that closes the quoted part opened at s[open], or -1. Inside quotes `\`
 * escapes the next character, so a `"` after an odd run of backslashes does not close.
 */
const closingQuote = (s: string, open: number): number => {
  let close = s.indexOf('"', open + 1);
  while (close >= 0 && backslashesBefore(s, open, close) % 2 === 1) close = s.indexOf('"', close + 1);
  return close;
};

const backslashesBefore = (s: string, open: number, at: number): number => {
  let i = at - 1;
  while (i > open && s.charCodeAt(i) === BACKSLASH) i--;
  return at - 1 - i;
};

/** `closingQuote` on code units. */
const closingQuoteU = (u: Units, open: number): number => {
  let close = unitIndexOf(u, QUOTE, open + 1);
  while (close >= 0 && backslashesBeforeU(u, open, close) % 2 === 1) close = unitIndexOf(u, QUOTE, close + 1);
  return close;
};

const backslashesBeforeU = (u: Units, open: number, at: number): number => {
  let i = at - 1;
  while (i > open && u[i] === BACKSLASH) i--;
  return at - 1 - i;
};

// ─── Rule tokens, on demand ──────────────────────────────────────────────────────────────────────

/**
 * Tokenizes s[from…] the way iptables-restore does (xshared add_param_to_argv): blanks separate
 * tokens, `"` opens a quoted part, inside quotes `\x` stands for `x`, a closing quote ends the
 * token. Null on an unterminated quote.
 */
const tokenize = (s: string, from: number): string[] | null => {
  const tokens: string[] = [];
  let i = from;
  while (i < s.length) {
    if (isBlank(s.charCodeAt(i))) {
      i++;
      continue;
    }
    // a token: plain characters, then at most one quoted part, which ends it
    let end = i;
    while (end < s.length && !isBlank(s.charCodeAt(end)) && s.charCodeAt(end) !== QUOTE) end++;
    let token = s.slice(i, end);
    if (s.charCodeAt(end) === QUOTE) {
      const close = closingQuote(s, end);
      if (close < 0) return null;
      const quoted = s.slice(end + 1, close);
      token += quoted.includes('\\') ? quoted.replace(/\\(.)/gs, '$1') : quoted;
      end = close + 1;
    }
    tokens.push(token);
    i = end;
  }
  return tokens;
};

const isBlank = (c: number): boolean => c === SPACE || c === TAB;

/** Derives target, comments, cali id and ipset matches from a rule's tokens (one loop). */
const deriveFromTokens = (tokens: string[]): Derived => {
  const d: Derived = { tokens, target: null, targetKind: null, targetArgs: [], comments: [], caliId: null, matchSets: [] };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const next = tokens[i + 1];
    if (next === undefined) break;
    if (t === '--comment') {
      d.comments.push(next);
      if (d.caliId === null && next.startsWith('cali:')) d.caliId = next.slice(5);
      i++;
    } else if (t === '--match-set') {
      d.matchSets.push({ name: next, negated: tokens[i - 1] === '!', direction: tokens[i + 2] ?? '' });
      i += 2;
    } else if (t === '-j' || t === '--jump' || t === '-g' || t === '--goto') {
      d.target = next;
      d.targetKind = t === '-j' || t === '--jump' ? 'jump' : 'goto';
      d.targetArgs = tokens.slice(i + 2);
      break; // iptables-save prints the target last; its options follow
    }
  }
  return d;
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
    if (isFlag(t)) {
      const opt: IptablesMatchOption = { flag: t, negated: negateNext, values: [] };
      negateNext = false;
      // basic options take exactly one value; module options take the values up to the next flag
      const basic = current.module === null && !t.startsWith('--') && t !== '-f';
      while (i + 1 < toks.length) {
        const v = toks[i + 1] as string;
        if (v === '!' || (isFlag(v) && !(t === '--comment' && opt.values.length === 0))) break;
        opt.values.push(v);
        i++;
        if (basic || t === '--comment') break;
      }
      current.options.push(opt);
      continue;
    }
    // a stray value: attach to the previous option
    current.options[current.options.length - 1]?.values.push(t);
  }
  if (out[0] && out[0].options.length === 0 && out.length > 1) out.shift();
  return out;
}

const isFlag = (t: string): boolean => t.length > 1 && t.startsWith('-');

/** Totals over a dump: tables, chains, rules, and packets/bytes summed over rule counters. */
export function iptablesTotals(dump: IptablesDump): IptablesTotals {
  const totals: IptablesTotals = { tables: dump.tables.length, chains: 0, rules: 0, packets: 0, bytes: 0 };
  for (const table of dump.tables) {
    totals.chains += table.chains.length;
    for (const chain of table.chains) {
      totals.rules += chain.ruleCount;
      const c = chain.ruleCounters();
      totals.packets += c.packets;
      totals.bytes += c.bytes;
    }
  }
  return totals;
}

/** Tokenizes one line of iptables arguments as iptables-restore does; null on an unterminated quote. */
export function tokenizeIptablesArgs(text: string): string[] | null {
  return tokenize(text, 0);
}
