/**
 * vxlan-neighbor-mac-mismatch: node A's neighbour entry on its VXLAN device for peer B's tunnel IP
 * must hold B's VTEP MAC (Felix programs `<B tunnel IP> lladdr <B VTEP MAC> PERMANENT`). A wrong or
 * absent MAC makes A encapsulate B's traffic toward the wrong VTEP (or not at all).
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Tunnel } from '../../contract/snapshot.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'vxlan-neighbor-mac-mismatch';

/** The remedy names the family's device and Node fields (#15: vxlan-v6.calico for IPv6 peers). */
const remedy = (family: 'inet' | 'inet6'): string => {
  const dev = family === 'inet6' ? 'vxlan-v6.calico' : 'vxlan.calico';
  const fields = family === 'inet6' ? 'projectcalico.org/IPv6VXLANTunnelAddr, vxlanTunnelMACAddrV6' : 'projectcalico.org/IPv4VXLANTunnelAddr, vxlanTunnelMACAddr';
  return (
    "The neighbour (ARP) entry on the VXLAN device is out of step with the peer's VTEP. Compare the peer's MAC with " +
    `\`ip link show ${dev}\` on the peer; on this node delete the entry (\`ip neigh del <peer tunnel IP> dev ${dev}\`) ` +
    "so Felix reprograms it, or restart calico-node here; if it comes back wrong, check that the peer's Node resource " +
    `(${fields}) matches the device.`
  );
};

export const vxlanNeighborMacMismatch: CorrelateRule = {
  id: RULE_ID,
  description: "A's neighbour entry for B's VXLAN tunnel IP holds a MAC other than B's VTEP MAC, or is missing",
  run(cluster) {
    const out: FindingDraft[] = [];
    for (const a of cluster.fresh) {
      for (const family of ['inet', 'inet6'] as const) {
        const neighbours = cluster.vxlanPeerEntries(a, 'neighbours', family);
        if (neighbours === null) continue;
        const dev = a.vxlanDevice(family);
        for (const { peer: b, entry: e } of neighbours.mismatched) {
          const bt = b.vxlanTunnel(family) as Tunnel;
          out.push({
            rule: RULE_ID,
            severity: 'critical',
            node: a.name,
            peer: b.name,
            subject: bt.ip ?? undefined,
            summary: `${a.name}: neighbour ${bt.ip} on ${dev} has MAC ${e.lladdr ?? 'none'}, but ${b.name}'s VTEP MAC is ${bt.mac}`,
            evidence: {
              seen: `${bt.ip} dev ${dev} lladdr ${e.lladdr ?? '(none)'} ${e.state.join(',')}`.trim(),
              expected: `${bt.ip} dev ${dev} lladdr ${bt.mac} PERMANENT`,
              details: { device: dev, tunnelIP: bt.ip, seenMac: e.lladdr, expectedMac: bt.mac, state: e.state },
            },
            remedy: remedy(family),
          });
        }
        for (const b of neighbours.missing) {
          const bt = b.vxlanTunnel(family) as Tunnel & { ip: string; mac: string };
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
            remedy: remedy(family),
          });
        }
      }
    }
    return out;
  },
};
