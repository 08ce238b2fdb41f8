/**
 * Our own parser for `iptables-save` / `ip6tables-save` output (with or without `-c`). Pure.
 *
 * Design for speed (a big Calico node: 100k rules, ~15 MB; numbers in bench/results.md): one pass
 * over the text with indexOf / charCodeAt, no per-line split, no regex, no closure and no object
 * per rule. The pass validates every line (structure, counters, chain, balanced quotes) and stores
 * each rule as six numbers (line, offsets, counters) in typed arrays shared by the parse.
 * `IptablesRule` objects (raw text, tokens with quotes removed and `!` kept as a token, target,
 * -j vs -g, target args, every comment, cali id, ipset matches) are made on access and derive
 * their fields on first use; totals read the packed counters directly. The grouping of tokens
 * into matches/options with their negations is `ruleMatches`, on demand.
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
import { parsed, parseError, type Parsed } from '../../contract/result.js';

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

/** Fields per rule record in the packed store: offsets in `pos`, counters in `ctr`. */
const POS = 4; // line, start, end, argsAt (relative to start)
const CTR = 2; // packets (-1: none), bytes

/**
 * The rule records of one parse, packed in two growable typed arrays shared by its chains (four
 * 32-bit offsets and two counters per rule, no object per rule while parsing). Owned by one parse;
 * only appended to.
 */
class RecordStore {
  pos: Int32Array;
  ctr: Float64Array;
  n = 0;
  constructor(expectedRecords: number) {
    const cap = Math.max(64, expectedRecords);
    this.pos = new Int32Array(POS * cap);
    this.ctr = new Float64Array(CTR * cap);
  }
  add(line: number, start: number, end: number, argsAt: number, packets: number, bytes: number): number {
    const n = this.n;
    let k = n * POS;
    if (k + POS > this.pos.length) {
      const pos = new Int32Array(this.pos.length * 2);
      pos.set(this.pos);
      this.pos = pos;
      const ctr = new Float64Array(this.ctr.length * 2);
      ctr.set(this.ctr);
      this.ctr = ctr;
    }
    const d = this.pos;
    d[k++] = line;
    d[k++] = start;
    d[k++] = end;
    d[k] = argsAt;
    const c = this.ctr;
    c[n * CTR] = packets;
    c[n * CTR + 1] = bytes;
    this.n = n + 1;
    return n;
  }
}

/**
 * One chain. Its rules live as records in the parse's `RecordStore`: a contiguous run
 * (iptables-save prints a chain's rules together) or, for input that interleaves chains, an index
 * list. `rules` materialises `IptablesRule` objects on first access and keeps them; `ruleCount`,
 * `ruleCounters()`, `ruleTextAt()` and `ruleAt()` read the store without materialising all rules.
 * Not shared across threads; memoisation is the only mutation after parsing.
 */
