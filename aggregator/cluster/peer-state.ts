/**
 * Per-peer state checked against the peer's own truth: the walks behind Cluster.vxlanPeerEntries,
 * Cluster.blockRoutes and Cluster.peersNotInHostSets (./cluster.ts), and the memoisation that keeps
 * a pass O(total state) at 5000 nodes. Pure; everything here lives for one pass, except what is
 * carried across passes through the caller's cache.
 *
 * How it stays cheap (issue #3):
 * - The store holds each node's routes, neighbours, FDB entries and all-hosts members as ids into
 *   one table of distinct entries per kind (./packed.ts); in a mesh the entry about peer X is the
 *   same on every node. What an entry means (the peer it points at, whether it matches that peer's
 *   truth) is computed once per distinct entry and question and kept as an Int32Array code per
 *   entry id (PassMemo.codes); a node's walk then reads one slot per entry.
 * - The peers every node must cover are counted once per pass, so a node that covers them all
 *   skips the per-peer "missing" walk.
 * - A node's result is carried to the next pass, keyed by its packed list (the same object while
 *   the section's hash is unchanged), until the cluster's truth (the fingerprint) changes.
 * Results name peers by their position in Cluster.nodes (stable while the fingerprint is) and hold
 * entries, never per-pass objects, so carried results do not keep old passes alive.
 */
import { contains, parseCidr, stripHostPrefix, type Cidr, type Family } from '../../common/net.js';
import { routeHops } from '../../contract/calico.js';
import type { FdbEntry, Neighbour, Route } from '../../contract/snapshot.js';
import type { NodeView } from './node-view.js';
import { EntryTable, pack, packedOf, type EntryIds } from './packed.js';

export interface Block {
  /** the CIDR text as its (first) owner reported it */
  raw: string;
  cidr: Cidr;
  /** the fresh nodes whose blackhole route claims exactly this block */
  owners: NodeView[];
}

/** The lookups of one pass (./cluster.ts builds them over the fresh nodes). */
export interface PassIndex {
  nodes: readonly NodeView[];
  fresh: readonly NodeView[];
  /** tunnel IP → node position; -1 when two fresh nodes claim it */
  byTunnelIP: Map<string, number>;
  /** VTEP MAC (lower case) → node position; -1 when ambiguous */
  byVtepMac: Map<string, number>;
  /** node IP → node position; -1 when ambiguous */
  byNodeIP: Map<string, number>;
  /** encapsulation source address → node position; -1 when ambiguous */
  byEncapSourceIP: Map<string, number>;
  blocks: readonly Block[];
  /** block CIDR text (as reported, and normalised) → position in blocks */
  blockKey: Map<string, number>;
  /** the blocks' texts fresh nodes with readable routes report, parsed (null: not a CIDR) */
  parsedBlocks: Map<string, Cidr | null>;
  /** the block a route's destination is exactly */
  blockOfRoute(r: Route): number | undefined;
}

/** Results carried across passes: per question, per list key (a caller-owned cache). */
export type Carry = Map<string, WeakMap<object, unknown>>;

const SKIP = -1;
const UNSET = -0x80000000;
/** code of an entry that points at peer `b` but does not match its truth */
const mismatch = (b: number): number => -3 - b;
const mismatchedPeer = (code: number): number => -3 - code;

/** One node's list as ids into a table of distinct entries; `key` is what results are carried under. */
interface EntryList<E> {
  key: object;
  table: EntryTable<E>;
  ids: EntryIds;
  /** no id occurs twice in ids (PackedList.distinct); false when not known */
  distinct: boolean;
}

const keepIn = (store: Map<string, WeakMap<object, unknown>>, question: string, key: object, value: unknown): void => {
  let m = store.get(question);
  if (m === undefined) store.set(question, (m = new WeakMap()));
  m.set(key, value);
};

/** Per-pass memo: verdict codes per entry id and question, pass-wide results, and the carried ones. */
export class PassMemo {
  private readonly memos = new Map<object, Map<string, Int32Array>>();
  private readonly local = new Map<string, EntryTable<unknown>>();
  private readonly lists = new WeakMap<object, EntryList<unknown>>();
  private readonly shared = new Map<string, unknown>();
  private readonly built = new Map<object, Map<string, { size: number; weights: Weights }>>();
  /** results of this pass, per question and list key (a walk's stamps are valid once per node and pass) */
  private readonly results = new Map<string, WeakMap<object, unknown>>();

  constructor(private readonly carry: Carry | null) {}

  /** Codes for `question` about the entries of `table`: one slot per id, UNSET until computed. */
  codes(table: EntryTable<unknown>, question: string): Int32Array {
    let perTable = this.memos.get(table);
    if (perTable === undefined) this.memos.set(table, (perTable = new Map()));
    let memo = perTable.get(question);
    if (memo === undefined || memo.length < table.size) {
      const grown = new Int32Array(Math.max(table.size, (memo?.length ?? 0) * 2)).fill(UNSET);
      if (memo !== undefined) grown.set(memo);
      perTable.set(question, (memo = grown));
    }
    return memo;
  }

  /** The result computed for `key` earlier in this pass, or carried from an earlier pass. */
  carried<T>(question: string, key: object): T | undefined {
    return (this.results.get(question)?.get(key) ?? this.carry?.get(question)?.get(key)) as T | undefined;
  }

  /** Keeps a result for the rest of this pass and, with a cache, for later passes. */
  keep(question: string, key: object, value: unknown): void {
    keepIn(this.results, question, key, value);
    if (this.carry !== null) keepIn(this.carry, question, key, value);
  }

