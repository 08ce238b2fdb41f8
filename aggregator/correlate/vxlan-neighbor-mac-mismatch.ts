/**
 * vxlan-neighbor-mac-mismatch: node A's neighbour entry on its VXLAN device for peer B's tunnel IP
 * must hold B's VTEP MAC (Felix programs `<B tunnel IP> lladdr <B VTEP MAC> PERMANENT`). A wrong or
 * absent MAC makes A encapsulate B's traffic toward the wrong VTEP (or not at all).
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { IndexedNode } from '../cluster-map.js';
import type { Neighbour, Tunnel } from '../../contract/snapshot.js';
import { carried, carry, indexFor, sameMac, SKIP, verdict, vxlanDevice, wrongFor, wrongOwner } from './common.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'vxlan-neighbor-mac-mismatch';

const REMEDY =
  "The neighbour (ARP) entry on the VXLAN device is out of step with the peer's VTEP. Compare the peer's MAC with " +
  "`ip link show vxlan.calico` on the peer; on this node delete the entry (`ip neigh del <peer tunnel IP> dev vxlan.calico`) " +
  'so Felix reprograms it, or restart calico-node here; if it comes back wrong, check that the peer\'s Node resource ' +
  '(projectcalico.org/IPv4VXLANTunnelAddr, VXLAN MAC) matches the device.';

export const vxlanNeighborMacMismatch: CorrelateRule = {
  id: RULE_ID,
  description: "A's neighbour entry for B's VXLAN tunnel IP holds a MAC other than B's VTEP MAC, or is missing",
  run(input, _map, given) {
    const index = indexFor(input, given);
    const out: FindingDraft[] = [];
    const n = index.nodes.length;
    const seen = new Int32Array(n).fill(-1);
    const good = new Int32Array(n).fill(-1);
    // which peers every VXLAN node must hold an entry for, counted once: a node whose entries cover
    // them all skips the per-peer "missing" walk
    const eligible = { inet: new Uint8Array(n), inet6: new Uint8Array(n) };
    const eligibleCount = { inet: 0, inet6: 0 };
    for (const b of index.fresh) {
      for (const family of ['inet', 'inet6'] as const) {
        const bt = family === 'inet' ? b.vxlan : b.vxlan6;
        if (bt === null || bt.ip === null || bt.mac === null || index.byTunnelIP.get(bt.ip) !== b.i) continue;
        eligible[family][b.i] = 1;
        eligibleCount[family]++;
      }
    }
    for (const a of index.fresh) {
      const neigh = a.state.report.sections.neighbours;
      if (neigh.status !== 'ok' || (a.vxlan === null && a.vxlan6 === null)) continue;
      const held = carried<FindingDraft[]>(index, RULE_ID, neigh.data);
      if (held !== undefined) {
        for (const d of held) out.push(d);
        continue;
      }
      const mine: FindingDraft[] = [];
      for (const family of ['inet', 'inet6'] as const) {
        const tunnelOf = (x: IndexedNode) => (family === 'inet' ? x.vxlan : x.vxlan6);
        if (tunnelOf(a) === null) continue;
        const dev = vxlanDevice(a, family);
        const stamp = a.i + (family === 'inet' ? 0 : n);
        let wrong: { b: IndexedNode; lladdr: string | null; state: string[] }[] | null = null;
        let seenCount = 0;
        const elig = eligible[family];
        const judge = (e: Neighbour): number => {
          const bi = index.byTunnelIP.get(e.dst);
          if (bi === undefined || bi < 0) return SKIP;
          const bt = tunnelOf(index.nodes[bi] as IndexedNode);
          if (bt === null || bt.ip !== e.dst || bt.mac === null) return SKIP;
          return sameMac(e.lladdr, bt.mac) ? bi : wrongFor(bi);
        };
        for (const e of neigh.data) {
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
          (wrong ??= []).push({ b: index.nodes[bi] as IndexedNode, lladdr: e.lladdr, state: e.state });
        }
        for (const w of wrong ?? []) {
          if (good[w.b.i] === stamp) continue;
          const bt = tunnelOf(w.b) as Tunnel;
          mine.push({
            rule: RULE_ID,
            severity: 'critical',
            node: a.name,
            peer: w.b.name,
            subject: bt.ip ?? undefined,
            summary: `${a.name}: neighbour ${bt.ip} on ${dev} has MAC ${w.lladdr ?? 'none'}, but ${w.b.name}'s VTEP MAC is ${bt.mac}`,
            evidence: {
              seen: `${bt.ip} dev ${dev} lladdr ${w.lladdr ?? '(none)'} ${w.state.join(',')}`.trim(),
              expected: `${bt.ip} dev ${dev} lladdr ${bt.mac} PERMANENT`,
              details: { device: dev, tunnelIP: bt.ip, seenMac: w.lladdr, expectedMac: bt.mac, state: w.state },
            },
            remedy: REMEDY,
          });
        }
        const expected = eligibleCount[family] - (elig[a.i] as number);
        for (const b of seenCount < expected ? index.fresh : []) {
          if (b.i === a.i || seen[b.i] === stamp || elig[b.i] === 0) continue;
          const bt = tunnelOf(b) as Tunnel & { ip: string; mac: string };
          mine.push({
            rule: RULE_ID,
            severity: 'critical',
            node: a.name,
            peer: b.name,
            subject: bt.ip,
            summary: `${a.name}: no neighbour entry on ${dev} for ${b.name}'s tunnel IP ${bt.ip}`,
            evidence: {
              seen: `no entry for ${bt.ip} on ${dev}`,
              expected: `${bt.ip} dev ${dev} lladdr ${bt.mac} PERMANENT`,
              details: { device: dev, tunnelIP: bt.ip, seenMac: null, expectedMac: bt.mac, missing: true },
            },
            remedy: REMEDY,
          });
        }
      }
      carry(index, RULE_ID, neigh.data, mine);
      for (const d of mine) out.push(d);
    }
    return out;
  },
};