export class IptablesChain {
  #src: string;
  #store: RecordStore;
  #first = -1;
  #count = 0;
  #idx: number[] | null = null;
  #rules: IptablesRule[] | undefined = undefined;
  constructor(
    readonly name: string,
    /** ACCEPT / DROP / … for builtin chains, null for user chains (`-`) */
    readonly policy: string | null,
    /** chain counters from the declaration (builtin chains carry policy counters) */
    readonly packets: number,
    readonly bytes: number,
    readonly builtin: boolean,
    /** line of the declaration, null for an implicit builtin chain */
    readonly line: number | null,
    src: string,
    store: RecordStore,
  ) {
    this.#src = src;
    this.#store = store;
  }
  /** @internal parser use: appends one rule record */
  addRecord(line: number, start: number, end: number, argsAt: number, packets: number, bytes: number): void {
    const id = this.#store.add(line, start, end, argsAt, packets, bytes);
    if (this.#count === 0) {
      this.#first = id;
    } else if (this.#idx === null && this.#first + this.#count !== id) {
      const idx: number[] = [];
      for (let i = 0; i < this.#count; i++) idx.push(this.#first + i);
      this.#idx = idx;
    }
    if (this.#idx !== null) this.#idx.push(id);
    this.#count++;
  }
  get ruleCount(): number {
    return this.#count;
  }
  /** the i-th rule's record number in the store */
  #at(i: number): number {
    return this.#idx === null ? this.#first + i : (this.#idx[i] as number);
  }
  /** packets/bytes summed over this chain's rule counters (0 without -c) */
  ruleCounters(): { packets: number; bytes: number } {
    let packets = 0;
    let bytes = 0;
    const c = this.#store.ctr;
    for (let i = 0; i < this.#count; i++) {
      const k = this.#at(i) * CTR;
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
    const k = this.#at(i) * POS;
    const d = this.#store.pos;
    return this.#src.slice(d[k + 1] as number, d[k + 2] as number);
  }
  /** the i-th rule (0-based): the memoised one once `rules` was read, else a fresh object */
  ruleAt(i: number): IptablesRule {
    if (this.#rules !== undefined) return this.#rules[i] as IptablesRule;
    return this.#make(i);
  }
  #make(i: number): IptablesRule {
    const r = this.#at(i);
    const d = this.#store.pos;
    const k = r * POS;
    const c = this.#store.ctr;
    const p = c[r * CTR] as number;
    return new IptablesRule(
      d[k] as number,
      this.name,
      i + 1,
      p >= 0 ? p : null,
      p >= 0 ? (c[r * CTR + 1] as number) : null,
      this.#src.slice(d[k + 1] as number, d[k + 2] as number),
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

export interface IptablesTable {
  name: string;
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

interface OpenTable {
  table: IptablesTable;
  index: ChainIndex;
}

/** One step of the chain-name hash the parse pass computes while it scans a name. */
const hashStep = (h: number, c: number): number => (Math.imul(h, 31) + c) | 0;

/**
 * The chains of one open table by name: open addressing over the names' hashes (which the parse
 * pass computes while scanning each name), candidates compared in place in the text, so that a
 * rule line makes and hashes no name string. Owned by one parse; only appended to.
 */
class ChainIndex {
  #slots = new Int32Array(64); // index in `chains` + 1; 0 = empty
  #hashes: number[] = [];
  constructor(readonly chains: IptablesChain[]) {}
  /** the chain named text[at, at+len) whose hash is h */
  find(text: string, at: number, len: number, h: number): IptablesChain | undefined {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let s = (h ^ (h >>> 13)) & mask; ; s = (s + 1) & mask) {
      const v = slots[s] as number;
      if (v === 0) return undefined;
      if (this.#hashes[v - 1] === h) {
        const c = this.chains[v - 1] as IptablesChain;
        if (c.name.length === len && sameAt(text, at, c.name)) return c;
      }
    }
  }
  /** appends a chain not yet in the index (its name hashes to h) */
  add(chain: IptablesChain, h: number): void {
    this.chains.push(chain);
    this.#hashes.push(h);
    if (this.chains.length * 2 > this.#slots.length) {
      this.#slots = new Int32Array(this.#slots.length * 2);
      for (let i = 0; i < this.chains.length; i++) this.#put(this.#hashes[i] as number, i + 1);
    } else {
      this.#put(h, this.chains.length);
    }
  }
  #put(h: number, v: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = (h ^ (h >>> 13)) & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = v;
  }
}

/** Reads `[digits:digits]` starting at `pos` (which holds '['); returns the index after ']' or -1. */
const readCounters = (text: string, pos: number, end: number, out: { a: number; b: number }): number => {
  let i = pos + 1;
  let a = 0;
  let digits = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < CH_0 || c > CH_9) break;
    a = a * 10 + (c - CH_0);
    i++;
    digits++;
  }
  if (digits === 0 || i >= end || text.charCodeAt(i) !== CH_COLON) return -1;
  i++;
  let b = 0;
  digits = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < CH_0 || c > CH_9) break;
    b = b * 10 + (c - CH_0);
    i++;
    digits++;
  }
  if (digits === 0 || i >= end || text.charCodeAt(i) !== CH_RBRACKET) return -1;
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

/** text[at, at+name.length) === name, compared from the end (chain names share long prefixes). */
const sameAt = (text: string, at: number, name: string): boolean => {
  for (let i = name.length - 1; i >= 0; i--) if (text.charCodeAt(at + i) !== name.charCodeAt(i)) return false;
  return true;
};

/** Parses a whole `iptables-save [-c]` dump. Never throws. */
export function parseIptablesSave(text: string): Parsed<IptablesDump> {
  const len = text.length;
  const tables: IptablesTable[] = [];
  const warnings: IptablesWarning[] = [];
  let generatedBy: string | null = null;
  let hasCounters = false;
  let open: OpenTable | null = null;
  let lastChain: IptablesChain | null = null;
  // index in the open table's chain list after the last chain found by the in-order probe
  let cursor = 0;
  const seenTables = new Set<string>();
  const counters = { a: 0, b: 0 };
  // a Calico rule line is ~150 bytes: size the store once for the usual case (capped: the input
  // may be mostly not rules; the store doubles when needed)
  const store = new RecordStore(Math.min(Math.ceil(len / 120), 1 << 17));
  // next '"' at or after the current rule's arguments (amortised: each quote is found once)
  let nextQuote = -1;
  let lastOpen = -1;
  let sawContent = false;
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

    if (first === 45 /* - */ || first === CH_LBRACKET) {
      // rule line: [pkts:bytes] -A CHAIN tokens...
      let p = start;
      let packets = -1;
      let bytes = 0;
      if (first === CH_LBRACKET) {
        const after = readCounters(text, start, end, counters);
        if (after < 0) return parseError('syntax', `line ${lineNo}: malformed counters "${text.slice(start, Math.min(end, start + 40))}"`, lineNo);
        packets = counters.a;
        bytes = counters.b;
        hasCounters = true;
        p = after;
        while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
      }
      if (open === null) return parseError('syntax', `line ${lineNo}: rule before any *table line`, lineNo);
      if (!(text.charCodeAt(p) === 45 && text.charCodeAt(p + 1) === 65 /* A */ && text.charCodeAt(p + 2) === CH_SPACE)) {
        return parseError('syntax', `line ${lineNo}: expected "-A CHAIN", got "${text.slice(p, Math.min(end, p + 40))}"`, lineNo);
      }
      const textStart = p;
      p += 3;
      while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
      let chain: IptablesChain | undefined;
      let q = -1;
      // rules come grouped by chain: most lines name the previous line's chain. Check that name in
      // place first (the character after it must end the name, then one native compare at p: on a
      // mismatch lastIndexOf searches back only as far as the previous rule line, which holds that
      // name, so the parse stays linear); only otherwise search for the name's end
      if (lastChain !== null) {
        const e = p + lastChain.name.length;
        if (e <= end && (e === end || text.charCodeAt(e) === CH_SPACE) && text.lastIndexOf(lastChain.name, p) === p) {
          chain = lastChain;
          q = e;
        }
      }
      if (chain === undefined) {
        q = text.indexOf(' ', p);
        if (q < 0 || q > end) q = end;
        if (q === p) return parseError('syntax', `line ${lineNo}: "-A" without a chain name`, lineNo);
        const nameLen = q - p;
        // iptables-save prints rules in declaration order: try the next few declared chains first
        const order = open.table.chains;
        for (let k = cursor, stop = Math.min(order.length, cursor + 4); k < stop; k++) {
          const c = order[k] as IptablesChain;
          if (c.name.length === nameLen && sameAt(text, p, c.name)) {
            chain = c;
            cursor = k + 1;
            break;
          }
        }
      }
      if (chain !== undefined) {
        lastChain = chain;
      } else {
        let h = 0;
        for (let i = p; i < q; i++) h = hashStep(h, text.charCodeAt(i));
        chain = open.index.find(text, p, q - p, h);
        if (chain === undefined) {
          const name = text.slice(p, q);
          if (!isBuiltin(open.table.name, name)) {
            return parseError('syntax', `line ${lineNo}: rule for undeclared chain "${name}" in table ${open.table.name}`, lineNo);
          }
          chain = new IptablesChain(name, null, 0, 0, true, null, text, store);
          open.index.add(chain, h);
        }
        lastChain = chain;
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
      if (inQuote) return parseError('syntax', `line ${lineNo}: unterminated quote`, lineNo);
      sawContent = true;
      chain.addRecord(lineNo, textStart, end, q - textStart, packets, bytes);
      continue;
    }

    if (first === CH_COLON) {
      if (open === null) return parseError('syntax', `line ${lineNo}: chain declaration before any *table line`, lineNo);
      let q = start + 1;
      let h = 0;
      while (q < end) {
        const c = text.charCodeAt(q);
        if (c === CH_SPACE) break;
        h = hashStep(h, c);
        q++;
      }
      if (q === start + 1) return parseError('syntax', `line ${lineNo}: chain declaration without a name`, lineNo);
      const name = text.slice(start + 1, q);
      let r = q + 1;
      while (r < end && text.charCodeAt(r) !== CH_SPACE) r++;
      const policy = q + 1 < end ? text.slice(q + 1, r) : '';
      if (policy.length === 0) return parseError('syntax', `line ${lineNo}: chain ${name} has no policy`, lineNo);
      let packets = 0;
      let bytes = 0;
      let s = r;
      while (s < end && text.charCodeAt(s) === CH_SPACE) s++;
      if (s < end) {
        const after = text.charCodeAt(s) === CH_LBRACKET ? readCounters(text, s, end, counters) : -1;
        if (after < 0 || after !== end) return parseError('syntax', `line ${lineNo}: malformed chain counters for ${name}`, lineNo);
        packets = counters.a;
        bytes = counters.b;
      }

      const chain = new IptablesChain(name, policy === '-' ? null : policy, packets, bytes, isBuiltin(open.table.name, name), lineNo, text, store);
      if (open.index.find(text, start + 1, q - start - 1, h) !== undefined) {
        return parseError('syntax', `line ${lineNo}: chain ${name} declared twice`, lineNo);
      }
      open.index.add(chain, h);
      sawContent = true;
      continue;
    }

    if (first === 35 /* # */) {
      const line = text.slice(start, end);
      if (line.startsWith(INCOMPATIBLE_PREFIX) && line.endsWith(INCOMPATIBLE_SUFFIX)) {
        const table = line.slice(INCOMPATIBLE_PREFIX.length, line.length - INCOMPATIBLE_SUFFIX.length);
        return parseError('incompatible', `line ${lineNo}: table ${table} is incompatible with iptables-nft (use nft to read it)`, lineNo);
      }
      if (line.startsWith(LEGACY_WARNING_PREFIX) || (line.startsWith(INCOMPATIBLE_PREFIX) && line.endsWith(INCOMPATIBLE_CHAINS_SUFFIX))) {
        warnings.push({ line: lineNo, message: line.slice(2) });
      } else if (generatedBy === null && line.startsWith(GENERATED_PREFIX)) {
        generatedBy = line.slice(2);
      }
      continue;
    }

    if (first === 42 /* * */) {
      if (open !== null) return parseError('syntax', `line ${lineNo}: table ${open.table.name} (line ${open.table.line}) not committed before a new *table`, lineNo);
      const name = text.slice(start + 1, end).trimEnd();
      if (name.length === 0 || name.includes(' ')) return parseError('syntax', `line ${lineNo}: bad table line`, lineNo);
      if (seenTables.has(name)) return parseError('syntax', `line ${lineNo}: table ${name} appears twice`, lineNo);
      seenTables.add(name);
      const table: IptablesTable = { name, line: lineNo, chains: [] };
      tables.push(table);
      open = { table, index: new ChainIndex(table.chains) };
      lastChain = null;
      cursor = 0;
      sawContent = true;
      continue;
    }

    if (end - start === 6 && text.startsWith('COMMIT', start)) {
      if (open === null) return parseError('syntax', `line ${lineNo}: COMMIT outside a table`, lineNo);
      open = null;
      lastChain = null;
      continue;
    }

    return parseError('syntax', `line ${lineNo}: unrecognised line "${text.slice(start, Math.min(end, start + 60))}"`, lineNo);
  }

  if (open !== null) {
    return parseError(
      'truncated',
      `line ${lineNo}: input ends inside table ${open.table.name} (opened at line ${open.table.line}) without COMMIT`,
      lineNo,
    );
  }
  if (!sawContent) {
    return lineNo === 0 ? parseError('empty', 'empty input') : parseError('empty', `line ${lineNo}: no iptables table in input`, lineNo);
  }
  return parsed({ tables, generatedBy, hasCounters, warnings });
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