  /**
   * The list `holder` (a section or a host set) holds: the store's packed list, or, for a state
   * not built by the store, `plain` packed for this pass with the store's own pack() into a table
   * of this pass (entries left unfrozen).
   */
  list<E>(kind: string, holder: object, plain: () => readonly E[]): EntryList<E> {
    const packed = packedOf<E>(holder);
    if (packed !== null) return { key: packed, table: packed.table, ids: packed.ids, distinct: packed.distinct === true };
    const arr = plain();
    const held = this.lists.get(arr);
    if (held !== undefined) return held as EntryList<E>;
    let table = this.local.get(kind) as EntryTable<E> | undefined;
    if (table === undefined) this.local.set(kind, (table = new EntryTable<E>(false) as EntryTable<unknown> as EntryTable<E>));
    const { ids, distinct } = pack(table, arr);
    const list: EntryList<E> = { key: arr, table, ids, distinct: distinct === true };
    this.lists.set(arr, list as EntryList<unknown>);
    return list;
  }

  /** Keeps a result for the rest of this pass only (results too big to carry). */
  keepForPass(question: string, key: object, value: unknown): void {
    keepIn(this.results, question, key, value);
  }

  /**
   * The counting walk's weights for `question` about `table` (codes: the question's), built by
   * `make` once per pass, again when the table has grown since (a table of this pass).
   */
  weights(table: EntryTable<unknown>, question: string, make: () => Weights): Weights {
    const key = `weights|${question}`;
    let perTable = this.built.get(table);
    if (perTable === undefined) this.built.set(table, (perTable = new Map()));
    let held = perTable.get(key);
    if (held === undefined || held.size !== table.size) perTable.set(key, (held = { size: table.size, weights: make() }));
    return held.weights;
  }

  /** `make()` once per pass under `key`. */
  once<T>(key: string, make: () => T): T {
    if (!this.shared.has(key)) this.shared.set(key, make());
    return this.shared.get(key) as T;
  }
}

/**
 * The counting walk (issue #17): most nodes cover every peer and hold no entry that needs a
 * closer look, and saying so needs no per-peer marks. For one question about one table, every
 * entry is judged once per pass and given a weight: 1 for the one entry of the table about a
 * target (peer or block) that must be covered, 0 for an entry that counts for nothing (skipped,
 * or about a target nobody must cover), MANY for an entry that needs the full walk (a mismatch, a
 * wrong route, or a target two entries of the table are about). A list whose ids are distinct then
 * covers every target it must iff the sum of its weights, less its entries about its own node's
 * targets, is the number it must cover; anything else takes the full walk, which gives the
 * same result. A question whose lists keep failing the test stops trying it for the pass.
 */
const MANY = 0x100000;

interface Weights {
  w: Int32Array;
  /** per target: the id of the one entry about it, -1 when none or several */
  entryOf: Int32Array;
  /** lists tested one at a time (outside the question's batch), and how many failed */
  tries: number;
  misses: number;
  /**
   * the counting test of every list that asks the question in this pass, by ids (sumLists: one
   * call for them all); null until the first list of the question is asked
   */
  sums: Map<EntryIds, number> | null;
}

/**
 * Weights of the entries of a table (all of its codes known) for `targets` targets: `targetOf`
 * gives an entry's target (-1: counts for nothing) or MANY_TARGET (the entry needs the full walk).
 */
const MANY_TARGET = -2;
const buildWeights = (codes: Int32Array, size: number, targets: number, flags: Uint8Array, targetOf: (code: number) => number): Weights => {
  const per = new Int32Array(targets);
  const entryOf = new Int32Array(targets).fill(-1);
  const w = new Int32Array(size);
  for (let id = 0; id < size; id++) {
    const t = targetOf(codes[id] as number);
    if (t === MANY_TARGET) w[id] = MANY;
    else if (t >= 0) {
      per[t]!++;
      entryOf[t] = id;
    }
  }
  for (let id = 0; id < size; id++) {
    if (w[id] === MANY) continue;
    const t = targetOf(codes[id] as number);
    if (t < 0 || flags[t] === 0) continue;
    w[id] = per[t] === 1 ? 1 : MANY;
  }
  for (let t = 0; t < targets; t++) if (per[t] !== 1) entryOf[t] = -1;
  return { w, entryOf, tries: 0, misses: 0, sums: null };
};

/** sumLists: the list holds an entry that needs the full walk */
const FAILS = -1;
/** sumLists: not tried (the lists before it kept failing) */
const NOT_TRIED = -2;

/**
 * The hot loop of the counting walk, over many lists in one call (issue #17): for each list, the
 * sum of its entries' weights leaving out entry `owns[i]` (its own node's, which counts for
 * nothing), or FAILS when it holds an entry of weight MANY (weights are 0, 1 or MANY). After 64
 * lists, while more than a quarter missed `needs` the next ones are NOT_TRIED. One call per question and pass, not one per
 * list: V8 compiled a per-list kernel into its callers at a lower tier, where the loop ran ~4x
 * slower through a whole cold pass; a single long call is optimised on the stack within its
 * first list.
 */
const sumLists = (lists: readonly EntryIds[], owns: Int32Array, needs: Int32Array, w: Int32Array, out: Int32Array): void => {
  // every path but the rare ones runs from the first list on, so what V8 compiles has seen them
  let misses = 0;
  for (let i = 0; i < lists.length; i++) {
    let s = NOT_TRIED;
    if (misses * 4 <= i || i < 64) {
      const ids = lists[i]!;
      const own = owns[i]!;
      let ones = 0;
      let many = 0;
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k]!;
        const v = id === own ? 0 : w[id]!;
        ones += v & 1;
        many |= v;
      }
      s = many >= MANY ? FAILS : ones;
      misses += s === needs[i] ? 0 : 1;
    }
    out[i] = s;
  }
};

