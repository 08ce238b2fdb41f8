/**
 * One node as the correlation rules see it: its own truth (tunnels, node IPs, the address its
 * encapsulated traffic comes from, blocks), read from its latest report, and its entry in the
 * cluster map (GET /v1/cluster). Built once per pass by ./cluster.ts; pure.
 */
import { CALICO_TUNNELS, tunnelFromLink } from '../../contract/calico.js';
import type { ClusterNode } from '../../contract/cluster.js';
import type { Mode, SectionName, Tunnel } from '../../contract/snapshot.js';
import { familyOf, type Family } from '../../common/net.js';
import type { NodeState } from './node-state.js';

/** Calico's all-hosts ipsets, by address family: what reports without encapGuards are checked against. */
export const HOST_SET_NAMES = {
  inet: ['cali40all-hosts-net', 'felix-calico-hosts-4'],
  inet6: ['cali60all-hosts-net', 'felix-calico-hosts-6'],
} as const;

/**
 * The sets that decide which peers may send the node encapsulated traffic, per family, as groups
 * of names a peer must be in one of (#15): one group per distinct set its iptables section's
 * encapGuards name (none when no rule guards that family); a report without encapGuards (an older
 * agent, or iptables unreadable) falls back to one group of Calico's fixed all-hosts names.
 */
export const allowedSetGroups = (st: NodeState): { inet: string[][]; inet6: string[][]; fromGuards: boolean } => {
  const ipt = st.report.sections.iptables;
  const guards = ipt.status === 'ok' ? ipt.data.encapGuards : undefined;
  if (guards === undefined) return { inet: [[...HOST_SET_NAMES.inet]], inet6: [[...HOST_SET_NAMES.inet6]], fromGuards: false };
  const inet = new Set<string>();
  const inet6 = new Set<string>();
  for (const g of guards) (g.family === 'ipv4' ? inet : inet6).add(g.set);
  return { inet: [...inet].map((n) => [n]), inet6: [...inet6].map((n) => [n]), fromGuards: true };
};

export class NodeView {
  readonly name: string;
  readonly mode: Mode;
  readonly blocks: readonly string[];
  readonly vxlan: Tunnel | null;
  readonly vxlan6: Tunnel | null;
  readonly ipip: Tunnel | null;
  /** every address peers may use to reach the node's underlay (node IPs and VXLAN `local`) */
  readonly underlayIPs: string[];
  /**
   * the addresses encapsulated traffic from this node carries as source: the VXLAN `local` when
   * set, else every node IP (any of them satisfies a peer's all-hosts set)
   */
  readonly encapSourceIPs: string[];
  /** encapSourceIPs by family (encapSources) */
  private readonly encap4: string[];
  private readonly encap6: string[];
  readonly tunnelDevices: ReadonlySet<string>;
  /** the node's entry in the cluster map */
  readonly entry: ClusterNode;

  constructor(
    /** position in Cluster.nodes (sorted by name) */
    readonly i: number,
    readonly state: NodeState,
    readonly stale: boolean,
  ) {
    const { identity } = state.report;
    const tunnels = tunnelsOf(state);
    this.name = state.node;
    this.mode = state.report.mode;
    this.blocks = identity.blocks;
    this.vxlan = tunnels.find((t) => t.kind === 'vxlan' && t.family === 'inet') ?? null;
    this.vxlan6 = tunnels.find((t) => t.kind === 'vxlan' && t.family === 'inet6') ?? null;
    this.ipip = tunnels.find((t) => t.kind === 'ipip') ?? null;
    const locals = [this.vxlan?.local, this.vxlan6?.local].filter((x): x is string => typeof x === 'string' && x !== '');
    this.underlayIPs = [...new Set([...identity.nodeIPs, ...locals])];
    const v4: string[] = [];
    const v6: string[] = [];
    for (const ip of identity.nodeIPs) (familyOf(ip) === 'inet' ? v4 : v6).push(ip);
    this.encapSourceIPs = [...(this.vxlan?.local ? [this.vxlan.local] : v4), ...(this.vxlan6?.local ? [this.vxlan6.local] : v6)];
    this.encap4 = [];
    this.encap6 = [];
    for (const ip of this.encapSourceIPs) (familyOf(ip) === 'inet' ? this.encap4 : this.encap6).push(ip);
    this.tunnelDevices = new Set(tunnels.map((t) => t.device));
    const entry = {
      node: state.node,
      stale,
      receivedAt: state.receivedAt,
      mode: state.report.mode,
      nodeIPs: this.underlayIPs,
      tunnels,
      blocks: identity.blocks,
      workloads: identity.workloads,
    } as Omit<ClusterNode, 'allowedHosts' | 'mtu'> & { allowedHosts?: string[] | null; mtu?: number | null };
    // read on access only (diagnose, GET /v1/cluster): a pass builds every node's entry and reads
    // none. One shared getter reading the state from a hidden property, added to every entry in
    // the same order: the entries keep one shape with fast properties (a getter defined over a
    // data property, or one closure per entry, left each entry a dictionary the rules read slowly)
    if (state.report.sections.ipsets.status === 'ok') {
      Object.defineProperty(entry, ENTRY_STATE, { value: state });
      Object.defineProperty(entry, 'allowedHosts', { enumerable: true, get: allowedHostsGetter });
    } else entry.allowedHosts = null;
    entry.mtu = primaryMtu(tunnels);
    this.entry = entry as ClusterNode;
  }

