/**
 * The rule-line pass of the iptables-save parser, in AssemblyScript (compiled to WebAssembly by
 * `npm run build:wasm`; the module is embedded in iptables-scan.wasm.ts). Not compiled by tsc.
 *
 * Why: in JavaScript each rule line costs four native string calls (line end, chain compare, two
 * quotes) plus ~40 ns of char access; here the line ends and quotes are found 16 bytes at a time
 * (SIMD) and the chain name is compared 8 bytes at a time (bench/results.md has the numbers).
 *
 * What it does is exactly the per-rule-line part of `parseIptablesSave` (iptables-save.ts):
 * for every line it finds the end (a trailing CR is not part of the line); a rule line (first
 * character `-` or `[`) gets its `[pkts:bytes]` counters read, its `-A CHAIN` compared with the
 * previous rule line's, its quoting checked after the chain name (quotes balance, inside quotes a
 * backslash escapes the next character) and a record written. Every other non-blank line, and a
 * rule line that starts a new run of a chain, becomes an event for the JavaScript side, which
 * handles declarations, tables, COMMIT, comments and looks the chain up. The first malformed
 * counters or unterminated quote stops the scan.
 *
 * Memory (one page set owned by the caller): the text comes in chunks of whole lines, one byte per
 * UTF-16 unit (the caller only uses this for ASCII text), each followed by at least 16 zero bytes,
 * so that the module holds a chunk of a 15 MB dump, not all of it; the outputs and the copies of
 * the declared chain names accumulate where the caller says.
 */

/** `scan` results */
export const OK: i32 = 0;
export const ERROR: i32 = 1; // header: error kind and line
export const OVERFLOW: i32 = 2; // more records or events than the caller made room for

/** error kinds (header[3]) */
export const ERR_COUNTERS: i32 = 1;
export const ERR_QUOTE: i32 = 2;
export const ERR_STOPPED: i32 = 3; // a rule line without `-A `: its event is the last

/** event kinds (event[4]) */
export const EV_LINE: i32 = 0; // a non-blank line that is not a rule line
export const EV_RUN: i32 = 1; // a rule line whose chain differs from the previous rule line's

const NL: u8 = 10;
const CR: u8 = 13;
const SPACE: u8 = 32;
const QUOTE: u8 = 34;
const BACKSLASH: u8 = 92;

/** first position of byte c in [from, to), else to; reads up to 15 bytes past to (padding) */
@inline
function find(c: u8, from: i32, to: i32): i32 {
  const needle = i8x16.splat(c);
  let i = from;
  while (i < to) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(i), needle));
    if (m != 0) {
      const p = i + ctz(m);
      return p < to ? p : to;
    }
    i += 16;
  }
  return to;
}

/** bytes [a, a+n) equal bytes [b, b+n) */
@inline
function same(a: i32, b: i32, n: i32): bool {
  let j = 0;
  while (j + 8 <= n) {
    if (load<u64>(a + j) != load<u64>(b + j)) return false;
    j += 8;
  }
  while (j < n) {
    if (load<u8>(a + j) != load<u8>(b + j)) return false;
    j++;
  }
  return true;
}

/** position of the first line end (\n, or len) at or after from */
// @ts-ignore: decorator
@inline
function lineEnd(from: i32, len: i32): i32 {
  return find(NL, from, len);
}

/** writes the first six fields of the event at e (see `scan`); returns e */
// @ts-ignore: decorator
@inline
function event(e: i32, line: i32, start: i32, end: i32, records: i32, kind: i32): i32 {
  store<i32>(e, line);
  store<i32>(e, start, 4);
  store<i32>(e, end, 8);
  store<i32>(e, records, 12);
  store<i32>(e, kind, 16);
  store<i32>(e, 0, 20);
  return e;
}

/** the value of the digits `digits` read last */
let digitsValue: f64 = 0;

/**
 * Reads the decimal digits at i into digitsValue; returns the index after them. The value equals
 * the JavaScript side's (`a = a * 10 + d` in doubles): the first 15 digits are exact either way
 * (below 2^53), so they are summed as integers two at a time (a shorter dependency chain), any
 * further ones in doubles as there.
 */
// @ts-ignore: decorator
@inline
function digits(i: i32): i32 {
  let a: i64 = 0;
  let k = 0;
  while (k < 14) {
    const d0 = <u32>load<u8>(i) - 48;
    const d1 = <u32>load<u8>(i + 1) - 48;
    if (d0 < 10 && d1 < 10) {
      a = a * 100 + <i64>(d0 * 10 + d1);
      i += 2;
      k += 2;
      continue;
    }
    if (d0 < 10) {
      a = a * 10 + <i64>d0;
      i++;
    }
    k = 99;
  }
  let f = <f64>a;
  let d = <u32>load<u8>(i) - 48;
  while (d < 10) {
    f = f * 10 + <f64>d;
    d = <u32>load<u8>(++i) - 48;
  }
  digitsValue = f;
  return i;
}