/** The lists that ask one question in a pass, gathered to be tested together (sumLists). */
class ListBatch {
  private readonly lists: EntryIds[] = [];
  private readonly owns: number[] = [];
  private readonly needs: number[] = [];

  constructor(private readonly wt: Weights) {}

  /** A list, as coversAll would test it (`need`, `own`: coversAll's). */
  add(list: EntryList<unknown>, need: number, own: number): void {
    if (!list.distinct) return;
    this.lists.push(list.ids);
    this.owns.push(this.wt.entryOf[own] ?? -1);
    this.needs.push(need);
  }

  /** Tests them all: the question's sums. */
  run(): Map<EntryIds, number> {
    const out = new Int32Array(this.lists.length);
    sumLists(this.lists, Int32Array.from(this.owns), Int32Array.from(this.needs), this.wt.w, out);
    const sums = new Map<EntryIds, number>();
    for (let i = 0; i < this.lists.length; i++) sums.set(this.lists[i]!, out[i]!);
    return sums;
  }
}

/**
 * True when the list covers every target it must (`need`: how many, its own node's left out) and
 * holds no entry that needs the full walk; `own`: its own node's targets (their entries do not
 * count). False means: take the full walk. Reads the list's sum from the question's batch; a list
 * outside it is tested alone.
 */
const coversAll = (list: EntryList<unknown>, wt: Weights, need: number, own: ArrayLike<number>): boolean => {
  if (!list.distinct) return false;
  let s = wt.sums?.get(list.ids);
  if (s === undefined) {
    if (wt.tries >= 64 && wt.misses * 4 > wt.tries) return false;
    wt.tries++;
    const out = new Int32Array(1);
    sumLists([list.ids], Int32Array.of(own.length > 0 ? (wt.entryOf[own[0] as number] as number) : -1), Int32Array.of(need), wt.w, out);
    s = out[0]!;
  }
  if (s === NOT_TRIED) return false;
  if (s !== FAILS) {
    // a node owning several blocks: the entries about the others (rare)
    for (let k = 1; k < own.length && s >= need; k++) {
      const e = wt.entryOf[own[k] as number] as number;
      if (e >= 0 && wt.w[e] === 1 && list.ids.includes(e)) s--;
    }
    if (s === need) return true;
  }
  wt.misses++;
  return false;
};

/** Every entry of `table` up to its size judged for a question (codes left UNSET filled in). */
const judgeAll = <E>(table: EntryTable<E>, codes: Int32Array, judge: (e: E) => number): void => {
  const values = table.values;
  for (let id = 0; id < table.size; id++) if (codes[id] === UNSET) codes[id] = judge(values[id] as E);
};

export type VxlanKind = 'neighbours' | 'fdb';
const FAMILIES: readonly Family[] = ['inet', 'inet6'];

export interface VxlanScan<E> {
  /** entries about a peer that do not match its truth, for peers with no entry that does */
  mismatched: { peer: number; entry: E }[];
  /** peers the node must hold an entry for and holds none */
  missing: number[];
}

const sameMac = (a: string | null, b: string | null): boolean => a !== null && b !== null && (a === b || a.toLowerCase() === b.toLowerCase());

/** The peer a VXLAN entry on a node's device points at, and whether it matches that peer's truth (a code). */
const judgeVxlan = {
  /** a neighbour for B's tunnel IP must hold B's VTEP MAC */
  neighbours: (x: PassIndex, e: Neighbour, family: Family): number => {
    const bi = x.byTunnelIP.get(e.dst);
    if (bi === undefined || bi < 0) return SKIP;
    const bt = x.nodes[bi]!.vxlanTunnel(family);
    if (bt === null || bt.ip !== e.dst || bt.mac === null) return SKIP;
    return sameMac(e.lladdr, bt.mac) ? bi : mismatch(bi);
  },
  /** an FDB entry for B's VTEP MAC must send to one of B's node IPs */
  fdb: (x: PassIndex, e: FdbEntry, family: Family): number => {
    const bi = x.byVtepMac.get(e.mac) ?? x.byVtepMac.get(e.mac.toLowerCase());
    if (bi === undefined || bi < 0) return SKIP;
    const b = x.nodes[bi]!;
    if (b.vxlanTunnel(family) === null) return SKIP;
    return e.dst !== null && b.underlayIPs.includes(e.dst) ? bi : mismatch(bi);
  },
};

/** Whether every VXLAN node of the family must hold an entry of this kind for peer b. */
const mustCover = {
  neighbours: (x: PassIndex, b: NodeView, family: Family): boolean => {
    const bt = b.vxlanTunnel(family);
    return bt !== null && bt.ip !== null && bt.mac !== null && x.byTunnelIP.get(bt.ip) === b.i;
  },
  fdb: (x: PassIndex, b: NodeView, family: Family): boolean => {
    const bt = b.vxlanTunnel(family);
    return bt !== null && bt.mac !== null && x.byVtepMac.get(bt.mac.toLowerCase()) === b.i && (bt.local ?? b.underlayIPs[0] ?? null) !== null;
  },
};

