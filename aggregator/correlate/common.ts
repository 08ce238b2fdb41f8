/**
 * Helpers shared by the correlation rules (pure).
 */
import type { Route } from '../../contract/snapshot.js';
import type { SectionName } from '../../contract/snapshot.js';
import { routeHops } from '../../agent/derive/identity.js';
import { buildClusterIndex, type ClusterIndex, type IndexedNode } from '../cluster-map.js';
import type { CorrelateInput } from './types.js';
import { parseCidr } from './net.js';

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
 * Verdict codes memoised per shared entry (see ClusterIndex.memo): `v ≥ 0` the entry is right
 * for node v; SKIP it concerns no fresh node; `v ≤ -3` it is wrong for node `wrongOwner(v)`.
 */
export const SKIP = -1;
export const wrongFor = (bi: number): number => -3 - bi;
export const wrongOwner = (v: number): number => -3 - v;

/** The memoised verdict on `entry`, computing it with `judge` on a miss (memoised only when frozen). */
export const verdict = <T extends object>(index: ClusterIndex, entry: T, judge: (e: T) => number): number => {
  const v = index.memo.get(entry);
  if (v !== undefined) return v;
  const fresh = judge(entry);
  if (Object.isFrozen(entry)) index.memo.set(entry, fresh);
  return fresh;
};

/** The result `rule` computed for `key` (a node's section data array) in an earlier pass, if carried. */
export const carried = <T>(index: ClusterIndex, rule: string, key: object): T | undefined => index.carry?.get(rule)?.get(key) as T | undefined;

/** Keeps `value` for `key` for later passes (no-op without a cache). */
export const carry = (index: ClusterIndex, rule: string, key: object, value: unknown): void => {
  if (index.carry === null) return;
  let m = index.carry.get(rule);
  if (m === undefined) index.carry.set(rule, (m = new WeakMap()));
  m.set(key, value);
};

/**
 * Per-position codes for `arr`, reusing those computed for `ref` (an earlier node's array of the
 * same kind) wherever the two hold the very same element. In a mesh the store hands every node the
 * same interned entries in the same order (node X's list is node Y's with one entry swapped), so a
 * merge-like walk mostly compares two pointers instead of looking each entry up; `compute` runs only
 * where the lists differ. Callers pass a `ref` whose codes do not depend on the node (same device
 * names), so a reused code is exactly what `compute` would return. The codes are written to
 * `into` when it is long enough (a buffer the caller reuses; never `refCodes`), else to a new array;
 * positions from arr.length on are left as they were.
 */
export const alignedCodes = <E>(
  arr: readonly E[],
  ref: readonly E[] | null,
  refCodes: Int32Array | null,
  compute: (e: E) => number,
  into: Int32Array | null = null,
): Int32Array => {
  const n = arr.length;
  const out = into !== null && into !== refCodes && into.length >= n ? into : new Int32Array(n);
  const r: readonly E[] = ref === null || refCodes === null ? [] : ref;
  const rc: Int32Array = refCodes ?? out;
  const m = r.length;
  let j = 0;
  let k = 0;
  while (k < n) {
    // the common case: a run of the same elements in both lists
    while (k < n && j < m && arr[k] === r[j]) out[k++] = rc[j++] as number;
    if (k >= n) break;
    const e = arr[k] as E;
    if (j + 1 < m && r[j + 1] === e) {
      out[k++] = rc[j + 1] as number;
      j += 2;
      continue;
    }
    out[k] = compute(e);
    // an element only this list holds keeps the reference position; anything else moves past it
    if (!(k + 1 < n && j < m && arr[k + 1] === r[j])) j++;
    k++;
  }
  return out;
};
