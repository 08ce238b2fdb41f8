/**
 * tunnel-down: a Calico tunnel device is administratively down or its operstate is DOWN.
 * operstate UNKNOWN is normal for vxlan.calico, tunl0 and WireGuard devices (they have no carrier).
 */
import type { FindingDraft } from '../../contract/finding.js';
import { isTunnelDevice } from '../derive/identity.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'tunnel-down';

export const tunnelDown: LocalCheck = {
  rule,
  description: 'A Calico tunnel device is down (no UP flag, or operstate DOWN); UNKNOWN is normal',
  run({ snapshot }) {
    const n = need(snapshot, 'links');
    if (!n.ok) return n.outcome;
    // identity.tunnels leaves out an idle tunl0 (created by the ipip module, DOWN, unused)
    const inUse = new Set(snapshot.identity.tunnels.map((t) => t.device));
    const findings: FindingDraft[] = [];
    for (const l of n.data.links) {
      if (!isTunnelDevice(l.name) || !inUse.has(l.name)) continue;
      const adminUp = l.flags.includes('UP');
      const operDown = l.operstate.toUpperCase() === 'DOWN';
      if (adminUp && !operDown) continue;
      findings.push({
        rule,
        severity: 'critical',
        node: snapshot.node,
        subject: l.name,
        summary: `Tunnel device ${l.name} is ${adminUp ? 'operationally DOWN' : 'administratively down'}; encapsulated pod traffic through it is dropped`,
        evidence: {
          seen: `flags <${l.flags.join(',')}>, state ${l.operstate}`,
          expected: 'UP flag set; state UNKNOWN (normal for tunnels) or UP',
          details: { device: l.name, flags: l.flags, operstate: l.operstate },
        },
        remedy:
          `Look at the device: \`ip -d link show ${l.name}\`. Something set it down (an admin, NetworkManager, a cleanup script): ` +
          `make NetworkManager ignore Calico devices (unmanaged-devices=interface-name:cali*;interface-name:tunl*;interface-name:vxlan.calico;interface-name:vxlan-v6.calico;interface-name:wireguard.cali). ` +
          `Bring it up with \`ip link set ${l.name} up\` or restart the calico-node pod on this node so Felix reprograms it, then verify with \`ip link show ${l.name}\` (state UNKNOWN, flags include UP,LOWER_UP).`,
      });
    }
    return outcome(findings);
  },
};
