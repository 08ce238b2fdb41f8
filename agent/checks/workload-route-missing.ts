/**
 * workload-route-missing: every cali* device that is up should have the pod's /32 (/128) route
 * Felix programs (`<pod IP> dev caliX scope link`). A device without one is a pod this node cannot
 * deliver to: Felix has not (yet) seen its workload endpoint, or the route was removed.
 */
import { isWorkloadDevice, routeDevices } from '../derive/identity.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'workload-route-missing';

export const workloadRouteMissing: LocalCheck = {
  rule,
  description: 'A cali* workload device has no route to its pod',
  run({ snapshot }) {
    const n = need(snapshot, 'links', 'routes');
    if (!n.ok) return n.outcome;
    const routed = new Set(n.data.routes.flatMap((r) => routeDevices(r)));
    const missing = n.data.links.filter(
      (l) => isWorkloadDevice(l.name) && l.flags.includes('UP') && l.operstate.toUpperCase() !== 'DOWN' && !routed.has(l.name),
    );
    return outcome(
      missing.map((l) => ({
        rule,
        severity: 'warning' as const,
        node: snapshot.node,
        subject: l.name,
        summary: `Workload device ${l.name} has no route: traffic to that pod from outside it is not delivered`,
        evidence: {
          seen: `link ${l.name} (${l.operstate}) with no route via it`,
          expected: `<pod IP>/32 dev ${l.name} scope link (proto 80 or none)`,
          details: { device: l.name, operstate: l.operstate, mac: l.mac },
        },
        remedy:
          `Find the pod: \`calicoctl get workloadendpoints -A -o wide | grep ${l.name}\` (no match: a leftover veth from a deleted pod, or the CNI ADD failed). ` +
          `For a live pod, check Felix knows it (calico-node log for "${l.name}") and that its WorkloadEndpoint has an IP; restarting calico-node reprograms routes. ` +
          `A leftover veth can be removed with \`ip link del ${l.name}\`. Verify with \`ip route show dev ${l.name}\`.`,
      })),
    );
  },
};
