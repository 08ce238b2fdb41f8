/**
 * The cluster map: who owns which node IP, tunnel IP, VTEP MAC and block, built from the nodes' own
 * reports (pure: `now` comes in the input). Alongside the wire-shaped ClusterMap it builds a
 * ClusterIndex, the lookup structure every correlation rule shares during one pass, so that a rule
 * visits each piece of per-peer state once (Map lookups by tunnel IP, VTEP MAC, node IP and exact
 * block CIDR) instead of scanning peers per entry: a pass is O(total state), not O(N²) per entry.
 *
 * Stale nodes (no report for more than staleAfterIntervals × their interval) stay in the map marked
 * `stale`, but are left out of the lookup maps: their state is neither checked nor used as the truth
 * peers must agree with (agent-stale reports them instead), so a dead node does not turn into N
 * findings on its peers.
 */
import type { ClusterMap, ClusterNode } from '../contract/cluster.js';
import type { Tunnel } from '../contract/snapshot.js';
import { CALICO_TUNNELS, tunnelFromLink } from '../agent/derive/identity.js';
import type { EntryList } from './correlate/common.js';
import type { CorrelateInput, NodeState } from './correlate/types.js';
import type { EntryTable } from './entry-table.js';
import { parseCidr, parseIPv4, type Cidr } from './correlate/net.js';

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

export interface IndexedNode {
  /** position in ClusterIndex.nodes and ClusterMap.nodes */
  i: number;
  name: string;
  state: NodeState;
  cluster: ClusterNode;
  stale: boolean;
  /** when the node last reported (ms since epoch), NaN when unparseable */
  receivedAtMs: number;
  vxlan: Tunnel | null;
  vxlan6: Tunnel | null;
  ipip: Tunnel | null;
  /** all addresses peers may use to reach the node's underlay (node IPs and VXLAN local) */
  underlayIPs: string[];
  /**
   * the address encapsulated traffic from this node carries as source: the VXLAN `local` when set,
   * else every node IP (any of them satisfies a peer's all-hosts set)
   */
  encapSourceIPs: string[];
  tunnelDevices: Set<string>;
}

export interface BlockGroup {
  /** the CIDR text as the owner reported it */
  raw: string;
  cidr: Cidr;
  /** indices of the fresh nodes whose blackhole route claims exactly this block */
  owners: number[];
}

export interface ClusterIndex {
  nodes: IndexedNode[];
  fresh: IndexedNode[];
  byName: Map<string, IndexedNode>;
  /** tunnel IP → node index; -1 when two fresh nodes claim it */
  byTunnelIP: Map<string, number>;
  /** VTEP MAC (lower case) → node index; -1 when ambiguous */
  byVtepMac: Map<string, number>;
  /** node IP → node index; -1 when ambiguous */
  byNodeIP: Map<string, number>;
  /** encapsulation source IP → node index; -1 when ambiguous */
  byEncapSourceIP: Map<string, number>;
  blockGroups: BlockGroup[];
  /** block CIDR text (as reported, and normalised) → index in blockGroups */
  blockKey: Map<string, number>;
  /**
   * Per-pass memo of verdicts on shared entries, per entry table and per question (e.g. "this
   * neighbour, on device vxlan.calico, for IPv4"): code per entry id (correlate/common.ts memoFor).
   * The store packs per-peer entries as ids into one table per kind (../entry-table.ts), so a rule
   * judges each distinct entry once per pass and then only reads its code. Lives and dies with
   * this index, i.e. one correlate() call.
   */
  memos: Map<object, Map<string, Int32Array>>;
  /**
   * Plain (unpacked) lists, as tests and other callers may build NodeStates, packed for this pass
   * into tables of their own (by identity); per kind the table, per list its packing.
   */
  local: { tables: Map<string, EntryTable<unknown>>; lists: Map<object, EntryList<unknown>> };
  /** results computed once per pass and shared by several rules (route scan) */
  shared: Map<string, unknown>;
  /** the caller's cross-pass cache, already reset if the fingerprint changed; null without one */
  carry: Map<string, WeakMap<object, unknown>> | null;
  /** who owns what and who is fresh, as one string: per-node results stay valid while it is unchanged */
  fingerprint: string;
}

