/**
 * vxlan-fdb-mismatch: node A's FDB entry on its VXLAN device for peer B's VTEP MAC must send to B's
 * node IP (Felix programs `<B VTEP MAC> dst <B node IP> self permanent`). Missing, or pointing at
 * another host, A's encapsulated packets for B go nowhere or to the wrong host.
 */
import type { FdbEntry, Tunnel } from '../../contract/snapshot.js';
import type { IndexedNode } from '../cluster-map.js';
import { indexFor, ownerName, sectionList, SKIP, wrongFor } from './common.js';
import type { CorrelateRule } from './types.js';
import { scanVxlanPeers, vxlanTunnel, type VxlanFamily } from './vxlan-peer-scan.js';

export const RULE_ID = 'vxlan-fdb-mismatch';

const REMEDY =
  "The VXLAN forwarding entry for the peer's VTEP is missing or points at the wrong host. Check the peer's node IP " +
  "(`ip -d link show vxlan.calico` there: `local`) against `bridge fdb show dev vxlan.calico` here; delete the wrong " +
  "entry (`bridge fdb del <MAC> dev vxlan.calico`) so Felix reprograms it, or restart calico-node here; if it comes back " +
  "wrong, the peer's Node resource carries a stale address (projectcalico.org/IPv4Address).";

const expectedDst = (b: IndexedNode, family: VxlanFamily): string | null => vxlanTunnel(b, family)?.local ?? b.underlayIPs[0] ?? null;

export const vxlanFdbMismatch: CorrelateRule = {
  id: RULE_ID,
  description: "A's FDB entry for B's VTEP MAC is missing or its dst is not B's node IP",
  run(input, _map, given) {
    const index = indexFor(input, given);
    return scanVxlanPeers<FdbEntry>(index, {
      rule: RULE_ID,
      entries: (a) => sectionList(index, a, 'fdb'),
      eligible: (b, bt) => bt.mac !== null && index.byVtepMac.get(bt.mac.toLowerCase()) === b.i && (bt.local ?? b.underlayIPs[0] ?? null) !== null,
      judge: (e, family) => {
        let bi = index.byVtepMac.get(e.mac);
        if (bi === undefined) bi = index.byVtepMac.get(e.mac.toLowerCase());
        if (bi === undefined || bi < 0) return SKIP;
        const b = index.nodes[bi] as IndexedNode;
        if (vxlanTunnel(b, family) === null) return SKIP;
        return e.dst !== null && b.underlayIPs.includes(e.dst) ? bi : wrongFor(bi);
      },
      wrong: (a, b, e, dev, family) => {
        const mac = (vxlanTunnel(b, family) as Tunnel).mac;
        const exp = expectedDst(b, family);
        const dstOwner = e.dst === null ? null : ownerName(index, index.byNodeIP.get(e.dst));
        return {
          rule: RULE_ID,
          severity: 'critical',
          node: a.name,
          peer: b.name,
          subject: mac ?? undefined,
          summary: `${a.name}: FDB entry for ${b.name}'s VTEP ${mac} sends to ${e.dst ?? 'no destination'}${dstOwner ? ` (${dstOwner})` : ''}, not ${exp}`,
          evidence: {
            seen: `${mac} dev ${dev} dst ${e.dst ?? '(none)'}`,
            expected: `${mac} dev ${dev} dst ${exp} self permanent`,
            details: { device: dev, mac, seenDst: e.dst, expectedDst: exp, peerNodeIPs: b.underlayIPs, seenDstOwner: dstOwner },
          },
          remedy: REMEDY,
        };
      },
      missing: (a, b, dev, family) => {
        const bt = vxlanTunnel(b, family) as Tunnel & { mac: string };
        const exp = expectedDst(b, family) as string;
        return {
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
        };
      },
    });
  },
};
