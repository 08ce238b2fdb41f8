/**
 * Calico facts over the snapshot types that the agent (deriving a node's identity) and the
 * aggregator (reading its peers' reports) both need: Calico's tunnel device names, the Tunnel a
 * device's link describes, a route's next hops. Pure.
 */
import type { Link, Route, Tunnel } from './snapshot.js';

/** Calico's tunnel device names (felix dataplanedefs) → what they carry. */
export const CALICO_TUNNELS: Readonly<Record<string, { kind: Tunnel['kind']; family: Tunnel['family'] }>> = {
  'vxlan.calico': { kind: 'vxlan', family: 'inet' },
  'vxlan-v6.calico': { kind: 'vxlan', family: 'inet6' },
  tunl0: { kind: 'ipip', family: 'inet' },
  'wireguard.cali': { kind: 'wireguard', family: 'inet' },
  'wg-v6.cali': { kind: 'wireguard', family: 'inet6' },
};
/** The Tunnel a Calico tunnel device's link describes, with the tunnel address `ip` found for it. */
export const tunnelFromLink = (l: Link, kind: Tunnel['kind'], family: Tunnel['family'], ip: string | null): Tunnel => ({
  device: l.name,
  kind,
  family,
  ip,
  mac: l.mac,
  vni: l.vxlan?.id ?? null,
  port: l.vxlan?.port ?? null,
  mtu: l.mtu,
  operstate: l.operstate,
  local: l.vxlan?.local ?? null,
});

/** Next hops of a route as (gateway, dev, flags) triples, including ECMP next hops. */
export const routeHops = (r: Route): { gateway: string | null; dev: string | null; flags: string[] }[] =>
  r.nexthops.length > 0 ? r.nexthops : [{ gateway: r.gateway, dev: r.dev, flags: r.flags }];
