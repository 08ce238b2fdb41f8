/**
 * The walk vxlan-fdb-mismatch and vxlan-neighbor-mac-mismatch share (pure). For each fresh node A
 * with a VXLAN tunnel, per family, A's entries (FDB or neighbours) on its VXLAN device are judged per
 * peer B through the memoised verdicts (see common.ts): an entry wrong for B is reported unless
 * another entry for B is right, and each eligible peer with no entry at all is reported missing.
 * Eligible peers are counted once per pass, so a node whose entries cover them all skips the
 * per-peer "missing" walk. A node's findings are carried with its section data while it is unchanged.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Tunnel } from '../../contract/snapshot.js';
import type { ClusterIndex, IndexedNode } from '../cluster-map.js';
import { alignedCodes, carried, carry, SKIP, verdict, vxlanDevice, wrongOwner } from './common.js';

export type VxlanFamily = 'inet' | 'inet6';

export const vxlanTunnel = (x: IndexedNode, family: VxlanFamily): Tunnel | null => (family === 'inet' ? x.vxlan : x.vxlan6);

export interface VxlanPeerCheck<E extends { dev: string }> {
  rule: string;
  /** A's entries (the section data, also the carry key), or null when the section is not ok */
  entries: (a: IndexedNode) => readonly E[] | null;
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

interface Ref<E> {
  dev: string;
  data: readonly E[];
  codes: Int32Array;
}

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
  // per family, the last walked node's entries and their codes (see alignedCodes)
  const refs: { inet: Ref<E> | null; inet6: Ref<E> | null } = { inet: null, inet6: null };
  // the buffer the codes before the reference's were in, reused for the next node's
  const spare: { inet: Int32Array | null; inet6: Int32Array | null } = { inet: null, inet6: null };
  for (const a of index.fresh) {
    const data = check.entries(a);
    if (data === null || (a.vxlan === null && a.vxlan6 === null)) continue;
    const held = carried<FindingDraft[]>(index, check.rule, data);
    if (held !== undefined) {
      for (const d of held) out.push(d);
      continue;
    }
    const mine: FindingDraft[] = [];
    for (const family of FAMILIES) {
      if (vxlanTunnel(a, family) === null) continue;
      const dev = vxlanDevice(a, family);
      const stamp = a.i + (family === 'inet' ? 0 : n);
      let wrong: { b: IndexedNode; e: E }[] | null = null;
      let seenCount = 0;
      const elig = eligible[family];
      const judge = (e: E): number => check.judge(e, family);
      const ref = refs[family];
      const usable = ref !== null && ref.dev === dev;
      const codes = alignedCodes(data, usable ? ref.data : null, usable ? ref.codes : null, (e) => (e.dev !== dev ? SKIP : verdict(index, e, judge)), spare[family]);
      spare[family] = ref === null ? null : ref.codes;
      refs[family] = { dev, data, codes };
      for (let k = 0; k < data.length; k++) {
        const v = codes[k] as number;
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
        (wrong ??= []).push({ b: index.nodes[bi] as IndexedNode, e: data[k] as E });
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
    carry(index, check.rule, data, mine);
    for (const d of mine) out.push(d);
  }
  return out;
};