/** the line end without its trailing CR */
// @ts-ignore: decorator
@inline
function stripCR(start: i32, nl: i32): i32 {
  return nl > start && load<u8>(nl - 1) == CR ? nl - 1 : nl;
}

// The scan's state, kept between the chunks of one text (`reset` starts a text)
let n = 0; // records
let m = 0; // events
let hasCounters = 0;
let decls = 0;
let namesUsed = 0; // bytes of declared names copied to the names area
let cursor = 0; // the declaration after the last one the probe found
let tableEv = -1; // the event of the open `*table` line
let lineNo = 0;
let errKind = 0;
let errStart = 0;
let errEnd = 0;

/** starts a new text */
export function reset(): void {
  n = 0;
  m = 0;
  hasCounters = 0;
  decls = 0;
  namesUsed = 0;
  cursor = 0;
  tableEv = -1;
  lineNo = 0;
  errKind = 0;
  errStart = 0;
  errEnd = 0;
}

/**
 * Scans one chunk of the text: whole lines at memory [from, to), followed by at least 16 zero
 * bytes; `delta` turns a memory address in the chunk into a position in the whole text. The caller
 * cuts chunks at line ends, so every line is in one chunk; the chain compare restarts at each
 * chunk (the first rule line of a chunk starts a run, possibly of the same chain: the result is
 * the same, the run is only split). Positions written are positions in the whole text.
 *
 * Records: 4 × i32 at recAt (line, start after the counters, end, offset of the end of the chain
 * name from start) and 2 × f64 at ctrAt (packets, -1 without counters; bytes), at most recCap.
 * Events: 8 × i32 at evAt (line, start, end, records before it, kind, for a `*table` line the
 * number of chain declarations up to the next one, for a declaration the end of its name and the
 * name's hash, for a run the number of its chain's declaration when the probe of the next four
 * found it (else -1) and where its `-A` starts), at most evCap. Declarations: 2 × i32 at declAt
 * (where the name's copy starts in the names area at namesAt, and its length), at most evCap.
 * Header, after each chunk: 8 × i32 at hdrAt: records, events, saw counters (0/1), error kind
 * (0: none), the line count (on an error: the error's line), the error line's start and end,
 * chain declarations in all.
 */
export function scan(from: i32, to: i32, delta: i32, recAt: i32, ctrAt: i32, recCap: i32, evAt: i32, evCap: i32, declAt: i32, namesAt: i32, hdrAt: i32): i32 {
  const status = scanChunk(from, to, delta, recAt, ctrAt, recCap, evAt, evCap, declAt, namesAt);
  store<i32>(hdrAt, n);
  store<i32>(hdrAt, m, 4);
  store<i32>(hdrAt, hasCounters, 8);
  store<i32>(hdrAt, errKind, 12);
  store<i32>(hdrAt, lineNo, 16);
  store<i32>(hdrAt, errStart, 20);
  store<i32>(hdrAt, errEnd, 24);
  store<i32>(hdrAt, decls, 28);
  return status;
}