/** Peers (flags by position) every node must cover, and how many, per family; once per pass. */
const coverage = (x: PassIndex, memo: PassMemo, key: string, must: (b: NodeView, family: Family) => boolean) =>
  memo.once(`cover|${key}`, () => {
    const out = { inet: { flags: new Uint8Array(x.nodes.length), count: 0 }, inet6: { flags: new Uint8Array(x.nodes.length), count: 0 } };
    for (let j = 0; j < x.fresh.length; j++) {
      const b = x.fresh[j]!;
      for (let f = 0; f < FAMILIES.length; f++) {
        const family = FAMILIES[f]!;
        if (!must(b, family)) continue;
        out[family].flags[b.i] = 1;
        out[family].count++;
      }
    }
    return out;
  });

/** A running count a walk kernel carries across its resumptions (see walkVxlan). */
interface Tally {
  count: number;
}

/**
 * The hot loop of scanVxlan over one node's ids, kept small and free of the entries' types so it
 * stays optimised for every kind: from position `from`, marks the peers each entry points at
 * (`seen`), counts the covered ones in `tally`, and collects the positions of mismatching entries. Stops at the first entry whose code is not yet
 * known (returns its position: the caller judges it and walks on from there) or at the end.
 */
const walkVxlan = (ids: EntryIds, from: number, codes: Int32Array, seen: Int32Array, flags: Uint8Array, ai: number, stamp: number, tally: Tally, wrong: number[]): number => {
  let seenCount = tally.count;
  let k = from;
  for (; k < ids.length; k++) {
    const v = codes[ids[k] as number] as number;
    if (v === UNSET) break;
    if (v === SKIP || v === ai) continue;
    const bi = v >= 0 ? v : mismatchedPeer(v);
    if (bi === ai) continue;
    if (seen[bi] !== stamp) {
      seen[bi] = stamp;
      seenCount += flags[bi] as number;
    }
    if (v < 0) wrong.push(k);
  }
  tally.count = seenCount;
  return k;
};

/** The peer an entry's code is about for the counting walk (a mismatch needs the full walk). */
const vxlanTarget = (code: number): number => (code === SKIP ? -1 : code >= 0 ? code : MANY_TARGET);

/** Marks (`good`, with `stamp`) the peers other than `ai` that one of the entries matches. */
const markGood = (ids: EntryIds, codes: Int32Array, good: Int32Array, ai: number, stamp: number): void => {
  for (let k = 0; k < ids.length; k++) {
    const v = codes[ids[k] as number] as number;
    if (v >= 0 && v !== ai) good[v] = stamp;
  }
};

/** Node a's neighbours or FDB entries on its VXLAN devices, per family; null when the section is not ok or a has no VXLAN tunnel. */
export const scanVxlan = <K extends VxlanKind>(x: PassIndex, memo: PassMemo, a: NodeView, kind: K): Record<Family, VxlanScan<K extends 'fdb' ? FdbEntry : Neighbour>> | null => {
  type E = K extends 'fdb' ? FdbEntry : Neighbour;
  const section = a.state.report.sections[kind];
  if (section.status !== 'ok' || (a.vxlan === null && a.vxlan6 === null)) return null;
  const list = memo.list<E>(kind, section, () => section.data as unknown as E[]);
  const held = memo.carried<Record<Family, VxlanScan<E>>>(kind, list.key);
  if (held !== undefined) return held;
  const n = x.nodes.length;
  const seen = memo.once(`seen|${kind}`, () => new Int32Array(n).fill(-1));
  const good = memo.once(`good|${kind}`, () => new Int32Array(n).fill(-1));
  const cover = coverage(x, memo, kind, (b, family) => mustCover[kind](x, b, family));
  const judge = judgeVxlan[kind] as (x: PassIndex, e: E, family: Family) => number;
  const out = { inet: { mismatched: [], missing: [] }, inet6: { mismatched: [], missing: [] } } as Record<Family, VxlanScan<E>>;
  const { ids, table } = list;
  const values = table.values;
  for (let f = 0; f < FAMILIES.length; f++) {
    const family = FAMILIES[f]!;
    if (a.vxlanTunnel(family) === null) continue;
    const dev = a.vxlanDevice(family);
    const stamp = a.i + (family === 'inet' ? 0 : n);
    const { flags, count } = cover[family];
    const wrong: number[] = [];
    // the code of an entry depends on the entry, the family and a's device name only
    const question = `${kind}|${family}|${dev}`;
    const codes = memo.codes(table, question);
    const wt = memo.weights(table, question, () => {
      judgeAll(table, codes, (e) => ((e as E & { dev: string }).dev !== dev ? SKIP : judge(x, e, family)));
      return buildWeights(codes, table.size, n, flags, vxlanTarget);
    });
    if (wt.sums === null) {
      // every node that asks this question of this table in the pass, tested together
      const batch = new ListBatch(wt);
      for (let j = 0; j < x.fresh.length; j++) {
        const b = x.fresh[j]!;
        const sb = b.state.report.sections[kind];
        if (sb.status !== 'ok' || b.vxlanTunnel(family) === null || b.vxlanDevice(family) !== dev) continue;
        const lb = memo.list<E>(kind, sb, () => sb.data as unknown as E[]);
        if (lb.table === table && memo.carried(kind, lb.key) === undefined) batch.add(lb, count - (flags[b.i] as number), b.i);
      }
      wt.sums = batch.run();
    }
    if (coversAll(list, wt, count - (flags[a.i] as number), [a.i])) continue;
    const tally: Tally = { count: 0 };
    for (let k = 0; (k = walkVxlan(ids, k, codes, seen, flags, a.i, stamp, tally, wrong)) < ids.length; ) {
      const id = ids[k] as number;
      const e = values[id] as E & { dev: string };
      codes[id] = e.dev !== dev ? SKIP : judge(x, e, family);
    }
    const seenCount = tally.count;
    const result = out[family];
    // a mismatching entry counts only for a peer with no matching entry: mark those (rare: only
    // nodes with a mismatching entry walk their list twice)
    if (wrong.length > 0) markGood(ids, codes, good, a.i, stamp);
    for (const k of wrong) {
      const id = ids[k] as number;
      const peer = mismatchedPeer(codes[id] as number);
      if (good[peer] !== stamp) result.mismatched.push({ peer, entry: values[id] as E });
    }
    if (seenCount < count - (flags[a.i] as number)) {
      for (const b of x.fresh) if (b.i !== a.i && seen[b.i] !== stamp && flags[b.i] === 1) result.missing.push(b.i);
    }
  }
  memo.keep(kind, list.key, out);
  return out;
};

