/**
 * Entry-level deltas for the per-peer sections (issue #3): routes, neighbours, fdb and ipsets.
 *
 * When a node joins or leaves a mesh, every node's per-peer lists change by one entry. Instead of
 * the whole section, the agent may send `{hash, delta: {base, splices}}`: `base` is the hash of the
 * section the aggregator acknowledged last, `splices` are edits of that section's list:
 *
 *   splice {at, remove, insert}: at index `at` of the BASE list, drop `remove` entries and put
 *   `insert` in their place. Splices are sorted by `at` and do not overlap (each starts at or
 *   after the end of the previous one's removed range), so every index refers to the base list.
 *
 * Applying the splices to the base list gives the agent's list in its exact order, so the receiver
 * checks `hash` by hashing `{"status":"ok","data":[…]}` of the result (contract/hash.ts). Only `ok`
 * sections travel as deltas, on both ends (base and new).
 *
 * ipsets: the lists are each host set's `members`. Its delta is `{base, hostSets, caliSetSizes}`:
 * every host set of the new section in order, each as `{name, type, family, splices}` whose splices
 * edit the members of the base's host set of the same name (an empty list when the base has none),
 * and the new `caliSetSizes` in full (a few numbers, and they change with the members).
 *
 * The receiver hashes entries as the contract schema re-serialises them (its key order); the
 * collectors build entries in that order, so the hash matches. An entry built in another order
 * makes every delta of its section a 409, and the section then travels in full: slower, never wrong.
 *
 * Pure functions; no IO.
 */
import { createHash, type Hash } from 'node:crypto';

/** Sections that may travel as a delta. */
export const DELTA_SECTIONS = ['routes', 'neighbours', 'fdb', 'ipsets'] as const;
export type DeltaSectionName = (typeof DELTA_SECTIONS)[number];
/** The delta sections that are one list each. */
export const LIST_DELTA_SECTIONS = ['routes', 'neighbours', 'fdb'] as const;
export type ListDeltaSectionName = (typeof LIST_DELTA_SECTIONS)[number];
/** At most this many host sets in an ipsets delta. */
export const MAX_DELTA_HOST_SETS = 64;

/** At most this many splices per delta; more means the lists differ a lot: send in full. */
export const MAX_SPLICES = 64;
/** At most this many inserted entries per delta (all splices together). */
export const MAX_DELTA_INSERTS = 4096;

export interface Splice<E> {
  at: number;
  remove: number;
  insert: E[];
}

/** A splice as computed from keys: the inserted entries are `next[from, from + count)`. */
export interface KeySplice {
  at: number;
  remove: number;
  from: number;
  count: number;
}

/**
 * Splices that turn `prev` into `next` (entries compared by key). One left-to-right walk: equal keys
 * match; otherwise a previous entry absent from `next` is removed, a next entry absent from `prev`
 * is inserted, and for a moved entry (present in both, out of place) the previous one is removed
 * and re-inserted later. Consecutive edits form one splice. The usual join/leave/change gives one
 * splice; a reorder gives a valid, larger script. O(|prev| + |next|).
 */
export const computeSplices = (prev: readonly string[], next: readonly string[]): KeySplice[] => {
  const inPrev = new Set(prev);
  const inNext = new Set(next);
  const out: KeySplice[] = [];
  let cur: KeySplice | null = null;
  let i = 0;
  let j = 0;
  const edit = (): KeySplice => {
    if (cur === null) {
      cur = { at: i, remove: 0, from: j, count: 0 };
      out.push(cur);
    }
    return cur;
  };
  while (i < prev.length || j < next.length) {
    if (i < prev.length && j < next.length && prev[i] === next[j]) {
      i++;
      j++;
      cur = null;
      continue;
    }
    const s = edit();
    if (i < prev.length && (j >= next.length || !inNext.has(prev[i]!) || inPrev.has(next[j]!))) {
      // removed, or moved (both present but out of place: drop here, insert where it belongs);
      // a splice's removals are contiguous in `prev` from `at`, its inserts in `next` from `from`
      s.remove++;
      i++;
    } else {
      s.count++;
      j++;
    }
  }
  return out;
};

/** Why a delta could not be applied to a list of `length` entries, or null when it can. */
export const spliceError = (length: number, splices: readonly { at: number; remove: number }[]): string | null => {
  let end = 0;
  for (const [k, s] of splices.entries()) {
    if (!Number.isInteger(s.at) || !Number.isInteger(s.remove) || s.at < 0 || s.remove < 0) return `splice ${k}: at and remove must be non-negative integers`;
    if (s.at < end) return `splice ${k}: at ${s.at} overlaps or precedes the previous splice (which ends at ${end}); splices must be sorted and disjoint`;
    end = s.at + s.remove;
    if (end > length) return `splice ${k}: removes up to index ${end} but the base list has ${length} entries`;
  }
  return null;
};

