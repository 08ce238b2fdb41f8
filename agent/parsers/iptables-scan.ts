/**
 * Runs the WebAssembly rule scanner (wasm/iptables-scan.ts, embedded by `npm run build:wasm`) over
 * an iptables-save text: the per-rule-line half of `parseIptablesSave`. Pure apart from the module's
 * memory, which is private to this file, reused across calls and only touched synchronously.
 *
 * The scanner sees the text as one byte per character, so it is used only for ASCII text (every
 * iptables-save output we have seen; a comment with other characters sends the parse down the
 * JavaScript path, which handles any text). `scanRules` returns null whenever the scanner cannot
 * answer: non-ASCII text, more records or events than the room made for them (input that is mostly
 * tiny lines), or a runtime without WebAssembly SIMD.
 */
import { IPTABLES_SCAN_WASM } from './wasm/iptables-scan.wasm.js';

/** event kinds, as in wasm/iptables-scan.ts */
export const EV_LINE = 0;
export const EV_RUN = 1;
/** error kinds */
export const ERR_COUNTERS = 1;
export const ERR_QUOTE = 2;
export const ERR_STOPPED = 3;

/**
 * Fields per event in `RuleScan.ev`: line, start, end, records before it, kind; for a `*table` line
 * the number of chain declarations up to the next one; for a declaration the end of its name and
 * the name's hash (`hashStep` in iptables-save.ts); for a run the ordinal (over the whole text) of
 * the declaration of its chain when the probe of the table's next four declarations found it (else
 * -1) and where its `-A` starts (after the counters).
 */
export const EV = 8;
/** Fields per record in `RuleScan.rec`: line, start (after the counters), end, end of the chain name − start. */
export const SCAN_REC = 4;

export interface RuleScan {
  /** rule records: SCAN_REC numbers each */
  rec: Int32Array<ArrayBuffer>;
  /** counters per record: packets (-1: none), bytes */
  ctr: Float64Array<ArrayBuffer>;
  n: number;
  /**
   * events (non-rule lines and rule lines that start a run): EV numbers each. A view into the
   * module's memory: valid until the next `scanRules`.
   */
  ev: Int32Array;
  hasCounters: boolean;
  /** chain declarations (lines starting with ':') */
  decls: number;
  /** 0, ERR_COUNTERS, ERR_QUOTE or ERR_STOPPED: the scan stopped at line `lines` */
  errKind: number;
  /** lines scanned (the error's line when errKind is set) */
  lines: number;
  errStart: number;
  errEnd: number;
}

type ScanFn = (
  from: number,
  to: number,
  delta: number,
  recAt: number,
  ctrAt: number,
  recCap: number,
  evAt: number,
  evCap: number,
  declAt: number,
  namesAt: number,
  hdrAt: number,
) => number;

// the few WebAssembly JS API members used here (the project's `lib` has no WebAssembly types)
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

interface Scanner {
  memory: WasmMemory;
  reset: () => void;
  scan: ScanFn;
}

let scanner: Scanner | null | undefined;

const load = (): Scanner | null => {
  if (scanner === undefined) {
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const memory = new wasm.Memory({ initial: 1 });
      const module = new wasm.Module(Buffer.from(IPTABLES_SCAN_WASM, 'base64'));
      const instance = new wasm.Instance(module, { env: { memory } });
      scanner = { memory, reset: instance.exports.reset as () => void, scan: instance.exports.scan as ScanFn };
    } catch {
      scanner = null; // no WebAssembly (or no SIMD) in this runtime: the JavaScript path
    }
  }
  return scanner;
};

const PAGE = 65536;
const align16 = (x: number) => (x + 15) & ~15;

/** characters of text the module holds at a time (cut at a line end; a longer line is one chunk) */
export const SCAN_CHUNK = 1 << 20;

/**
 * Scans `text` (see the file comment); null when the scanner cannot answer for this text. The
 * record arrays returned are copies; `ev` is a view that the next call reuses. `chunk`: the text
 * is copied into the module and scanned this many characters at a time (tests use tiny chunks);
 * `release`: forget the module and its memory after this call (one-shot callers; the next call
 * makes a new one).
 */
export function scanRules(text: string, options: { release?: boolean; chunk?: number } = {}): RuleScan | null {
  const s = load();
  if (s === null) return null;
  if (options.release === true) scanner = undefined;
  const chunk = Math.max(1, options.chunk ?? SCAN_CHUNK);
  const len = text.length;
  // room for a record and an event per 32 characters (a Calico rule line is ~150, a declaration
  // ~30); only the part written becomes resident
  const cap = (len >> 5) + 1024;
  const recAt = 0;
  const ctrAt = recAt + cap * 16;
  const evAt = ctrAt + cap * 16; // events: EV × 4 bytes each
  const declAt = evAt + cap * EV * 4;
  const namesAt = declAt + cap * 8; // copies of the declared names: at most the text's length
  const hdrAt = align16(namesAt + len + 16);
  const textAt = hdrAt + 64;
  s.reset();
  let status: number;
  let base = 0;
  do {
    // whole lines: up to the last line end within `chunk` characters, or the end of a longer line
    let end = len;
    if (base + chunk < len) {
      end = text.lastIndexOf('\n', base + chunk - 1) + 1;
      if (end <= base) {
        end = text.indexOf('\n', base) + 1;
        if (end === 0) end = len;
      }
    }
    const size = end - base;
    const need = textAt + size + 64;
    if (need > 0x7fff0000) return null;
    const have = s.memory.buffer.byteLength;
    if (need > have) s.memory.grow(Math.ceil((need - have) / PAGE));
    const bytes = Buffer.from(s.memory.buffer);
    // one byte per character for ASCII text: writing as UTF-8 with 4 bytes to spare writes exactly
    // `size` bytes then, and more otherwise
    if (bytes.write(text.slice(base, end), textAt, size + 4, 'utf8') !== size) return null;
    bytes.fill(0, textAt + size, textAt + size + 16); // the scanner reads up to 15 bytes past the end
    status = s.scan(textAt, textAt + size, base - textAt, recAt, ctrAt, cap, evAt, cap, declAt, namesAt, hdrAt);
    base = end;
  } while (base < len && status === 0);
  if (status === 2) return null; // overflow
  const hdr = new Int32Array(s.memory.buffer, hdrAt, 8);
  const n = hdr[0] as number;
  const m = hdr[1] as number;
  return {
    rec: new Int32Array(s.memory.buffer, recAt, n * SCAN_REC).slice(),
    ctr: new Float64Array(s.memory.buffer, ctrAt, n * 2).slice(),
    n,
    ev: new Int32Array(s.memory.buffer, evAt, m * EV),
    hasCounters: hdr[2] === 1,
    decls: hdr[7] as number,
    errKind: hdr[3] as number,
    lines: hdr[4] as number,
    errStart: hdr[5] as number,
    errEnd: hdr[6] as number,
  };
}