/** Routes in the main table (ip -j omits `table` for main; collectors write `main`). */
export const isMainTable = (r: Route): boolean => r.table === 'main' || r.table === '254' || r.table === '' || r.table === 'unspec';

/** Device names a node's route verdicts depend on: nodes with the same names share verdicts. */
interface HopContext {
  vx4: string;
  vx6: string;
  ipip: string;
  tunnelDevices: ReadonlySet<string>;
}

const contextOf = (a: NodeView): HopContext => ({ vx4: a.vxlanDevice('inet'), vx6: a.vxlanDevice('inet6'), ipip: a.ipip?.device ?? 'tunl0', tunnelDevices: a.tunnelDevices });

/** The question a node's routes are judged under (its device names), once per node and pass. */
const routeQuestion = (memo: PassMemo, a: NodeView): string => {
  const held = memo.once('routes|question', () => new Map<NodeView, string>());
  let q = held.get(a);
  if (q === undefined) {
    const ctx = contextOf(a);
    held.set(a, (q = `routes|${ctx.vx4}|${ctx.vx6}|${ctx.ipip}|${[...ctx.tunnelDevices].sort().join(',')}`));
  }
  return q;
};

/**
 * Does this next hop lead to node b? VXLAN: via b's tunnel IP on the VXLAN device; IPIP: via one
 * of b's node IPs on tunl0; WireGuard devices: not judged (the peer is chosen by allowed IPs);
 * another tunnel device: no; anything else (no encapsulation): via one of b's node IPs.
 */
const hopReaches = (ctx: HopContext, b: NodeView, gateway: string | null, dev: string | null, v6: boolean): boolean => {
  if (dev === null) return false;
  if (dev === (v6 ? ctx.vx6 : ctx.vx4)) {
    const bt = b.vxlanTunnel(v6 ? 'inet6' : 'inet');
    return bt !== null && bt.ip !== null && gateway === bt.ip;
  }
  if (dev === ctx.ipip) return gateway !== null && b.underlayIPs.includes(gateway);
  if (dev.startsWith('wireguard') || dev.startsWith('wg-v6')) return true;
  if (ctx.tunnelDevices.has(dev)) return false;
  return gateway !== null && b.underlayIPs.includes(gateway);
};

/** `block * 2 + (leads elsewhere ? 1 : 0)` for a main-table unicast route that is exactly a block, else SKIP. */
const judgeRoute = (x: PassIndex, ctx: HopContext, r: Route): number => {
  if (r.type !== 'unicast' || !isMainTable(r)) return SKIP;
  const g = x.blockOfRoute(r);
  if (g === undefined) return SKIP;
  const owners = x.blocks[g]!.owners;
  if (owners.length !== 1) return g * 2;
  const b = owners[0]!;
  const v6 = r.family === 'inet6';
  if (r.nexthops.length === 0) return g * 2 + (hopReaches(ctx, b, r.gateway, r.dev, v6) ? 0 : 1);
  return g * 2 + (r.nexthops.every((h) => hopReaches(ctx, b, h.gateway, h.dev, v6)) ? 0 : 1);
};

export interface RouteScan {
  /** blocks (one owner, not this node, the owner's routes ok) with no exact route here */
  uncovered: number[];
  /** exact block routes whose next hop does not lead to the block's owner */
  wrong: { route: Route; block: number }[];
}

/**
 * The hot loop of scanRoutes over one node's ids (small and monomorphic, like walkVxlan): marks
 * the blocks routed (`covered`, stamped with the node's position), counts in `tally` the ones it
 * must route, collects the positions of routes leading elsewhere; stops at the first entry whose
 * code is not yet known (returns its position) or at the end.
 */
const walkRoutes = (ids: EntryIds, from: number, codes: Int32Array, firstOwner: Int32Array, covered: Int32Array, flags: Uint8Array, ai: number, tally: Tally, wrong: number[]): number => {
  let coveredCount = tally.count;
  let k = from;
  for (; k < ids.length; k++) {
    const v = codes[ids[k] as number] as number;
    if (v === UNSET) break;
    if (v === SKIP) continue;
    const g = v >> 1;
    const owner = firstOwner[g];
    if (covered[g] !== ai) {
      covered[g] = ai;
      if (flags[g] === 1 && owner !== ai) coveredCount++;
    }
    if ((v & 1) === 1 && owner !== ai) wrong.push(k);
  }
  tally.count = coveredCount;
  return k;
};

/** The block a route's code is about for the counting walk (a route leading elsewhere needs the full walk). */
const routeTarget = (code: number): number => (code === SKIP ? -1 : code === UNSET || (code & 1) === 1 ? MANY_TARGET : code >> 1);