/**
 * Applies checked splices (spliceError returned null) to `prev`: `get(k)` reads the base list,
 * `put` receives the result in order (base entries and inserted ones, mapped by `ins`).
 */
export const applySplices = <B, E, O>(
  length: number,
  get: (k: number) => B,
  splices: readonly Splice<E>[],
  keep: (b: B) => O,
  ins: (e: E) => O,
  put: (o: O) => void,
): void => {
  let k = 0;
  for (const s of splices) {
    for (; k < s.at; k++) put(keep(get(k)));
    for (const e of s.insert) put(ins(e));
    k = s.at + s.remove;
  }
  for (; k < length; k++) put(keep(get(k)));
};

/** Length of the list after the splices. */
export const splicedLength = (length: number, splices: readonly { remove: number; insert: readonly unknown[] }[]): number =>
  splices.reduce((n, s) => n - s.remove + s.insert.length, length);

/** The text around an `ok` list section's joined entries that hashListSection hashes (the aggregator's store feeds its held chunks' texts between them: #17). */
export const LIST_SECTION_OPEN = '{"status":"ok","data":[';
export const LIST_SECTION_CLOSE = ']}';

/**
 * The hash (contract/hash.ts hashSection) of `{status: 'ok', data: [entries]}` from the entries'
 * JSON texts, without building the section: what hashSection gives for an `ok` list section.
 * Texts are fed to the hash in joined chunks (one update per text costs more than the hashing).
 */
export const hashListSection = (entryJson: readonly string[]): string => {
  const h = createHash('sha256').update(LIST_SECTION_OPEN);
  updateJoined(h, entryJson);
  return h.update(LIST_SECTION_CLOSE).digest('hex');
};

const CHUNK = 512;
const updateJoined = (h: Hash, texts: readonly string[]): void => {
  for (let k = 0; k < texts.length; k += CHUNK) {
    const part = texts.slice(k, k + CHUNK).join(',');
    h.update(k === 0 ? part : `,${part}`);
  }
};

export interface ListDelta<E> {
  base: string;
  splices: Splice<E>[];
}

/**
 * The delta from the acknowledged section `prev` (hash `base`) to `next`, or null when one of them
 * is not an ok list, or when the delta is not much smaller than `next` in full (more than
 * MAX_SPLICES splices or MAX_DELTA_INSERTS inserts, or over half of the full JSON's size).
 */
export const listDelta = <E>(base: string, prev: unknown, next: unknown): ListDelta<E> | null => {
  const p = okList(prev);
  const n = okList(next) as E[] | null;
  if (p === null || n === null) return null;
  const prevKeys = p.map((e) => JSON.stringify(e));
  const nextKeys = n.map((e) => JSON.stringify(e));
  const ks = computeSplices(prevKeys, nextKeys);
  if (ks.length > MAX_SPLICES) return null;
  let inserts = 0;
  let deltaBytes = 64 + base.length;
  for (const s of ks) {
    inserts += s.count;
    deltaBytes += 40;
    for (let k = s.from; k < s.from + s.count; k++) deltaBytes += nextKeys[k]!.length + 1;
  }
  const fullBytes = nextKeys.reduce((b, t) => b + t.length + 1, 24);
  if (inserts > MAX_DELTA_INSERTS || deltaBytes * 2 > fullBytes) return null;
  return { base, splices: ks.map((s) => ({ at: s.at, remove: s.remove, insert: n.slice(s.from, s.from + s.count) })) };
};

export interface HostSetDelta {
  name: string;
  type: string;
  family: 'inet' | 'inet6' | null;
  splices: Splice<string>[];
}
export interface IpsetsDelta {
  base: string;
  hostSets: HostSetDelta[];
  caliSetSizes: Record<string, number>;
}
interface HostSet {
  name: string;
  type: string;
  family: 'inet' | 'inet6' | null;
  members: string[];
}

/**
 * hashSection of `{status: 'ok', data: {hostSets, caliSetSizes}}` from each host set's head and its
 * members, without building the section.
 */
