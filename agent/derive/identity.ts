/**
 * The node's own truth (contract Identity), derived purely from the collected sections: node IPs,
 * uplinks, Calico tunnel devices, this node's blocks and its workload routes. What its peers must
 * agree with. No IO; a section that is unavailable simply contributes nothing.
 */
import type { Address, Identity, Link, Route, Sections, Tunnel } from '../../contract/snapshot.js';
import { isDefaultDst, isHostRoute, isLinkLocal, stripPrefix } from '../../common/net.js';
import { CALICO_TUNNELS, tunnelFromLink } from '../../contract/calico.js';

export const VXLAN_DEVICES = ['vxlan.calico', 'vxlan-v6.calico'] as const;
export const ENCAP_DEVICES = ['vxlan.calico', 'vxlan-v6.calico', 'tunl0'] as const;
/** eBPF dataplane's special veth pair: bpfin.cali/bpfout.cali (older releases: bpfnatin/bpfnatout). */
export const BPF_DEVICES = ['bpfin.cali', 'bpfout.cali', 'bpfnatin', 'bpfnatout'] as const;

/** Felix's route protocol (80) and BIRD's: routes Calico programmed. */
export const isCalicoProto = (protocol: string): boolean => protocol === '80' || protocol === 'bird' || protocol === 'felix';

export const isVxlanDevice = (name: string): boolean => name === 'vxlan.calico' || name === 'vxlan-v6.calico';
export const isEncapDevice = (name: string): boolean => isVxlanDevice(name) || name === 'tunl0';

export const isWorkloadDevice = (name: string): boolean => name.startsWith('cali') && !name.includes('.');

export const isTunnelDevice = (name: string): boolean => name in CALICO_TUNNELS;

const NOT_UPLINK = new Set(['lo', 'docker0', 'cni0', 'kube-ipvs0', 'kube-bridge', 'flannel.1', 'nodelocaldns', ...BPF_DEVICES]);
const isUplinkCandidate = (name: string): boolean =>
  !NOT_UPLINK.has(name) && !isWorkloadDevice(name) && !isTunnelDevice(name) && !name.startsWith('veth');

const dataOf = <T>(s: { status: 'ok'; data: T } | { status: 'unavailable' }): T | null => (s.status === 'ok' ? s.data : null);

/** Devices of a route: its own dev and its ECMP next hops' devs. */
export const routeDevices = (r: Route): string[] => {
  const devs = r.dev !== null ? [r.dev] : [];
  for (const nh of r.nexthops) if (nh.dev !== null) devs.push(nh.dev);
  return devs;
};

const isMainTable = (r: Route): boolean => r.table === 'main' || r.table === '' || r.table === '254';

/**
 * Uplink device names: the devices of the default route(s) (either family), plus the underlay device
 * a Calico VXLAN device is bound to (by `link`, or by owning its `local` address). With VXLAN
 * cross-subnet nodes the two may differ, and peers reach the node through the VXLAN one.
 */
export const deriveUplinks = (sections: Sections): string[] => {
  const links = dataOf(sections.links);
  const routes = dataOf(sections.routes) ?? [];
  const addresses = dataOf(sections.addresses) ?? [];
  const out: string[] = [];
  const add = (name: string | null): void => {
    if (name !== null && isUplinkCandidate(name) && !out.includes(name)) out.push(name);
  };
  // the VXLAN underlay first: it carries the address peers encapsulate to
  for (const l of links ?? []) {
    if (!isVxlanDevice(l.name) || l.vxlan === null) continue;
    if (l.vxlan.link !== null) add(l.vxlan.link);
    else if (l.vxlan.local !== null) add(addresses.find((a) => a.local === l.vxlan?.local)?.ifname ?? null);
  }
  for (const r of routes) {
    if (r.type !== 'unicast' || !isDefaultDst(r.dst) || !isMainTable(r)) continue;
    for (const d of routeDevices(r)) add(d);
  }
  // a listed device must exist when links are known
  return links === null ? out : out.filter((n) => links.some((l) => l.name === n));
};

const globalAddresses = (addresses: readonly Address[], ifname: string, family?: Address['family']): Address[] =>
  addresses.filter(
    (a) => a.ifname === ifname && (family === undefined || a.family === family) && a.scope !== 'link' && a.scope !== 'host' && !isLinkLocal(a.local),
  );

const tunnelOf = (l: Link, addresses: readonly Address[]): Tunnel | null => {
  const def = CALICO_TUNNELS[l.name];
  if (def === undefined) return null;
  return tunnelFromLink(l, def.kind, def.family, globalAddresses(addresses, l.name, def.family)[0]?.local ?? null);
};

/** Felix's (proto 80) or BIRD's blackhole/unreachable routes: the blocks this node owns. */
export const localBlockRoutes = (routes: readonly Route[]): Route[] =>
  routes.filter((r) => (r.type === 'blackhole' || r.type === 'unreachable') && isCalicoProto(r.protocol) && !isDefaultDst(r.dst));

export const deriveIdentity = (sections: Sections): Identity => {
  const links = dataOf(sections.links) ?? [];
  const addresses = dataOf(sections.addresses) ?? [];
  const routes = dataOf(sections.routes) ?? [];
  const uplinkNames = deriveUplinks(sections);

  const uplinks: Identity['uplinks'] = [];
  for (const name of uplinkNames) {
    const l = links.find((x) => x.name === name);
    if (l !== undefined) uplinks.push({ name, mtu: l.mtu });
  }

  const vxlanLocals = links
    .filter((l) => isVxlanDevice(l.name))
    .map((l) => l.vxlan?.local ?? null).filter((x): x is string => x !== null);
  const nodeIPs: string[] = [];
  for (const ip of vxlanLocals) if (!nodeIPs.includes(ip)) nodeIPs.push(ip);
  for (const name of uplinkNames) {
    for (const a of globalAddresses(addresses, name)) if (!nodeIPs.includes(a.local)) nodeIPs.push(a.local);
  }

  // The kernel creates tunl0 whenever the ipip module is loaded; it is Calico's only when it has an
  // address or carries routes. Felix creates the VXLAN and WireGuard devices only when in use.
  const carriesRoutes = (dev: string): boolean => routes.some((r) => routeDevices(r).includes(dev));
  const tunnels = links
    .map((l) => tunnelOf(l, addresses))
    .filter((t): t is Tunnel => t !== null && (t.kind !== 'ipip' || t.ip !== null || carriesRoutes(t.device)));

  const blocks: string[] = [];
  for (const r of localBlockRoutes(routes)) if (!blocks.includes(r.dst)) blocks.push(r.dst);

  const workloads: Identity['workloads'] = [];
  for (const r of routes) {
    if (r.type !== 'unicast' || r.dev === null || !isWorkloadDevice(r.dev) || !isHostRoute(r.dst)) continue;
    // IPv4 workload routes are `scope link`; iproute2 prints no scope for IPv6 ones
    if (r.family === 'inet' && r.scope !== 'link') continue;
    if (r.gateway !== null) continue;
    const ip = stripPrefix(r.dst);
    if (!workloads.some((w) => w.ip === ip)) workloads.push({ ip, dev: r.dev });
  }

  return { nodeIPs, uplinks, tunnels, blocks, workloads };
};
