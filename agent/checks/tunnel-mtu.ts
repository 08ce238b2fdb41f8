/**
 * tunnel-mtu: a tunnel's MTU leaves less room than its encapsulation overhead on the uplink
 * (VXLAN 50, VXLAN over IPv6 70, IPIP 20, WireGuard 60, WireGuard over IPv6 80): large packets are dropped or fragmented.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Tunnel } from '../../contract/snapshot.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'tunnel-mtu';

export const overheadOf = (t: Pick<Tunnel, 'kind' | 'family'>): number => {
  if (t.kind === 'vxlan') return t.family === 'inet6' ? 70 : 50;
  if (t.kind === 'ipip') return 20;
  // WireGuard: 60 over IPv4; Calico's wireguardMTUV6 default assumes 80 over IPv6
  return t.family === 'inet6' ? 80 : 60;
};

export const tunnelMtu: LocalCheck = {
  rule,
  description: 'Tunnel MTU is above the uplink MTU minus the encapsulation overhead',
  run({ snapshot }) {
    const n = need(snapshot, 'links');
    if (!n.ok) return n.outcome;
    const { tunnels, uplinks } = snapshot.identity;
    if (tunnels.length === 0) return { status: 'ok' };
    if (uplinks.length === 0) return { status: 'unknown', reason: 'identity: no uplink device identified (no default route, no VXLAN underlay)' };
    const findings: FindingDraft[] = [];
    for (const t of tunnels) {
      // a VXLAN device bound to an underlay device is limited by that device; else by the smallest uplink
      const boundTo = n.data.links.find((l) => l.name === t.device)?.vxlan?.link ?? null;
      const bound = boundTo !== null ? uplinks.find((u) => u.name === boundTo) : undefined;
      const uplink = bound ?? uplinks.reduce((a, b) => (b.mtu < a.mtu ? b : a));
      const overhead = overheadOf(t);
      const max = uplink.mtu - overhead;
      if (t.mtu <= max) continue;
      findings.push({
        rule,
        severity: 'warning',
        node: snapshot.node,
        subject: t.device,
        summary: `${t.device} MTU ${t.mtu} exceeds ${uplink.name} MTU ${uplink.mtu} minus ${t.kind}${t.family === 'inet6' ? ' (IPv6)' : ''} overhead ${overhead}; large pod packets will be dropped or fragmented`,
        evidence: {
          seen: `${t.device} mtu ${t.mtu}, ${uplink.name} mtu ${uplink.mtu}`,
          expected: `${t.device} mtu <= ${max}`,
          details: { device: t.device, kind: t.kind, tunnelMtu: t.mtu, uplink: uplink.name, uplinkMtu: uplink.mtu, overhead, maxMtu: max },
        },
        remedy:
          `Set Calico's MTU to the uplink MTU minus the overhead (${max} here), or let Calico auto-detect it: ` +
          `operator installs: \`kubectl patch installation default --type merge -p '{"spec":{"calicoNetwork":{"mtu":${max}}}}'\`; ` +
          `manifest installs: set veth_mtu in the calico-config ConfigMap (or FelixConfiguration vxlanMTU/ipipMTU/wireguardMTU). ` +
          `Restart calico-node, recreate pods so their veths get the new MTU, and verify with \`ip link show ${t.device}\` and \`ping -M do -s ${max - 28} <pod IP on another node>\`.`,
      });
    }
    return outcome(findings);
  },
};
