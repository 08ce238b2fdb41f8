/**
 * vxlan-learning-on: Calico creates its VXLAN devices with `nolearning` and programs every FDB entry
 * itself. With learning on the kernel learns MAC → underlay IP from received packets, which can
 * overwrite or add entries Felix does not own.
 */
import { isVxlanDevice } from '../derive/identity.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'vxlan-learning-on';

export const vxlanLearningOn: LocalCheck = {
  rule,
  description: 'MAC learning is on for vxlan.calico / vxlan-v6.calico',
  run({ snapshot }) {
    const n = need(snapshot, 'links');
    if (!n.ok) return n.outcome;
    return outcome(
      n.data.links
        .filter((l) => isVxlanDevice(l.name) && l.vxlan?.learning === true)
        .map((l) => ({
          rule,
          severity: 'warning' as const,
          node: snapshot.node,
          subject: l.name,
          summary: `${l.name} has MAC learning on; Calico runs it with nolearning and learnt FDB entries may send peers' traffic to the wrong node`,
          evidence: {
            seen: `${l.name}: vxlan id ${l.vxlan?.id ?? '?'} learning`,
            expected: `${l.name}: vxlan … nolearning`,
            details: { device: l.name, vxlan: l.vxlan },
          },
          remedy:
            `Something other than Felix created or changed ${l.name}. Check \`ip -d link show ${l.name}\` and \`bridge fdb show dev ${l.name}\` for entries without "permanent". ` +
            `Delete the device (\`ip link del ${l.name}\`) and restart calico-node on this node so Felix recreates it with nolearning; verify with \`ip -d link show ${l.name}\`.`,
        })),
    );
  },
};