// @ts-ignore: decorator
@inline
function scanChunk(from: i32, len: i32, delta: i32, recAt: i32, ctrAt: i32, recCap: i32, evAt: i32, evCap: i32, declAt: i32, namesAt: i32): i32 {
  const nlv = i8x16.splat(NL);
  const qv = i8x16.splat(QUOTE);
  let prevAt = 0;
  let prevLen = -1; // -1: no previous rule line in this table (or chunk)
  let pos = from;
  while (pos < len) {
    lineNo++;
    const start = pos;
    const first = load<u8>(start);
    if (first != 45 /* - */ && first != 91 /* [ */) {
      const nl = lineEnd(start, len);
      const end = stripCR(start, nl);
      pos = nl + 1;
      if (end == start) continue; // blank line
      if (m == evCap) return OVERFLOW;
      const e = event(evAt + m++ * 32, lineNo, start + delta, end + delta, n, EV_LINE);
      if (first == 58 /* : */) {
        // a declaration: the name up to the first blank and its hash, as the JavaScript side
        // computes them (hashStep in iptables-save.ts); the name is copied for the probe
        let q = start + 1;
        let h: i32 = 0;
        while (q < end) {
          const c = load<u8>(q);
          if (c == SPACE) break;
          h = h * 31 + <i32>c;
          q++;
        }
        store<i32>(e, q + delta, 24);
        store<i32>(e, h, 28);
        if (decls == evCap) return OVERFLOW;
        const nameLen = q - start - 1;
        const copy = namesAt + namesUsed;
        memory.copy(copy, start + 1, nameLen);
        namesUsed += nameLen;
        store<i32>(declAt + decls * 8, copy);
        store<i32>(declAt + decls * 8, nameLen, 4);
        decls++;
        if (tableEv >= 0) store<i32>(evAt + tableEv * 32, load<i32>(evAt + tableEv * 32, 20) + 1, 20);
      } else if (first == 42 /* * */) {
        tableEv = m - 1;
        cursor = decls;
      } else if (end - start == 6 && load<u32>(start) == 0x4d4d4f43 /* COMM */ && load<u16>(start + 4) == 0x5449 /* IT */) {
        prevLen = -1; // COMMIT ends the table: the next table's first rule starts a run
      }
      continue;
    }
    // a rule line: [pkts:bytes] -A CHAIN tokens...
    let p = start;
    let packets: f64 = -1;
    let bytes: f64 = 0;
    if (first == 91) {
      // [digits:digits] as readCounters in iptables-save.ts (a line end is never a digit, ':' or ']')
      let i = digits(start + 1);
      const a = digitsValue;
      let good = i != start + 1 && load<u8>(i) == 58;
      let b: f64 = 0;
      if (good) {
        const bAt = i + 1;
        i = digits(bAt);
        b = digitsValue;
        good = i != bAt && load<u8>(i) == 93;
      }
      if (!good) {
        errKind = ERR_COUNTERS;
        errStart = start + delta;
        errEnd = stripCR(start, lineEnd(start, len)) + delta;
        return ERROR;
      }
      packets = a;
      bytes = b;
      hasCounters = 1;
      p = i + 1;
      while (load<u8>(p) == SPACE) p++;
    }
    let q = p + prevLen;
    // the same `-A CHAIN` as the previous rule line, followed by a blank or the line end (as the
    // JavaScript check: q <= end, where end leaves out a trailing CR)
    let sameRun = false;
    if (prevLen >= 0 && q <= len && same(p, prevAt, prevLen)) {
      const c = load<u8>(q);
      if (c == SPACE) sameRun = true;
      else if (c == NL || q == len) sameRun = load<u8>(q - 1) != CR;
      else if (c == CR) sameRun = q + 1 == len || load<u8>(q + 1) == NL;
    }
    if (!sameRun) {
      // a new run: the JavaScript side checks `-A` and looks the chain up; its name ends at the
      // first blank after `-A` and its blanks
      const end = stripCR(start, lineEnd(p, len));
      if (m == evCap) return OVERFLOW;
      const e = event(evAt + m++ * 32, lineNo, start + delta, end + delta, n, EV_RUN);
      store<i32>(e, -1, 24);
      store<i32>(e, p + delta, 28);
      if (!(end - p >= 3 && load<u8>(p) == 45 && load<u8>(p + 1) == 65 && load<u8>(p + 2) == SPACE)) {
        errKind = ERR_STOPPED; // the JavaScript side fails at this event
        return ERROR;
      }
      q = p + 3;
      while (q < end && load<u8>(q) == SPACE) q++;
      const nameAt = q;
      q = find(SPACE, q, end);
      prevAt = p;
      prevLen = q - p;
      // iptables-save prints rules in declaration order: probe the table's next few declarations
      const nameLen = q - nameAt;
      for (let k = cursor, stop = min(decls, cursor + 4); k < stop; k++) {
        const d = declAt + k * 8;
        if (load<i32>(d, 4) == nameLen && same(nameAt, load<i32>(d), nameLen)) {
          store<i32>(e, k, 24);
          cursor = k + 1;
          break;
        }
      }
    }
    // the quoting after the chain name, as the quote check in iptables-save.ts, and the line end
    let inQuote = false;
    let open = 0;
    let nl = len;
    let i = q;
    let found = false;
    while (!found && i < len) {
      const v = v128.load(i);
      let mask = i8x16.bitmask(v128.or(i8x16.eq(v, nlv), i8x16.eq(v, qv)));
      while (mask != 0) {
        const k = i + ctz(mask);
        mask &= mask - 1;
        if (k >= len) break;
        if (load<u8>(k) == NL) {
          nl = k;
          found = true;
          break;
        }
        if (inQuote) {
          let bs = 0;
          let j = k - 1;
          while (j > open && load<u8>(j) == BACKSLASH) {
            bs++;
            j--;
          }
          if ((bs & 1) == 0) inQuote = false;
        } else {
          inQuote = true;
          open = k;
        }
      }
      i += 16;
    }
    if (inQuote) {
      errKind = ERR_QUOTE;
      return ERROR;
    }
    const end = stripCR(start, nl);
    pos = nl + 1;
    if (n == recCap) return OVERFLOW;
    const r = recAt + n * 16;
    store<i32>(r, lineNo);
    store<i32>(r, p + delta, 4);
    store<i32>(r, end + delta, 8);
    store<i32>(r, q - p, 12);
    const t = ctrAt + n * 16;
    store<f64>(t, packets);
    store<f64>(t, bytes, 8);
    n++;
  }
  return OK;
}
