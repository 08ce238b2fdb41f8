/**
 * vxlan-neighbor-mac-mismatch: node A's neighbour entry on its VXLAN device for peer B's tunnel IP
 * must hold B's VTEP MAC (Felix programs `<B tunnel IP> lladdr <B VTEP MAC> PERMANENT`). A wrong or
 * absent MAC makes A encapsulate B's traffic toward the wrong VTEP (or not at all).
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { IndexedNode } from '../cluster-map.js';
import { indexFor, ok, sameMac, vxlanDevice } from './common.js';
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
    const seen = new Int32Array(index.nodes.length).fill(-1);
    const good = new Int32Array(index.nodes.length).fill(-1);
    for (const family of ['inet', 'inet6'] as const) {
      const tunnelOf = (n: IndexedNode) => (family === 'inet' ? n.vxlan : n.vxlan6);
      for (const a of index.fresh) {
        const own = tunnelOf(a);
        if (own === null || !ok(a, 'neighbours')) continue;
        const neigh = a.state.report.sections.neighbours;
        if (neigh.status !== 'ok') continue;
        const dev = vxlanDevice(a, family);
        const stamp = a.i + (family === 'inet' ? 0 : index.nodes.length);
        let wrong: { b: IndexedNode; lladdr: string | null; state: string[] }[] | null = null;
        for (const e of neigh.data) {
          if (e.dev !== dev) continue;
          const bi = index.byTunnelIP.get(e.dst);
          if (bi === undefined || bi < 0 || bi === a.i) continue;
          const b = index.nodes[bi] as IndexedNode;
          const bt = tunnelOf(b);
          if (bt === null || bt.ip !== e.dst || bt.mac === null) continue;
          seen[bi] = stamp;
          if (sameMac(e.lladdr, bt.mac)) good[bi] = stamp;
          else (wrong ??= []).push({ b, lladdr: e.lladdr, state: e.state });
        }
        for (const w of wrong ?? []) {
          if (good[w.b.i] === stamp) continue;
          const bt = tunnelOf(w.b) as NonNullable<ReturnType<typeof tunnelOf>>;
          out.push({
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
        for (const b of index.fresh) {
          if (b.i === a.i || seen[b.i] === stamp) continue;
          const bt = tunnelOf(b);
          if (bt === null || bt.ip === null || bt.mac === null) continue;
          if (index.byTunnelIP.get(bt.ip) !== b.i) continue;
          out.push({
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
    }
    return out;
  },
};