/** Node a's exact block routes against the blocks' owners; null when a's routes are not ok. */
export const scanRoutes = (x: PassIndex, memo: PassMemo, a: NodeView): RouteScan | null => {
  const section = a.state.report.sections.routes;
  if (section.status !== 'ok') return null;
  const list = memo.list<Route>('routes', section, () => section.data);
  const held = memo.carried<RouteScan>('routes', list.key);
  if (held !== undefined) return held;
  const blocks = x.blocks;
  // blocks every node must route (one owner whose routes are ok), counted once per pass
  const must = memo.once('cover|routes', () => {
    const flags = new Uint8Array(blocks.length);
    const owned = new Int32Array(x.nodes.length);
    const firstOwner = new Int32Array(blocks.length).fill(-1);
    /** the blocks each node must be routed to, by node position */
    const mine = new Map<number, number[]>();
    let count = 0;
    for (let g = 0; g < blocks.length; g++) {
      const owners = blocks[g]!.owners;
      if (owners.length > 0) firstOwner[g] = owners[0]!.i;
      if (owners.length !== 1 || !owners[0]!.has('routes')) continue;
      flags[g] = 1;
      count++;
      owned[owners[0]!.i]!++;
      const held = mine.get(owners[0]!.i);
      if (held === undefined) mine.set(owners[0]!.i, [g]);
      else held.push(g);
    }
    return { flags, owned, firstOwner, mine, count, covered: new Int32Array(blocks.length).fill(-1) };
  });
  const { flags, owned, firstOwner, covered } = must;
  const ctx = contextOf(a);
  const question = routeQuestion(memo, a);
  const codes = memo.codes(list.table, question);
  const scan: RouteScan = { uncovered: [], wrong: [] };
  const wt = memo.weights(list.table, question, () => {
    judgeAll(list.table, codes, (r) => judgeRoute(x, ctx, r));
    return buildWeights(codes, list.table.size, blocks.length, flags, routeTarget);
  });
  if (wt.sums === null) {
    // every node whose routes the rules read (programsBlockRoutes) asking this question of this table, tested together
    const batch = new ListBatch(wt);
    for (let j = 0; j < x.fresh.length; j++) {
      const b = x.fresh[j]!;
      const sb = b.state.report.sections.routes;
      if (sb.status !== 'ok' || !b.programsBlockRoutes || routeQuestion(memo, b) !== question) continue;
      const lb = memo.list<Route>('routes', sb, () => sb.data);
      if (lb.table === list.table && memo.carried('routes', lb.key) === undefined) batch.add(lb, must.count - (owned[b.i] as number), must.mine.get(b.i)?.[0] ?? -1);
    }
    wt.sums = batch.run();
  }
  if (coversAll(list, wt, must.count - (owned[a.i] as number), must.mine.get(a.i) ?? [])) {
    memo.keep('routes', list.key, scan);
    return scan;
  }
  const { ids } = list;
  const values = list.table.values;
  const wrong: number[] = [];
  const tally: Tally = { count: 0 };
  for (let k = 0; (k = walkRoutes(ids, k, codes, firstOwner, covered, flags, a.i, tally, wrong)) < ids.length; ) {
    const id = ids[k] as number;
    codes[id] = judgeRoute(x, ctx, values[id] as Route);
  }
  const coveredCount = tally.count;
  for (const k of wrong) {
    const id = ids[k] as number;
    scan.wrong.push({ route: values[id] as Route, block: (codes[id] as number) >> 1 });
  }
  if (coveredCount < must.count - owned[a.i]!) {
    for (let g = 0; g < blocks.length; g++) if (covered[g] !== a.i && flags[g] === 1 && firstOwner[g] !== a.i) scan.uncovered.push(g);
  }
  memo.keep('routes', list.key, scan);
  return scan;
};

/** Route forms (route-wrong-form): every hop via a node IP on a non-tunnel device, or through a tunnel. */
export const ROUTE_DIRECT = 1;
export const ROUTE_TUNNEL = 2;

/** The exact IPv4 routes of a node that reach their block's single owner in a form (scanRouteForms). */
export interface FormedRoute {
  route: Route;
  /** position in PassIndex.blocks */
  block: number;
  form: number;
}

/** Device names a route's form depends on: nodes with the same names share verdicts. */
const formContextOf = (a: NodeView): { vx: string; tunl: string; tunnelDevices: ReadonlySet<string> } => ({
  vx: a.vxlanDevice('inet'),
  tunl: a.ipip?.device ?? 'tunl0',
  tunnelDevices: a.tunnelDevices,
});

/** A node's form context and the key of its device names, once per node and pass. */
const formDevices = (memo: PassMemo, a: NodeView): { ctx: ReturnType<typeof formContextOf>; devices: string } => {
  const held = memo.once('forms|devices', () => new Map<NodeView, { ctx: ReturnType<typeof formContextOf>; devices: string }>());
  let d = held.get(a);
  if (d === undefined) {
    const ctx = formContextOf(a);
    held.set(a, (d = { ctx, devices: `${ctx.vx}|${ctx.tunl}|${[...ctx.tunnelDevices].sort().join(',')}` }));
  }
  return d;
};

/**
 * `block * 4 + form` for an IPv4 main-table unicast route to a block with one owner that reaches
 * that owner in its form (ROUTE_DIRECT: every hop via one of the owner's node IPs on a non-tunnel
 * device; ROUTE_TUNNEL: via its VXLAN tunnel IP on the VXLAN device, or via its node IP on tunl0),
 * else SKIP. A route is classified by its devices before its block is looked up.
 */
