/**
 * route-wrong-next-hop: node A's route for exactly peer B's block must lead to B. Accepted forms:
 *  - VXLAN: via B's VXLAN tunnel IP, dev A's VXLAN device (`onlink`);
 *  - IPIP: via one of B's node IPs, dev tunl0;
 *  - no encapsulation (BGP, or VXLAN/IPIP CrossSubnet within a subnet): via one of B's node IPs on a
 *    non-tunnel device;
 *  - WireGuard device routes (peer chosen by the device's allowed IPs) are not judged.
 * Every next hop of an ECMP route must satisfy this. Only exact block routes are judged: aggregate
 * routes (e.g. learned from a top-of-rack router) may legitimately point at a router.
 */
import { routeHops } from '../../contract/calico.js';
import type { FindingDraft } from '../../contract/finding.js';
import type { Route } from '../../contract/snapshot.js';
import type { NodeView } from '../cluster/cluster.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'route-wrong-next-hop';

const REMEDY =
  "This node sends the peer's block somewhere other than the peer. Compare the route's gateway with the peer's tunnel " +
  "IP (`ip addr show vxlan.calico` / `tunl0` there) and node IP; a gateway that belongs to another node usually means " +
  'the block changed hands or a tunnel address was reassigned: check `calicoctl ipam show --show-blocks` and the Node ' +
  "resources' tunnel addresses, then restart calico-node here so Felix/BIRD reprogram the route.";

const expectedFor = (a: NodeView, b: NodeView, block: string, v6: boolean): string => {
  const bt = b.vxlanTunnel(v6 ? 'inet6' : 'inet');
  const forms: string[] = [];
  const enc = a.mode.encapsulation;
  if ((enc === 'vxlan' || enc === 'vxlan+ipip') && bt?.ip) forms.push(`${block} via ${bt.ip} dev ${a.vxlanDevice(v6 ? 'inet6' : 'inet')} onlink`);
  if ((enc === 'ipip' || enc === 'vxlan+ipip') && b.underlayIPs[0]) forms.push(`${block} via ${b.underlayIPs[0]} dev tunl0 onlink`);
  if (b.underlayIPs[0]) forms.push(`${block} via ${b.underlayIPs[0]}${forms.length > 0 ? ' (direct, CrossSubnet within a subnet)' : ''}`);
  return forms.join(' or ');
};

export const routeWrongNextHop: CorrelateRule = {
  id: RULE_ID,
  description: "A routes B's block via something other than B",
  run(cluster) {
    const out: FindingDraft[] = [];
    for (const a of cluster.fresh) {
      if (!a.programsBlockRoutes) continue;
      for (const { peer: b, block, route: r } of cluster.blockRoutes(a)?.mismatched ?? []) {
        const v6 = r.family === 'inet6';
        const hops = routeHops(r);
        const owners = hops.map((h) => (h.gateway === null ? null : (cluster.ownerOfAddress(h.gateway)?.name ?? null)));
        const other = owners.find((o) => o !== null && o !== b.name) ?? null;
        out.push({
          rule: RULE_ID,
          severity: 'critical',
          node: a.name,
          peer: b.name,
          subject: block.raw,
          summary: `${a.name} routes ${b.name}'s block ${block.raw} ${hops.map((h) => `via ${h.gateway ?? '(no gateway)'} dev ${h.dev ?? '?'}`).join(', ')}${other ? ` (that is ${other})` : ''}`,
          evidence: {
            seen: describeRoute(r),
            expected: expectedFor(a, b, block.raw, v6),
            details: {
              block: block.raw,
              nextHops: hops.map((h, k) => ({ gateway: h.gateway, dev: h.dev, gatewayOwner: owners[k] ?? null })),
              peerTunnelIP: b.vxlanTunnel(v6 ? 'inet6' : 'inet')?.ip ?? null,
              peerNodeIPs: b.underlayIPs,
            },
          },
          remedy: REMEDY,
        });
      }
    }
    return out;
  },
};

const describeRoute = (r: Route): string => {
  const via = routeHops(r).map((h) => [h.gateway ? `via ${h.gateway}` : null, h.dev ? `dev ${h.dev}` : null].filter(Boolean).join(' ')).join(' / ');
  return [r.type !== 'unicast' ? r.type : null, r.dst, via, `proto ${r.protocol}`].filter(Boolean).join(' ');
};