const put = (m: Map<string, number>, key: string, i: number): void => {
  const had = m.get(key);
  if (had === undefined) m.set(key, i);
  else if (had !== i) m.set(key, -1);
};

const isStale = (st: NodeState, nowMs: number, staleAfterIntervals: number): { stale: boolean; receivedAtMs: number } => {
  const receivedAtMs = Date.parse(st.receivedAt);
  if (Number.isNaN(receivedAtMs) || Number.isNaN(nowMs)) return { stale: true, receivedAtMs };
  const limitMs = staleAfterIntervals * st.report.intervalSeconds * 1000;
  return { stale: nowMs - receivedAtMs > limitMs, receivedAtMs };
};

const TUNNEL_KINDS = new Set(['vxlan', 'ipip', 'wireguard']);

/** The node's tunnels: identity's, with MTU/VNI/port/MAC/state refreshed from the links section. */
const tunnelsOf = (st: NodeState): Tunnel[] => {
  const { identity, sections } = st.report;
  const links = sections.links.status === 'ok' ? sections.links.data : null;
  const byName = new Map((links ?? []).map((l) => [l.name, l]));
  const out: Tunnel[] = identity.tunnels.map((t) => {
    const l = byName.get(t.device);
    if (l === undefined) return t;
    return {
      ...t,
      mtu: l.mtu,
      mac: l.mac ?? t.mac,
      operstate: l.operstate,
      vni: l.vxlan?.id ?? t.vni,
      port: l.vxlan?.port ?? t.port,
      local: l.vxlan?.local ?? t.local,
    };
  });
  if (out.length > 0 || links === null) return out;
  // Identity named no tunnel: fall back to Calico's tunnel devices seen in links (address unknown
  // unless the addresses section names one).
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
 * The members of the node's allowed-hosts ipset(s) (allowedSetGroups), or null. Read lazily: the store holds members
 * packed (../entry-table.ts) and only the readers of one node's map entry (diagnose, GET
 * /v1/cluster) need them as strings; a pass builds no N² arrays for the map.
 */
const allowedHostsOf = (st: NodeState): (() => string[]) | null => {
  const ipsets = st.report.sections.ipsets;
  if (ipsets.status !== 'ok') return null;
  const groups = allowedSetGroups(st);
  const names = new Set<string>([...groups.inet.flat(), ...groups.inet6.flat()]);
  const sets = ipsets.data.hostSets.filter((s) => names.has(s.name));
  if (sets.length === 0) return null;
  if (sets.length === 1) {
    const only = sets[0] as (typeof sets)[number];
    return () => only.members;
  }
  return () => {
    const out = new Set<string>();
    for (const s of sets) for (const m of s.members) out.add(m);
    return [...out];
  };
};

