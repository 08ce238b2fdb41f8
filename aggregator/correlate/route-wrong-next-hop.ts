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
import type { FindingDraft } from '../../contract/finding.js';
import type { Route } from '../../contract/snapshot.js';
import type { ClusterIndex, IndexedNode } from '../cluster-map.js';
import { blockGroupOf, describeRoute, indexFor, isMainTable, ok, ownerName, programsBlockRoutes, vxlanDevice } from './common.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'route-wrong-next-hop';

const REMEDY =
  "This node sends the peer's block somewhere other than the peer. Compare the route's gateway with the peer's tunnel " +
  "IP (`ip addr show vxlan.calico` / `tunl0` there) and node IP; a gateway that belongs to another node usually means " +
  'the block changed hands or a tunnel address was reassigned: check `calicoctl ipam show --show-blocks` and the Node ' +
  "resources' tunnel addresses, then restart calico-node here so Felix/BIRD reprogram the route.";

const isIPv6Route = (r: Route): boolean => r.family === 'inet6';

const hopOk = (a: IndexedNode, b: IndexedNode, gateway: string | null, dev: string | null, v6: boolean): boolean => {
  if (dev === null) return false;
  const vxDev = vxlanDevice(a, v6 ? 'inet6' : 'inet');
  if (dev === vxDev) {
    const bt = v6 ? b.vxlan6 : b.vxlan;
    return bt !== null && bt.ip !== null && gateway === bt.ip;
  }
  if (dev === (a.ipip?.device ?? 'tunl0')) return gateway !== null && b.underlayIPs.includes(gateway);
  if (dev.startsWith('wireguard') || dev.startsWith('wg-v6')) return true;
  if (a.tunnelDevices.has(dev)) return false;
  return gateway !== null && b.underlayIPs.includes(gateway);
};

const expectedFor = (a: IndexedNode, b: IndexedNode, block: string, v6: boolean): string => {
  const bt = v6 ? b.vxlan6 : b.vxlan;
  const forms: string[] = [];
  const enc = a.state.report.mode.encapsulation;
  if ((enc === 'vxlan' || enc === 'vxlan+ipip') && bt?.ip) forms.push(`${block} via ${bt.ip} dev ${vxlanDevice(a, v6 ? 'inet6' : 'inet')} onlink`);
  if ((enc === 'ipip' || enc === 'vxlan+ipip') && b.underlayIPs[0]) forms.push(`${block} via ${b.underlayIPs[0]} dev tunl0 onlink`);
  if (b.underlayIPs[0]) forms.push(`${block} via ${b.underlayIPs[0]}${forms.length > 0 ? ' (direct, CrossSubnet within a subnet)' : ''}`);
  return forms.join(' or ');
};

const gatewayOwner = (index: ClusterIndex, gw: string | null): string | null =>
  gw === null ? null : (ownerName(index, index.byTunnelIP.get(gw)) ?? ownerName(index, index.byNodeIP.get(gw)));

export const routeWrongNextHop: CorrelateRule = {
  id: RULE_ID,
  description: "A routes B's block via something other than B",
  run(input, _map, given) {
    const index = indexFor(input, given);
    const out: FindingDraft[] = [];
    for (const a of index.fresh) {
      if (!ok(a, 'routes') || !programsBlockRoutes(a)) continue;
      const routes = a.state.report.sections.routes;
      if (routes.status !== 'ok') continue;
      for (const r of routes.data) {
        if (r.type !== 'unicast' || !isMainTable(r)) continue;
        const g = blockGroupOf(index, r);
        if (g === undefined) continue;
        const group = index.blockGroups[g]!;
        if (group.owners.length !== 1 || group.owners[0] === a.i) continue;
        const b = index.nodes[group.owners[0]!]!;
        const v6 = isIPv6Route(r);
        let bad = false;
        if (r.nexthops.length === 0) bad = !hopOk(a, b, r.gateway, r.dev, v6);
        else for (const h of r.nexthops) if (!hopOk(a, b, h.gateway, h.dev, v6)) bad = true;
        if (!bad) continue;
        const hops = r.nexthops.length > 0 ? r.nexthops : [{ gateway: r.gateway, dev: r.dev }];
        const owners = hops.map((h) => gatewayOwner(index, h.gateway));
        const other = owners.find((o) => o !== null && o !== b.name) ?? null;
        out.push({
          rule: RULE_ID,
          severity: 'critical',
          node: a.name,
          peer: b.name,
          subject: group.raw,
          summary: `${a.name} routes ${b.name}'s block ${group.raw} ${hops.map((h) => `via ${h.gateway ?? '(no gateway)'} dev ${h.dev ?? '?'}`).join(', ')}${other ? ` (that is ${other})` : ''}`,
          evidence: {
            seen: describeRoute(r),
            expected: expectedFor(a, b, group.raw, v6),
            details: {
              block: group.raw,
              nextHops: hops.map((h, k) => ({ gateway: h.gateway, dev: h.dev, gatewayOwner: owners[k] ?? null })),
              peerTunnelIP: (v6 ? b.vxlan6 : b.vxlan)?.ip ?? null,
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
