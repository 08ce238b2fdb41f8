/**
 * vxlan-vni-nondefault: vxlan.calico uses VNI 4096 and UDP 4789 unless FelixConfiguration
 * vxlanVNI / vxlanPort say otherwise. A different value is legitimate but must be the same on every
 * node (the aggregator's tunnel-config-mismatch compares them) and allowed by firewalls: info.
 */
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'vxlan-vni-nondefault';
export const DEFAULT_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;

export const vxlanVniNondefault: LocalCheck = {
  rule,
  description: 'vxlan.calico uses a VNI other than 4096 or a port other than 4789',
  run({ snapshot }) {
    const n = need(snapshot, 'links');
    if (!n.ok) return n.outcome;
    const l = n.data.links.find((x) => x.name === 'vxlan.calico');
    if (l === undefined || l.vxlan === null) return { status: 'ok' };
    const vni = l.vxlan.id;
    const port = l.vxlan.port;
    const odd: string[] = [];
    if (vni !== null && vni !== DEFAULT_VNI) odd.push(`VNI ${vni} (default ${DEFAULT_VNI})`);
    if (port !== null && port !== 0 && port !== DEFAULT_VXLAN_PORT) odd.push(`UDP port ${port} (default ${DEFAULT_VXLAN_PORT})`);
    if (odd.length === 0) return { status: 'ok' };
    return outcome([
      {
        rule,
        severity: 'info',
        node: snapshot.node,
        subject: l.name,
        summary: `vxlan.calico uses non-default ${odd.join(' and ')}; every node and firewall must agree`,
        evidence: {
          seen: `vxlan id ${vni ?? '?'} dstport ${port ?? '?'}`,
          expected: `vxlan id ${DEFAULT_VNI} dstport ${DEFAULT_VXLAN_PORT}, or the same configured values on every node`,
          details: { device: l.name, vni, port },
        },
        remedy:
          `Confirm it is intended: \`calicoctl get felixconfiguration -o yaml | grep -i vxlan\` (vxlanVNI, vxlanPort, also per-node overrides node.<name>). ` +
          `Make sure every node shows the same values (\`ip -d link show vxlan.calico\`) and that security groups/firewalls allow UDP ${port ?? DEFAULT_VXLAN_PORT} between nodes.`,
      },
    ]);
  },
};
