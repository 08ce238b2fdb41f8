/**
 * vxlan-fdb-mismatch: node A's FDB entry on its VXLAN device for peer B's VTEP MAC must send to B's
 * node IP (Felix programs `<B VTEP MAC> dst <B node IP> self permanent`). Missing, or pointing at
 * another host, A's encapsulated packets for B go nowhere or to the wrong host.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Tunnel } from '../../contract/snapshot.js';
import type { NodeView } from '../cluster/cluster.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'vxlan-fdb-mismatch';

/** The remedy names the family's device and Node field (#15: vxlan-v6.calico for IPv6 peers). */
const remedy = (family: 'inet' | 'inet6'): string => {
  const dev = family === 'inet6' ? 'vxlan-v6.calico' : 'vxlan.calico';
  return (
    "The VXLAN forwarding entry for the peer's VTEP is missing or points at the wrong host. Check the peer's node IP " +
    `(\`ip -d link show ${dev}\` there: \`local\`) against \`bridge fdb show dev ${dev}\` here; delete the wrong ` +
    `entry (\`bridge fdb del <MAC> dev ${dev}\`) so Felix reprograms it, or restart calico-node here; if it comes back ` +
    `wrong, the peer's Node resource carries a stale address (projectcalico.org/${family === 'inet6' ? 'IPv6Address' : 'IPv4Address'}).`
  );
};

/** The peer's encapsulation source: its tunnel's `local`, else its first node IP of the same family (#15). */
const expectedDst = (b: NodeView, family: 'inet' | 'inet6'): string | null =>
  b.vxlanTunnel(family)?.local ?? b.underlayIPs.find((ip) => ip.includes(':') === (family === 'inet6')) ?? null;

export const vxlanFdbMismatch: CorrelateRule = {
  id: RULE_ID,
  description: "A's FDB entry for B's VTEP MAC is missing or its dst is not B's node IP",
  run(cluster) {
    const out: FindingDraft[] = [];
    for (const a of cluster.fresh) {
      for (const family of ['inet', 'inet6'] as const) {
        const fdb = cluster.vxlanPeerEntries(a, 'fdb', family);
        if (fdb === null) continue;
        const dev = a.vxlanDevice(family);
        for (const { peer: b, entry: e } of fdb.mismatched) {
          const mac = (b.vxlanTunnel(family) as Tunnel).mac;
          const exp = expectedDst(b, family);
          const dstOwner = e.dst === null ? null : (cluster.ownerOfNodeIP(e.dst)?.name ?? null);
          out.push({
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
            remedy: remedy(family),
          });
        }
        for (const b of fdb.missing) {
          const mac = (b.vxlanTunnel(family) as Tunnel & { mac: string }).mac;
          const exp = expectedDst(b, family) as string;
          out.push({
            rule: RULE_ID,
            severity: 'critical',
            node: a.name,
            peer: b.name,
            subject: mac,
            summary: `${a.name}: no FDB entry on ${dev} for ${b.name}'s VTEP ${mac}`,
            evidence: {
              seen: `no entry for ${mac} on ${dev}`,
              expected: `${mac} dev ${dev} dst ${exp} self permanent`,
              details: { device: dev, mac, seenDst: null, expectedDst: exp, missing: true },
            },
            remedy: remedy(family),
          });
        }
      }
    }
    return out;
  },
};