const judgeForm = (x: PassIndex, ctx: { vx: string; tunl: string; tunnelDevices: ReadonlySet<string> }, r: Route): number => {
  if (r.type !== 'unicast' || r.family !== 'inet' || r.dst === 'default') return SKIP;
  const { vx, tunl, tunnelDevices } = ctx;
  let form: number;
  if (r.nexthops.length === 0) {
    if (r.dev === null || r.gateway === null) return SKIP;
    form = r.dev === vx || r.dev === tunl ? ROUTE_TUNNEL : tunnelDevices.has(r.dev) ? 0 : ROUTE_DIRECT;
  } else {
    const hops = r.nexthops;
    if (hops.some((h) => h.dev === null || h.gateway === null)) return SKIP;
    form = hops.every((h) => h.dev === vx || h.dev === tunl) ? ROUTE_TUNNEL : hops.every((h) => !tunnelDevices.has(h.dev!)) ? ROUTE_DIRECT : 0;
  }
  if (form === 0 || !isMainTable(r)) return SKIP;
  const g = x.blockKey.get(r.dst) ?? x.blockKey.get(parseCidr(r.dst)?.text ?? '');
  if (g === undefined) return SKIP;
  const owners = x.blocks[g]!.owners;
  if (owners.length !== 1) return SKIP;
  const b = owners[0]!;
  const bt = b.vxlan;
  const hops = routeHops(r);
  const reaches =
    form === ROUTE_DIRECT
      ? hops.every((h) => b.underlayIPs.includes(h.gateway!))
      : hops.every((h) => (h.dev === vx ? bt?.ip != null && h.gateway === bt.ip : b.underlayIPs.includes(h.gateway!)));
  return reaches ? g * 4 + form : SKIP;
};

/**
 * The hot loop of scanRouteForms over one node's ids (small and monomorphic, like walkVxlan):
 * collects the positions of formed routes of a wanted form to another node's block; stops at the
 * first entry whose code is not yet known (returns its position) or at the end.
 */
const walkForms = (ids: EntryIds, from: number, codes: Int32Array, ownerOf: Int32Array, ai: number, wanted: number, at: number[]): number => {
  let k = from;
  for (; k < ids.length; k++) {
    const v = codes[ids[k] as number] as number;
    if (v === UNSET) break;
    if (v === SKIP || (v & 3 & wanted) === 0 || ownerOf[v >> 2] === ai) continue;
    at.push(k);
  }
  return k;
};

/**
 * Node a's exact IPv4 routes to another node's block (one owner) that reach that owner in one of
 * the `wanted` forms (ROUTE_DIRECT | ROUTE_TUNNEL), in a's route order; null when a's routes are
 * not ok. A route's verdict is computed once per distinct entry and device names. Direct-only
 * answers (short: in a tunnelled mesh, none) are carried across passes; answers that include
 * tunnelled routes (one per peer in a mesh) are kept for the pass only.
 */
export const scanRouteForms = (x: PassIndex, memo: PassMemo, a: NodeView, wanted: number): FormedRoute[] | null => {
  const section = a.state.report.sections.routes;
  if (section.status !== 'ok') return null;
  const list = memo.list<Route>('routes', section, () => section.data);
  const { ctx, devices } = formDevices(memo, a);
  const question = `forms|${wanted}|${devices}`;
  const held = memo.carried<{ at: Int32Array; codes: Int32Array }>(question, list.key);
  const values = list.table.values;
  const formed = (at: Int32Array, codes: Int32Array): FormedRoute[] => {
    const out: FormedRoute[] = new Array(at.length);
    for (let k = 0; k < at.length; k++) {
      const v = codes[k] as number;
      out[k] = { route: values[list.ids[at[k] as number] as number] as Route, block: v >> 2, form: v & 3 };
    }
    return out;
  };
  if (held !== undefined) return formed(held.at, held.codes);
  const codes = memo.codes(list.table, `forms|${devices}`);
  // Every entry of the table judged once per pass and device names (a few per node, against N per
  // node's list): when no entry has a wanted form, no list holds one and the walk is skipped (in a
  // tunnelled mesh no route is direct).
  const judged = memo.once(`forms-judged|${devices}`, () => new Map<EntryTable<unknown>, { upTo: number; forms: number }>());
  let seen = judged.get(list.table);
  if (seen === undefined) judged.set(list.table, (seen = { upTo: 0, forms: 0 }));
  for (let id = seen.upTo; id < list.table.size; id++) {
    let v = codes[id] as number;
    if (v === UNSET) codes[id] = v = judgeForm(x, ctx, values[id] as Route);
    if (v !== SKIP) seen.forms |= v & 3;
  }
  seen.upTo = list.table.size;
  const at: number[] = [];
  const { ids } = list;
  if ((seen.forms & wanted) !== 0) {
    // the owner of each block, once per pass (a formed route's block has exactly one)
    const ownerOf = memo.once('owner|blocks', () => Int32Array.from(x.blocks, (b) => b.owners[0]?.i ?? -1));
    for (let k = 0; (k = walkForms(ids, k, codes, ownerOf, a.i, wanted, at)) < ids.length; ) {
      const id = ids[k] as number;
      codes[id] = judgeForm(x, ctx, values[id] as Route);
    }
  }
  const found = at.map((k) => codes[ids[k] as number] as number);
  const result = { at: Int32Array.from(at), codes: Int32Array.from(found) };
  if (wanted === ROUTE_DIRECT) memo.keep(question, list.key, result);
  else memo.keepForPass(question, list.key, result);
  return formed(result.at, result.codes);
};

/** How many members a host set holds (without building its list of strings). */
export const memberCount = (memo: PassMemo, set: { members: string[] }): number => memo.list('members', set, () => set.members).ids.length;