export const hashIpsetsSection = (sets: Iterable<{ name: string; type: string; family: string | null; members: readonly string[] }>, caliSetSizes: Record<string, number>): string => {
  const h = createHash('sha256').update('{"status":"ok","data":{"hostSets":[');
  let firstSet = true;
  for (const s of sets) {
    h.update(`${firstSet ? '' : ','}${JSON.stringify({ name: s.name, type: s.type, family: s.family }).slice(0, -1)},"members":`);
    firstSet = false;
    // a member list's JSON is JSON.stringify of the array
    h.update(JSON.stringify(s.members));
    h.update('}');
  }
  return h.update(`],"caliSetSizes":${JSON.stringify(caliSetSizes)}}}`).digest('hex');
};

/**
 * The ipsets delta from the acknowledged section `prev` (hash `base`) to `next`, or null when one
 * of them is not an ok ipsets section in the contract's key order, host set names repeat, or the
 * delta is not much smaller than `next` in full (the same limits as listDelta, over all sets).
 */
export const ipsetsDelta = (base: string, prev: unknown, next: unknown): IpsetsDelta | null => {
  const p = okIpsets(prev);
  const n = okIpsets(next);
  if (p === null || n === null) return null;
  const prevByName = new Map(p.hostSets.map((s) => [s.name, s.members]));
  const hostSets: HostSetDelta[] = [];
  let splices = 0;
  let inserts = 0;
  let deltaBytes = 64 + base.length + JSON.stringify(n.caliSetSizes).length;
  let fullBytes = 64 + JSON.stringify(n.caliSetSizes).length;
  for (const s of n.hostSets) {
    const ks = computeSplices(prevByName.get(s.name) ?? [], s.members);
    splices += ks.length;
    const head = { name: s.name, type: s.type, family: s.family };
    const headBytes = JSON.stringify(head).length + 16;
    deltaBytes += headBytes + 40 * ks.length;
    fullBytes += headBytes;
    for (const m of s.members) fullBytes += m.length + 3;
    for (const k of ks) {
      inserts += k.count;
      for (let x = k.from; x < k.from + k.count; x++) deltaBytes += s.members[x]!.length + 3;
    }
    hostSets.push({ ...head, splices: ks.map((k) => ({ at: k.at, remove: k.remove, insert: s.members.slice(k.from, k.from + k.count) })) });
  }
  if (splices > MAX_SPLICES || inserts > MAX_DELTA_INSERTS || deltaBytes * 2 > fullBytes) return null;
  return { base, hostSets, caliSetSizes: n.caliSetSizes };
};

const sameKeys = (o: object, keys: readonly string[]): boolean => {
  const k = Object.keys(o);
  return k.length === keys.length && k.every((x, i) => x === keys[i]);
};

/** The data of an ok ipsets section whose objects have the contract's keys in its order, else null. */
const okIpsets = (section: unknown): { hostSets: HostSet[]; caliSetSizes: Record<string, number> } | null => {
  if (!section || typeof section !== 'object' || !sameKeys(section, ['status', 'data'])) return null;
  const { status, data } = section as { status: unknown; data: unknown };
  if (status !== 'ok' || !data || typeof data !== 'object' || !sameKeys(data, ['hostSets', 'caliSetSizes'])) return null;
  const d = data as { hostSets: unknown; caliSetSizes: unknown };
  if (!Array.isArray(d.hostSets) || !d.caliSetSizes || typeof d.caliSetSizes !== 'object') return null;
  const names = new Set<string>();
  for (const s of d.hostSets as unknown[]) {
    if (!s || typeof s !== 'object' || !sameKeys(s, ['name', 'type', 'family', 'members'])) return null;
    const h = s as HostSet;
    if (typeof h.name !== 'string' || names.has(h.name) || !Array.isArray(h.members) || !h.members.every((m) => typeof m === 'string')) return null;
    names.add(h.name);
  }
  return d as { hostSets: HostSet[]; caliSetSizes: Record<string, number> };
};

/** The delta of a delta section from `prev` (acknowledged at `base`) to `next`, or null to send it in full. */
export const sectionDelta = (name: DeltaSectionName, base: string, prev: unknown, next: unknown): ListDelta<unknown> | IpsetsDelta | null =>
  name === 'ipsets' ? ipsetsDelta(base, prev, next) : listDelta(base, prev, next);

/** The data of an `{status: 'ok', data: [...]}` section with exactly those keys in that order, else null. */
const okList = (section: unknown): unknown[] | null => {
  if (!section || typeof section !== 'object' || !sameKeys(section, ['status', 'data'])) return null;
  const s = section as { status: unknown; data: unknown };
  return s.status === 'ok' && Array.isArray(s.data) ? s.data : null;
};
