/**
 * route-wrong-device: a route to another node's block goes via a peer's tunnel address (a VXLAN
 * neighbour on vxlan.calico, a next hop used on the tunnel, or an address inside a Calico block)
 * but leaves through a device other than the tunnel, so the packet is never encapsulated.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { routeHops } from '../../contract/calico.js';
import { isTunnelDevice, isVxlanDevice, localBlockRoutes } from '../derive/identity.js';
import { cidrIndex, isDefaultDst, isHostRoute, type CidrIndex } from '../../common/net.js';
import { remoteBlockRoutes } from '../derive/mode.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'route-wrong-device';

export const routeWrongDevice: LocalCheck = {
  rule,
  description: "A route via a peer's tunnel IP does not use the tunnel device",
  run({ snapshot }) {
    const n = need(snapshot, 'routes', 'neighbours');
    if (!n.ok) return n.outcome;
    const { routes, neighbours } = n.data;
    // peer tunnel IPs: PERMANENT neighbours on the VXLAN devices, and next hops of routes via vxlan devices
    const tunnelIps = new Map<string, string>();
    for (const nb of neighbours) if (isVxlanDevice(nb.dev)) tunnelIps.set(nb.dst, nb.dev);
    for (const r of routes)
      for (const h of routeHops(r)) if (h.dev !== null && isVxlanDevice(h.dev) && h.gateway !== null) tunnelIps.set(h.gateway, h.dev);
    const remote = remoteBlockRoutes(routes);
    // computed only when a route via a plain device needs it
    let index: CidrIndex | null = null;
    const blocks = (): CidrIndex => (index ??= cidrIndex([...localBlockRoutes(routes), ...remote.filter((r) => !isHostRoute(r.dst))].map((r) => r.dst)));
    const findings: FindingDraft[] = [];
    for (const r of remote) {
      if (isDefaultDst(r.dst)) continue;
      for (const h of routeHops(r)) {
        if (h.gateway === null || h.dev === null || isTunnelDevice(h.dev)) continue;
        const viaTunnel = tunnelIps.get(h.gateway);
        const inBlock = viaTunnel === undefined ? blocks().find(h.gateway) : undefined;
        if (viaTunnel === undefined && inBlock === undefined) continue;
        const expectedDev = viaTunnel ?? (h.gateway.includes(':') ? 'vxlan-v6.calico' : 'vxlan.calico');
        findings.push({
          rule,
          severity: 'critical',
          node: snapshot.node,
          subject: `${r.dst} via ${h.gateway}`,
          summary: `Route ${r.dst} goes via tunnel address ${h.gateway} but out of ${h.dev} instead of ${expectedDev}: traffic to those pods is not encapsulated`,
          evidence: {
            seen: `${r.dst} via ${h.gateway} dev ${h.dev} proto ${r.protocol}`,
            expected: `${r.dst} via ${h.gateway} dev ${expectedDev} onlink`,
            details: {
              dst: r.dst,
              gateway: h.gateway,
              dev: h.dev,
              why: viaTunnel !== undefined ? `${h.gateway} is a neighbour/next hop on ${viaTunnel}` : `${h.gateway} lies inside Calico block ${inBlock ?? ''}`,
            },
          },
          remedy:
            `A route via a peer's tunnel IP must use the tunnel device. Check for a competing route source (another CNI, a static route, a routing daemon): ` +
            `\`ip route show ${r.dst}\` and \`ip route show table all | grep ${h.gateway}\`. Delete the wrong route (\`ip route del ${r.dst} via ${h.gateway} dev ${h.dev}\`); ` +
            `Felix reprograms the right one (restart calico-node on this node if not). Verify with \`ip route get <pod IP in ${r.dst}>\` showing dev ${expectedDev}.`,
        });
      }
    }
    return outcome(findings);
  },
};
