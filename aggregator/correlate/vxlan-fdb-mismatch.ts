/**
 * vxlan-fdb-mismatch: node A's FDB entry on its VXLAN device for peer B's VTEP MAC must send to B's
 * node IP (Felix programs `<B VTEP MAC> dst <B node IP> self permanent`). Missing, or pointing at
 * another host, A's encapsulated packets for B go nowhere or to the wrong host.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { FdbEntry, Tunnel } from '../../contract/snapshot.js';
import type { IndexedNode } from '../cluster-map.js';
import { carried, carry, indexFor, ownerName, SKIP, verdict, vxlanDevice, wrongFor, wrongOwner } from './common.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'vxlan-fdb-mismatch';

const REMEDY =
  "The VXLAN forwarding entry for the peer's VTEP is missing or points at the wrong host. Check the peer's node IP " +
  "(`ip -d link show vxlan.calico` there: `local`) against `bridge fdb show dev vxlan.calico` here; delete the wrong " +
  "entry (`bridge fdb del <MAC> dev vxlan.calico`) so Felix reprograms it, or restart calico-node here; if it comes back " +
  "wrong, the peer's Node resource carries a stale address (projectcalico.org/IPv4Address).";

export const vxlanFdbMismatch: CorrelateRule = {
  id: RULE_ID,
  description: "A's FDB entry for B's VTEP MAC is missing or its dst is not B's node IP",
  run(input, _map, given) {
    const index = indexFor(input, given);
    const out: FindingDraft[] = [];
    const n = index.nodes.length;
    const seen = new Int32Array(n).fill(-1);
    const good = new Int32Array(n).fill(-1);
    // peers every VXLAN node must hold an entry for, counted once (see vxlan-neighbor-mac-mismatch)
    const eligible = { inet: new Uint8Array(n), inet6: new Uint8Array(n) };
    const eligibleCount = { inet: 0, inet6: 0 };
    for (const b of index.fresh) {
      for (const family of ['inet', 'inet6'] as const) {
        const bt = family === 'inet' ? b.vxlan : b.vxlan6;
        if (bt === null || bt.mac === null || index.byVtepMac.get(bt.mac.toLowerCase()) !== b.i) continue;
        if ((bt.local ?? b.underlayIPs[0] ?? null) === null) continue;
        eligible[family][b.i] = 1;
        eligibleCount[family]++;
      }
    }
    for (const a of index.fresh) {
      const fdb = a.state.report.sections.fdb;
      if (fdb.status !== 'ok' || (a.vxlan === null && a.vxlan6 === null)) continue;
      const held = carried<FindingDraft[]>(index, RULE_ID, fdb.data);
      if (held !== undefined) {
        for (const d of held) out.push(d);
        continue;
      }
      const mine: FindingDraft[] = [];
      for (const family of ['inet', 'inet6'] as const) {
        const tunnelOf = (x: IndexedNode): Tunnel | null => (family === 'inet' ? x.vxlan : x.vxlan6);
        const expectedDst = (b: IndexedNode): string | null => tunnelOf(b)?.local ?? b.underlayIPs[0] ?? null;
        if (tunnelOf(a) === null) continue;
        const dev = vxlanDevice(a, family);
        const stamp = a.i + (family === 'inet' ? 0 : n);
        let wrong: { b: IndexedNode; dst: string | null }[] | null = null;
        let seenCount = 0;
        const elig = eligible[family];
        const judge = (e: FdbEntry): number => {
          let bi = index.byVtepMac.get(e.mac);
          if (bi === undefined) bi = index.byVtepMac.get(e.mac.toLowerCase());
          if (bi === undefined || bi < 0) return SKIP;
          const b = index.nodes[bi] as IndexedNode;
          if (tunnelOf(b) === null) return SKIP;
          return e.dst !== null && b.underlayIPs.includes(e.dst) ? bi : wrongFor(bi);
        };
        for (const e of fdb.data) {
          if (e.dev !== dev) continue;
          const v = verdict(index, e, judge);
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
          (wrong ??= []).push({ b: index.nodes[bi] as IndexedNode, dst: e.dst });
        }
        for (const w of wrong ?? []) {
          if (good[w.b.i] === stamp) continue;
          const mac = (tunnelOf(w.b) as Tunnel).mac;
          const exp = expectedDst(w.b);
          const dstOwner = w.dst === null ? null : ownerName(index, index.byNodeIP.get(w.dst));
          mine.push({
            rule: RULE_ID,
            severity: 'critical',
            node: a.name,
            peer: w.b.name,
            subject: mac ?? undefined,
            summary: `${a.name}: FDB entry for ${w.b.name}'s VTEP ${mac} sends to ${w.dst ?? 'no destination'}${dstOwner ? ` (${dstOwner})` : ''}, not ${exp}`,
            evidence: {
              seen: `${mac} dev ${dev} dst ${w.dst ?? '(none)'}`,
              expected: `${mac} dev ${dev} dst ${exp} self permanent`,
              details: { device: dev, mac, seenDst: w.dst, expectedDst: exp, peerNodeIPs: w.b.underlayIPs, seenDstOwner: dstOwner },
            },
            remedy: REMEDY,
          });
        }
        const expected = eligibleCount[family] - (elig[a.i] as number);
        for (const b of seenCount < expected ? index.fresh : []) {
          if (b.i === a.i || seen[b.i] === stamp || elig[b.i] === 0) continue;
          const bt = tunnelOf(b) as Tunnel & { mac: string };
          const exp = expectedDst(b) as string;
          mine.push({
            rule: RULE_ID,
            severity: 'critical',
            node: a.name,
            peer: b.name,
            subject: bt.mac,
            summary: `${a.name}: no FDB entry on ${dev} for ${b.name}'s VTEP ${bt.mac}`,
            evidence: {
              seen: `no entry for ${bt.mac} on ${dev}`,
              expected: `${bt.mac} dev ${dev} dst ${exp} self permanent`,
              details: { device: dev, mac: bt.mac, seenDst: null, expectedDst: exp, missing: true },
            },
            remedy: REMEDY,
          });
        }
      }
      carry(index, RULE_ID, fdb.data, mine);
      for (const d of mine) out.push(d);
    }
    return out;
  },
};