/**
 * The hot loop of scanHostSets over one set's ids (small and monomorphic, like walkVxlan): marks
 * the peers whose address is a member (`by`, with `stamp`), counts in `tally` the ones that must
 * be let in, collects the positions of CIDR members; stops at the first member whose code is not
 * yet known (returns its position) or at the end.
 */
const walkMembers = (ids: EntryIds, from: number, codes: Int32Array, by: Int32Array, flags: Uint8Array, bi: number, stamp: number, tally: Tally, netAt: number[]): number => {
  let markedCount = tally.count;
  let k = from;
  for (; k < ids.length; k++) {
    const ai = codes[ids[k] as number] as number;
    if (ai === UNSET) break;
    if (ai === NET) {
      netAt.push(k);
      continue;
    }
    if (ai >= 0 && by[ai] !== stamp) {
      by[ai] = stamp;
      if (ai !== bi) markedCount += flags[ai] as number;
    }
  }
  tally.count = markedCount;
  return k;
};

/**
 * Peers (positions) whose encapsulated traffic node b's host sets `sets` do not let in: none of
 * their encapsulation source addresses of `family` is a member or inside a CIDR member. Only peers
 * whose source addresses are known and belong to them alone are judged.
 */
export const scanHostSets = (x: PassIndex, memo: PassMemo, b: NodeView, family: Family, sets: readonly { name: string; members: string[] }[], carryKey: object): number[] => {
  const question = `hosts|${family}|${sets.map((s) => s.name).join(',')}`;
  const held = memo.carried<number[]>(question, carryKey);
  if (held !== undefined) return held;
  const n = x.nodes.length;
  const cover = coverage(x, memo, 'hosts', (a, fam) => {
    const wanted = a.encapSources(fam);
    return wanted.length > 0 && wanted.every((ip) => x.byEncapSourceIP.get(ip) === a.i);
  });
  const { flags, count } = cover[family];
  // one stamp per walk (a node may have several groups of sets per family)
  const marked = memo.once('marked|hosts', () => ({ by: new Int32Array(n), walks: 0 }));
  const stamp = ++marked.walks;
  const nets: Cidr[] = [];
  const netAt: number[] = [];
  const tally: Tally = { count: 0 };
  if (sets.length === 1) {
    // one set: the counting walk (with several, a peer may be in more than one)
    const s = sets[0]!;
    const list = memo.list('members', s, () => s.members);
    const codes = memo.codes(list.table, 'hosts');
    const wt = memo.weights(list.table, `hosts|${family}`, () => {
      judgeAll(list.table, codes, (m) => memberCode(x, m));
      return buildWeights(codes, list.table.size, n, flags, memberTarget);
    });
    if (wt.sums === null) {
      // every node whose sets of these names are one set of this table, tested together
      const names = sets.map((t) => t.name);
      const batch = new ListBatch(wt);
      for (let j = 0; j < x.fresh.length; j++) {
        const c = x.fresh[j]!;
        const ipsets = c.state.report.sections.ipsets;
        if (ipsets.status !== 'ok') continue;
        const own = ipsets.data.hostSets.filter((t) => names.includes(t.name));
        if (own.length !== 1) continue;
        const t = own[0]!;
        const lc = memo.list('members', t, () => t.members);
        if (lc.table === list.table && memo.carried(question, ipsets.data) === undefined) batch.add(lc, count - (flags[c.i] as number), c.i);
      }
      wt.sums = batch.run();
    }
    if (coversAll(list, wt, count - (flags[b.i] as number), [b.i])) {
      const out: number[] = [];
      memo.keep(question, carryKey, out);
      return out;
    }
  }
  for (const s of sets) {
    const { ids, table } = memo.list('members', s, () => s.members);
    const codes = memo.codes(table, 'hosts');
    netAt.length = 0;
    for (let k = 0; (k = walkMembers(ids, k, codes, marked.by, flags, b.i, stamp, tally, netAt)) < ids.length; ) {
      const id = ids[k] as number;
      codes[id] = memberCode(x, table.values[id] as string);
    }
    for (const k of netAt) {
      const c = parseNet(table.values[ids[k] as number] as string);
      if (c !== null) nets.push(c);
    }
  }
  const markedCount = tally.count;
  const out: number[] = [];
  if (markedCount < count - (flags[b.i] as number)) {
    for (const a of x.fresh) {
      if (a.i === b.i || marked.by[a.i] === stamp || flags[a.i] === 0) continue;
      if (a.encapSources(family).some((ip) => inNets(nets, ip))) continue;
      out.push(a.i);
    }
  }
  memo.keep(question, carryKey, out);
  return out;
};

const NONE = -2;
const NET = -3;
const parseNet = (m: string): Cidr | null => parseCidr(stripHostPrefix(m));
const inNets = (nets: readonly Cidr[], ip: string): boolean => {
  const c = parseCidr(ip);
  return c !== null && nets.some((net) => contains(net, c));
};

/**
 * The peer a member's code is about for the counting walk: a CIDR member counts for nothing (it
 * only matters for peers that are not members, and with every peer a member there are none).
 */
const memberTarget = (code: number): number => (code === UNSET ? MANY_TARGET : code >= 0 ? code : -1);

/** A member's code: the node position its address belongs to (-1 ambiguous), NONE, or NET (a CIDR, checked by containment). */
const memberCode = (x: PassIndex, m: string): number => {
  let ai = x.byEncapSourceIP.get(m);
  if (ai === undefined && m.includes('/')) {
    const key = stripHostPrefix(m);
    ai = x.byEncapSourceIP.get(key);
    if (ai === undefined && key.includes('/')) return NET;
  }
  return ai === undefined ? NONE : ai;
};