  /** when the node last reported (ms since epoch), NaN when unparseable */
  get receivedAtMs(): number {
    return Date.parse(this.state.receivedAt);
  }

  /** Whether the node's `section` could be read. */
  has(section: SectionName): boolean {
    return this.state.report.sections[section].status === 'ok';
  }

  vxlanTunnel(family: Family): Tunnel | null {
    return family === 'inet' ? this.vxlan : this.vxlan6;
  }

  /** The node's VXLAN device for a family (Calico's name when the node's own is unknown). */
  vxlanDevice(family: Family): string {
    return this.vxlanTunnel(family)?.device ?? (family === 'inet' ? 'vxlan.calico' : 'vxlan-v6.calico');
  }

  /** The addresses of one family its encapsulated traffic comes from. */
  encapSources(family: Family): string[] {
    return (family === 'inet' ? this.encap4 : this.encap6).slice();
  }

  /**
   * Whether Calico is expected to program per-block routes here: overlay or BGP. A node in
   * policy-only mode (no encapsulation, no BGP) or of unknown mode is not held to routes.
   */
  get programsBlockRoutes(): boolean {
    if (this.mode.encapsulation === 'unknown') return false;
    return this.mode.encapsulation !== 'none' || this.mode.bgp;
  }
}

/** The node state behind a cluster map entry whose allowedHosts is read on access (not enumerable). */
const ENTRY_STATE = Symbol('entry state');
function allowedHostsGetter(this: { [ENTRY_STATE]: NodeState }): string[] | null {
  return allowedHostsOf(this[ENTRY_STATE]);
}

const TUNNEL_KINDS = new Set(['vxlan', 'ipip', 'wireguard']);

/** The last link named `name` (what a Map of the links by name holds), without building that Map per node. */
const linkNamed = <L extends { name: string }>(links: readonly L[] | null, name: string): L | undefined => {
  if (links === null) return undefined;
  for (let k = links.length - 1; k >= 0; k--) if (links[k]!.name === name) return links[k];
  return undefined;
};

/** The node's tunnels: identity's, with MTU/VNI/port/MAC/state refreshed from the links section. */
const tunnelsOf = (st: NodeState): Tunnel[] => {
  const { identity, sections } = st.report;
  const links = sections.links.status === 'ok' ? sections.links.data : null;
  const out: Tunnel[] = identity.tunnels.map((t) => {
    const l = linkNamed(links, t.device);
    if (l === undefined) return t;
    return { ...t, mtu: l.mtu, mac: l.mac ?? t.mac, operstate: l.operstate, vni: l.vxlan?.id ?? t.vni, port: l.vxlan?.port ?? t.port, local: l.vxlan?.local ?? t.local };
  });
  if (out.length > 0 || links === null) return out;
  // Identity named no tunnel: Calico's tunnel devices seen in links (address from the addresses section)
  const addrs = sections.addresses.status === 'ok' ? sections.addresses.data : [];
  for (const l of links) {
    if (l.kind === null || !TUNNEL_KINDS.has(l.kind)) continue;
    const def = CALICO_TUNNELS[l.name];
    if (def === undefined) continue;
    const addr = addrs.find((a) => a.ifname === l.name && a.family === def.family && a.scope !== 'link');
    out.push(tunnelFromLink(l, l.kind as Tunnel['kind'], def.family, addr?.local ?? null));
  }
  return out;
};

/**
 * The members of the node's allowed-hosts ipset(s) (allowedSetGroups), read on each access (the store holds members
 * packed; only readers of one node's map entry, diagnose and GET /v1/cluster, want strings), or
 * null when the node has none.
 */
const allowedHostsOf = (st: NodeState): string[] | null => {
  const ipsets = st.report.sections.ipsets;
  if (ipsets.status !== 'ok') return null;
  const groups = allowedSetGroups(st);
  const names = new Set<string>([...groups.inet.flat(), ...groups.inet6.flat()]);
  const sets = ipsets.data.hostSets.filter((s) => names.has(s.name));
  if (sets.length === 0) return null;
  return [...new Set(sets.flatMap((s) => s.members))];
};

const primaryMtu = (tunnels: Tunnel[]): number | null => {
  const order: [Tunnel['kind'], Tunnel['family']][] = [
    ['vxlan', 'inet'],
    ['ipip', 'inet'],
    ['wireguard', 'inet'],
    ['vxlan', 'inet6'],
    ['wireguard', 'inet6'],
  ];
  for (const [kind, family] of order) {
    const t = tunnels.find((x) => x.kind === kind && x.family === family);
    if (t !== undefined) return t.mtu;
  }
  return null;
};
