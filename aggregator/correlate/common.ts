/**
 * Helpers shared by the correlation rules (pure).
 */
import type { FdbEntry, Neighbour, Route, SectionName } from '../../contract/snapshot.js';
import { routeHops } from '../../contract/calico.js';
import { buildClusterIndex, type ClusterIndex, type IndexedNode } from '../cluster-map.js';
import { EntryTable, packedOf, type EntryIds } from '../entry-table.js';
import type { CorrelateInput } from './types.js';
import { parseCidr } from '../../common/net.js';

/** Cluster-wide findings (IP pools) carry this in `node`; it can never be a real node name. */
export const CLUSTER_SUBJECT = '(cluster)';

export const indexFor = (input: CorrelateInput, index: ClusterIndex | undefined): ClusterIndex => index ?? buildClusterIndex(input).index;

export const ok = (n: IndexedNode, section: SectionName): boolean => n.state.report.sections[section].status === 'ok';

/** Routes in the main table (ip -j omits `table` for main; collectors write `main`). */
export const isMainTable = (r: Route): boolean => r.table === 'main' || r.table === '254' || r.table === '' || r.table === 'unspec';

export const sameMac = (a: string | null, b: string | null): boolean =>
  a !== null && b !== null && (a === b || a.toLowerCase() === b.toLowerCase());

/** VXLAN device of the node for a family (Calico's names when the node's own is unknown). */
export const vxlanDevice = (n: IndexedNode, family: 'inet' | 'inet6'): string =>
  (family === 'inet' ? n.vxlan?.device : n.vxlan6?.device) ?? (family === 'inet' ? 'vxlan.calico' : 'vxlan-v6.calico');

/**
 * Whether Calico is expected to program per-block routes on this node: overlay or BGP. A node in
 * policy-only mode (no encapsulation, no BGP: routes come from the cloud or another CNI) or whose
 * mode could not be determined is not checked for routes (no finding from missing knowledge).
 */
export const programsBlockRoutes = (n: IndexedNode): boolean => {
  const m = n.state.report.mode;
  if (m.encapsulation === 'unknown') return false;
  return m.encapsulation !== 'none' || m.bgp;
};

export const describeRoute = (r: Route): string => {
  const via = routeHops(r).map((h) => [h.gateway ? `via ${h.gateway}` : null, h.dev ? `dev ${h.dev}` : null].filter(Boolean).join(' ')).join(' / ');
  return [r.type !== 'unicast' ? r.type : null, r.dst, via, `proto ${r.protocol}`].filter(Boolean).join(' ');
};

/** Name of the node owning an index entry, or null when unknown / ambiguous. */
export const ownerName = (index: ClusterIndex, i: number | undefined): string | null =>
  i === undefined || i < 0 ? null : (index.nodes[i]?.name ?? null);

/** The block group a route's destination is exactly, or undefined (exact text first, then normalised). */
export const blockGroupOf = (index: ClusterIndex, r: Route): number | undefined => {
  const g = index.blockKey.get(r.dst);
  if (g !== undefined) return g;
  if (r.dst === 'default' || !r.dst.includes('/') || (r.dev !== null && r.dev.startsWith('cali'))) return undefined;
  const c = parseCidr(r.dst);
  return c === null ? undefined : index.blockKey.get(c.text);
};

/**
 * Verdict codes memoised per shared entry (see memoFor): `v ≥ 0` the entry is right for node v;
 * SKIP it concerns no fresh node; `v ≤ -3` it is wrong for node `wrongOwner(v)`.
 */
export const SKIP = -1;
export const wrongFor = (bi: number): number => -3 - bi;
export const wrongOwner = (v: number): number => -3 - v;
/** A memo slot not computed yet (no rule's code). */
export const UNSET = -0x80000000;

/**
 * One node's per-peer list as the rules read it: ids into a table of distinct entries, the store's
 * layout (../entry-table.ts). `key` stays the same object while the node's section is unchanged:
 * it is the key results are carried under across passes.
 */
export interface EntryList<E> {
  key: object;
  table: EntryTable<E>;
  ids: EntryIds;
}

/**
 * The list `holder` (a section or an ipset host set) holds: its packed list when the store packed
 * it, else `plain` packed for this pass into a table of the index's own, keyed by entry identity
 * (callers that build NodeStates by hand, e.g. tests; cached per pass and per array).
 */
export const entryList = <E>(index: ClusterIndex, kind: string, holder: object, plain: () => readonly E[]): EntryList<E> => {
  const packed = packedOf<E>(holder);
  if (packed !== null) return { key: packed, table: packed.table, ids: packed.ids };
  const arr = plain();
  const held = index.local.lists.get(arr);
  if (held !== undefined) return held as EntryList<E>;
  let table = index.local.tables.get(kind) as EntryTable<E> | undefined;
  if (table === undefined) index.local.tables.set(kind, (table = new EntryTable<E>(false) as EntryTable<unknown> as EntryTable<E>));
  const ids = new Uint32Array(arr.length);
  for (let k = 0; k < arr.length; k++) ids[k] = table.intern(arr[k], arr[k] as E);
  const list: EntryList<E> = { key: arr, table, ids };
  index.local.lists.set(arr, list as EntryList<unknown>);
  return list;
};

/** The node's routes, neighbours or FDB entries, or null when the section is not ok. */
export const sectionList = <K extends 'routes' | 'neighbours' | 'fdb'>(index: ClusterIndex, n: IndexedNode, name: K): EntryList<SectionEntry<K>> | null => {
  const section = n.state.report.sections[name];
  if (section.status !== 'ok') return null;
  return entryList(index, name, section, () => section.data as unknown as readonly SectionEntry<K>[]);
};
type SectionEntry<K extends 'routes' | 'neighbours' | 'fdb'> = K extends 'routes' ? Route : K extends 'neighbours' ? Neighbour : FdbEntry;

/** The members of an ipset host set. */
export const membersList = (index: ClusterIndex, set: { members: readonly string[] }): EntryList<string> => entryList(index, 'members', set, () => set.members);

/**
 * The memo of codes for `question` about the entries of `table` in this pass: one Int32Array slot
 * per entry id, UNSET until a rule computes it. `question` names everything the code depends on
 * besides the entry (rule, family, device names): the same question gets the same codes.
 */
export const memoFor = (index: ClusterIndex, table: EntryTable<unknown>, question: string): Int32Array => {
  let perTable = index.memos.get(table);
  if (perTable === undefined) index.memos.set(table, (perTable = new Map()));
  let memo = perTable.get(question);
  if (memo === undefined || memo.length < table.size) {
    const grown = new Int32Array(Math.max(table.size, (memo?.length ?? 0) * 2)).fill(UNSET);
    if (memo !== undefined) grown.set(memo);
    perTable.set(question, (memo = grown));
  }
  return memo;
};

/** The result `rule` computed for `key` (a node's list key or section data) in an earlier pass, if carried. */
export const carried = <T>(index: ClusterIndex, rule: string, key: object): T | undefined => index.carry?.get(rule)?.get(key) as T | undefined;

/** Keeps `value` for `key` for later passes (no-op without a cache). */
export const carry = (index: ClusterIndex, rule: string, key: object, value: unknown): void => {
  if (index.carry === null) return;
  let m = index.carry.get(rule);
  if (m === undefined) index.carry.set(rule, (m = new WeakMap()));
  m.set(key, value);
};
