/**
 * The walk vxlan-fdb-mismatch and vxlan-neighbor-mac-mismatch share (pure). For each fresh node A
 * with a VXLAN tunnel, per family, A's entries (FDB or neighbours) on its VXLAN device are judged per
 * peer B through verdicts memoised per entry id (common.ts memoFor: the store packs the entries as
 * ids into one shared table, so each distinct entry is judged once per pass and a node's walk reads
 * one Int32Array slot per entry): an entry wrong for B is reported unless
 * another entry for B is right, and each eligible peer with no entry at all is reported missing.
 * Eligible peers are counted once per pass, so a node whose entries cover them all skips the
 * per-peer "missing" walk. A node's findings are carried with its section data while it is unchanged.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Tunnel } from '../../contract/snapshot.js';
import type { ClusterIndex, IndexedNode } from '../cluster-map.js';
import { carried, carry, memoFor, SKIP, UNSET, vxlanDevice, wrongOwner, type EntryList } from './common.js';

export type VxlanFamily = 'inet' | 'inet6';

export const vxlanTunnel = (x: IndexedNode, family: VxlanFamily): Tunnel | null => (family === 'inet' ? x.vxlan : x.vxlan6);

export interface VxlanPeerCheck<E extends { dev: string }> {
  rule: string;
  /** A's entries (common.ts sectionList), or null when the section is not ok */
  entries: (a: IndexedNode) => EntryList<E> | null;
  /** whether every VXLAN node of the family must hold an entry for peer b (its tunnel `bt`) */
  eligible: (b: IndexedNode, bt: Tunnel) => boolean;
  /** verdict code on one entry of A's VXLAN device (see common.ts: SKIP, peer index, wrongFor) */
  judge: (e: E, family: VxlanFamily) => number;
  /** the finding for an entry wrong for peer b */
  wrong: (a: IndexedNode, b: IndexedNode, e: E, dev: string, family: VxlanFamily) => FindingDraft;
  /** the finding for an eligible peer b without any entry */
  missing: (a: IndexedNode, b: IndexedNode, dev: string, family: VxlanFamily) => FindingDraft;
}

const FAMILIES = ['inet', 'inet6'] as const;

export const scanVxlanPeers = <E extends { dev: string }>(index: ClusterIndex, check: VxlanPeerCheck<E>): FindingDraft[] => {
  const out: FindingDraft[] = [];
  const n = index.nodes.length;
  const seen = new Int32Array(n).fill(-1);
  const good = new Int32Array(n).fill(-1);
  const eligible = { inet: new Uint8Array(n), inet6: new Uint8Array(n) };
  const eligibleCount = { inet: 0, inet6: 0 };
  for (const b of index.fresh) {
    for (const family of FAMILIES) {
      const bt = vxlanTunnel(b, family);
      if (bt === null || !check.eligible(b, bt)) continue;
      eligible[family][b.i] = 1;
      eligibleCount[family]++;
    }
  }
  for (const a of index.fresh) {
    const list = check.entries(a);
    if (list === null || (a.vxlan === null && a.vxlan6 === null)) continue;
    const held = carried<FindingDraft[]>(index, check.rule, list.key);
    if (held !== undefined) {
      for (const d of held) out.push(d);
      continue;
    }
    const mine: FindingDraft[] = [];
    const { ids, table } = list;
    const values = table.values;
    for (const family of FAMILIES) {
      if (vxlanTunnel(a, family) === null) continue;
      const dev = vxlanDevice(a, family);
      const stamp = a.i + (family === 'inet' ? 0 : n);
      let wrong: { b: IndexedNode; e: E }[] | null = null;
      let seenCount = 0;
      const elig = eligible[family];
      // the code of an entry depends on the entry, the family and A's device name only
      const memo = memoFor(index, table, `${check.rule}|${family}|${dev}`);
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k] as number;
        let v = memo[id] as number;
        if (v === UNSET) {
          const e = values[id] as E;
          memo[id] = v = e.dev !== dev ? SKIP : check.judge(e, family);
        }
        if (v === SKIP || v === a.i) continue;
        if (v >= 0) {
          if (seen[v] !== stamp) {
            seen[v] = stamp;
            seenCount += elig[v] as number;
          }
          good[v] = stamp;
          continue;
        }
        const bi = wrongOwner(v);
        if (bi === a.i) continue;
        if (seen[bi] !== stamp) {
          seen[bi] = stamp;
          seenCount += elig[bi] as number;
        }
        (wrong ??= []).push({ b: index.nodes[bi] as IndexedNode, e: values[id] as E });
      }
      for (const w of wrong ?? []) {
        if (good[w.b.i] === stamp) continue;
        mine.push(check.wrong(a, w.b, w.e, dev, family));
      }
      const expected = eligibleCount[family] - (elig[a.i] as number);
      for (const b of seenCount < expected ? index.fresh : []) {
        if (b.i === a.i || seen[b.i] === stamp || elig[b.i] === 0) continue;
        mine.push(check.missing(a, b, dev, family));
      }
    }
    carry(index, check.rule, list.key, mine);
    for (const d of mine) out.push(d);
  }
  return out;
};