/** `cluster` with `allowedHosts` (in its place) read through `hosts` on each access; null when unknown. */
const withAllowedHosts = (cluster: ClusterNode, hosts: (() => string[]) | null): ClusterNode => {
  if (hosts !== null) Object.defineProperty(cluster, 'allowedHosts', { enumerable: true, get: hosts });
  return cluster;
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

const fingerprintOf = (nodes: IndexedNode[]): string => {
  const parts: string[] = [];
  for (const n of nodes) {
    const m = n.state.report.mode;
    const tunnels = n.cluster.tunnels.map((t) => `${t.device},${t.kind},${t.family},${t.ip},${t.mac},${t.vni},${t.port},${t.local}`).join(';');
    const routesOk = n.state.report.sections.routes.status === 'ok' ? 1 : 0;
    parts.push(`${n.name}|${n.stale ? 1 : 0}|${m.encapsulation}|${m.bgp ? 1 : 0}|${routesOk}|${tunnels}|${n.underlayIPs.join(',')}|${n.encapSourceIPs.join(',')}|${n.cluster.blocks.join(',')}`);
  }
  return parts.join('\n');
};

/** Builds the map and the index in one pass over the nodes. */
export const buildClusterIndex = (input: CorrelateInput): { map: ClusterMap; index: ClusterIndex } => {
  const nowMs = Date.parse(input.now);
  const sorted = [...input.nodes].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const nodes: IndexedNode[] = [];
  const byName = new Map<string, IndexedNode>();
  for (const st of sorted) {
    if (byName.has(st.node)) continue;
    const { stale, receivedAtMs } = isStale(st, nowMs, input.staleAfterIntervals);
    const identity = st.report.identity;
    const tunnels = tunnelsOf(st);
    const vxlan = tunnels.find((t) => t.kind === 'vxlan' && t.family === 'inet') ?? null;
    const vxlan6 = tunnels.find((t) => t.kind === 'vxlan' && t.family === 'inet6') ?? null;
    const ipip = tunnels.find((t) => t.kind === 'ipip') ?? null;
    const locals = [vxlan?.local, vxlan6?.local].filter((x): x is string => typeof x === 'string' && x !== '');
    const underlayIPs = [...new Set([...identity.nodeIPs, ...locals])];
    const cluster: ClusterNode = {
      node: st.node,
      stale,
      receivedAt: st.receivedAt,
      mode: st.report.mode,
      nodeIPs: underlayIPs,
      tunnels,
      blocks: identity.blocks,
      workloads: identity.workloads,
      allowedHosts: null, // replaced by a getter when the node has an all-hosts set (withAllowedHosts)
      mtu: primaryMtu(tunnels),
    };
    withAllowedHosts(cluster, allowedHostsOf(st));
    const v4 = identity.nodeIPs.filter((ip) => parseIPv4(ip) !== null);
    const v6 = identity.nodeIPs.filter((ip) => parseIPv4(ip) === null);
    const encapSourceIPs = [
      ...(vxlan?.local ? [vxlan.local] : v4),
      ...(vxlan6?.local ? [vxlan6.local] : v6),
    ];
    const n: IndexedNode = {
      i: nodes.length,
      name: st.node,
      state: st,
      cluster,
      stale,
      receivedAtMs,
      vxlan,
      vxlan6,
      ipip,
      underlayIPs,
      encapSourceIPs,
      tunnelDevices: new Set(tunnels.map((t) => t.device)),
    };
    nodes.push(n);
    byName.set(n.name, n);
  }

  const fresh = nodes.filter((n) => !n.stale);
  const byTunnelIP = new Map<string, number>();
  const byVtepMac = new Map<string, number>();
  const byNodeIP = new Map<string, number>();
  const byEncapSourceIP = new Map<string, number>();
  const blockGroups: BlockGroup[] = [];
  const blockKey = new Map<string, number>();
  for (const n of fresh) {
    for (const t of n.cluster.tunnels) {
      if (t.ip !== null) put(byTunnelIP, t.ip, n.i);
      if (t.kind === 'vxlan' && t.mac !== null) put(byVtepMac, t.mac.toLowerCase(), n.i);
    }
    for (const ip of n.underlayIPs) put(byNodeIP, ip, n.i);
    for (const ip of n.encapSourceIPs) put(byEncapSourceIP, ip, n.i);
    if (n.state.report.sections.routes.status !== 'ok') continue;
    for (const raw of n.cluster.blocks) {
      const cidr = parseCidr(raw);
      if (cidr === null) continue;
      let g = blockKey.get(raw) ?? blockKey.get(cidr.text);
      if (g === undefined) {
        g = blockGroups.length;
        blockGroups.push({ raw, cidr, owners: [] });
        blockKey.set(raw, g);
        blockKey.set(cidr.text, g);
      }
      const group = blockGroups[g] as BlockGroup;
      if (!group.owners.includes(n.i)) group.owners.push(n.i);
    }
  }
  const fingerprint = fingerprintOf(nodes);
  let carry: ClusterIndex['carry'] = null;
  if (input.cache !== undefined) {
    if (input.cache.fingerprint !== fingerprint) {
      input.cache.fingerprint = fingerprint;
      input.cache.perRule = new Map();
    }
    carry = input.cache.perRule;
  }
  return {
    map: { nodes: nodes.map((n) => n.cluster) },
    index: { nodes, fresh, byName, byTunnelIP, byVtepMac, byNodeIP, byEncapSourceIP, blockGroups, blockKey, memos: new Map(), local: { tables: new Map(), lists: new Map() }, shared: new Map(), carry, fingerprint },
  };
};

/** The cluster map as GET /v1/cluster serves it. */
export const buildClusterMap = (input: CorrelateInput): ClusterMap => buildClusterIndex(input).map;
