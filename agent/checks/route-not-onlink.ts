/**
 * route-not-onlink: Felix and BIRD program routes to other nodes' blocks through vxlan.calico /
 * tunl0 with `onlink` (the next hop is not on any subnet of the tunnel). Without it the kernel
 * resolves the next hop another way, or the route was not programmed by Calico.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { routeHops } from '../../contract/calico.js';
import { isEncapDevice } from '../derive/identity.js';
import { isDefaultDst } from '../../common/net.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'route-not-onlink';

export const routeNotOnlink: LocalCheck = {
  rule,
  description: 'A route via vxlan.calico / vxlan-v6.calico / tunl0 with a next hop lacks the onlink flag',
  run({ snapshot }) {
    const n = need(snapshot, 'routes');
    if (!n.ok) return n.outcome;
    const findings: FindingDraft[] = [];
    for (const r of n.data.routes) {
      if (r.type !== 'unicast' || isDefaultDst(r.dst)) continue;
      for (const hop of routeHops(r)) {
        if (hop.dev === null || !isEncapDevice(hop.dev) || hop.gateway === null) continue;
        if (hop.flags.includes('onlink') || r.flags.includes('onlink')) continue;
        findings.push({
          rule,
          severity: 'warning',
          node: snapshot.node,
          subject: `${r.dst} via ${hop.gateway}`,
          summary: `Route ${r.dst} via ${hop.gateway} dev ${hop.dev} lacks onlink; it was not programmed the way Calico does it and may not resolve its next hop`,
          evidence: {
            seen: `${r.dst} via ${hop.gateway} dev ${hop.dev} proto ${r.protocol}${r.flags.length > 0 ? ` ${r.flags.join(' ')}` : ''}`,
            expected: `${r.dst} via ${hop.gateway} dev ${hop.dev} onlink`,
            details: { dst: r.dst, gateway: hop.gateway, dev: hop.dev, protocol: r.protocol, flags: r.flags },
          },
          remedy:
            `Find who added it: Calico's routes carry proto 80 (Felix) or proto bird; a route with another protocol was added by hand or by another tool. ` +
            `Delete the stray route (\`ip route del ${r.dst} via ${hop.gateway} dev ${hop.dev}\`) and let Felix/BIRD reprogram it (restart calico-node on this node if it does not come back), ` +
            `then verify with \`ip route show ${r.dst}\` (expect "onlink").`,
        });
      }
    }
    return outcome(findings);
  },
};
