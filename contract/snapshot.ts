/**
 * The node snapshot: what one agent read of its node's dataplane. The single source the local
 * checks and the aggregator read (docs/architecture.md). Every section is `Collected<T>`: ok(data) or
 * unavailable(reason, detail), so a partial snapshot is still a valid snapshot.
 */
import { z } from 'zod';
import { collected } from './result.js';

const Counter = z.number().int().nonnegative();

export const LinkStats = z.object({
  rxPackets: Counter,
  rxBytes: Counter,
  rxErrors: Counter,
  rxDropped: Counter,
  txPackets: Counter,
  txBytes: Counter,
  txErrors: Counter,
  txDropped: Counter,
});
export type LinkStats = z.infer<typeof LinkStats>;

export const VxlanInfo = z.object({
  id: z.number().int().nullable(),
  port: z.number().int().nullable(),
  local: z.string().nullable(),
  /** underlay device the VXLAN device is bound to (`dev` in `ip link add`), by name when known */
  link: z.string().nullable(),
  learning: z.boolean().nullable(),
});
export type VxlanInfo = z.infer<typeof VxlanInfo>;

export const Link = z.object({
  ifindex: z.number().int(),
  name: z.string(),
  /** linkinfo kind: vxlan, ipip, wireguard, veth, bridge, dummy, … ; null for plain devices */
  kind: z.string().nullable(),
  flags: z.array(z.string()),
  operstate: z.string(),
  mtu: z.number().int(),
  mac: z.string().nullable(),
  master: z.string().nullable(),
  /** peer/link device for veth and tunnels (`link` / `link_index` in ip -j), when known */
  parent: z.string().nullable(),
  vxlan: VxlanInfo.nullable(),
  stats: LinkStats.nullable(),
});
export type Link = z.infer<typeof Link>;

export const Address = z.object({
  ifname: z.string(),
  family: z.enum(['inet', 'inet6']),
  local: z.string(),
  prefixlen: z.number().int(),
  scope: z.string(),
});
export type Address = z.infer<typeof Address>;

export const Route = z.object({
  family: z.enum(['inet', 'inet6']),
  /** unicast, blackhole, unreachable, prohibit, local, broadcast, multicast, throw, … */
  type: z.string(),
  /** CIDR (`10.0.1.0/26`, host routes as `/32` or `/128`) or `default` */
  dst: z.string(),
  gateway: z.string().nullable(),
  dev: z.string().nullable(),
  /** `kernel`, `boot`, `static`, `bird`, `80` (Felix), … as iproute2 prints it */
  protocol: z.string(),
  scope: z.string(),
  flags: z.array(z.string()),
  table: z.string(),
  metric: z.number().int().nullable(),
  prefsrc: z.string().nullable(),
  /** ECMP next hops, when the route has several */
  nexthops: z.array(z.object({ gateway: z.string().nullable(), dev: z.string().nullable(), flags: z.array(z.string()) })),
});
export type Route = z.infer<typeof Route>;

export const Neighbour = z.object({
  family: z.enum(['inet', 'inet6']),
  dst: z.string(),
  dev: z.string(),
  lladdr: z.string().nullable(),
  /** PERMANENT, REACHABLE, STALE, FAILED, INCOMPLETE, NOARP, … */
  state: z.array(z.string()),
  router: z.boolean(),
});
export type Neighbour = z.infer<typeof Neighbour>;

export const FdbEntry = z.object({
  mac: z.string(),
  dev: z.string(),
  dst: z.string().nullable(),
  /** `self`, `master`, `extern_learn`, … */
  flags: z.array(z.string()),
  /** permanent, static, or null (dynamic) */
  state: z.string().nullable(),
  vni: z.number().int().nullable(),
  port: z.number().int().nullable(),
});
export type FdbEntry = z.infer<typeof FdbEntry>;

export const InterfaceSysctls = z.object({
  /** `all`, `default` or an interface name */
  scope: z.string(),
  rpFilter: z.number().int().nullable(),
  forwarding: z.number().int().nullable(),
  proxyArp: z.number().int().nullable(),
});
export type InterfaceSysctls = z.infer<typeof InterfaceSysctls>;

export const Sysctls = z.object({
  ipv4Forward: z.number().int().nullable(),
  ipv6Forwarding: z.number().int().nullable(),
  /** all, default, the uplinks and Calico's tunnel devices */
  interfaces: z.array(InterfaceSysctls),
  /** every cali* workload device, summarised rather than one entry per pod */
  workloadDevices: z.object({
    count: z.number().int(),
    /** rp_filter value → how many cali* devices have it */
    rpFilter: z.record(z.string(), z.number().int()),
    proxyArpOff: z.array(z.string()),
    forwardingOff: z.array(z.string()),
  }),
  conntrack: z.object({ count: z.number().int(), max: z.number().int() }).nullable(),
});
export type Sysctls = z.infer<typeof Sysctls>;

/** A rule whose target drops or rejects traffic, with its counters: what drop checks read. */
export const IptablesDropRule = z.object({
  family: z.enum(['ipv4', 'ipv6']),
  table: z.string(),
  chain: z.string(),
  /** 1-based position in its chain */
  index: z.number().int(),
  target: z.string(),
  packets: Counter,
  bytes: Counter,
  /** the `cali:<id>` rule id, when Felix wrote it */
  caliId: z.string().nullable(),
  /** every --comment value except the cali: id */
  comments: z.array(z.string()),
  /** ipsets this rule matches (`-m set [!] --match-set NAME dir`) */
  matchSets: z.array(z.object({ name: z.string(), negated: z.boolean(), direction: z.string() })),
  /** the rule as iptables-save printed it (without the counter prefix) */
  rule: z.string(),
  /** the encapsulation the rule matches (UDP to the VXLAN port, IP protocol 4), when it does (#15) */
  encapsulation: z.enum(['vxlan', 'ipip']).optional(),
  /** source addresses / CIDRs the rule matches (`-s`, not negated), when it names any (#15) */
  sources: z.array(z.string()).optional(),
});
export type IptablesDropRule = z.infer<typeof IptablesDropRule>;

/**
 * Felix's per-workload and per-policy chains (cali-tw-/fw- to and from workloads, cali-pri-/pro-
 * profiles, cali-pi-/po- policies): their DROP rules are policy working as written. There are tens
 * of thousands on a big node, so the snapshot keeps only those that have counted packets, and
 * `idlePolicyDropRules` says how many idle ones were left out: a rule absent from a snapshot
 * stood at zero packets.
 */
export const POLICY_CHAIN_PREFIXES = ['cali-tw-', 'cali-fw-', 'cali-pri-', 'cali-pro-', 'cali-pi-', 'cali-po-'] as const;
/** Calico's nftables dataplane names the same chains with their iptables table in front: `filter-cali-tw-…` */
export const NFT_POLICY_CHAIN_PREFIXES = POLICY_CHAIN_PREFIXES.map((p) => `filter-${p}`);
export const isPolicyChain = (chain: string): boolean =>
  POLICY_CHAIN_PREFIXES.some((p) => chain.startsWith(p)) || NFT_POLICY_CHAIN_PREFIXES.some((p) => chain.startsWith(p));

export const IptablesChainSummary = z.object({
  family: z.enum(['ipv4', 'ipv6']),
  table: z.string(),
  chain: z.string(),
  policy: z.string().nullable(),
  packets: Counter,
  bytes: Counter,
  rules: z.number().int(),
});

export const IptablesFamily = z.object({
  tables: z.array(z.string()),
  chains: z.number().int(),
  rules: z.number().int(),
  caliChains: z.number().int(),
});

/**
 * Which sources may send this node encapsulated (VXLAN or IPIP) traffic, as the policy rules
 * actually present decide it. Current Felix (3.2x) writes an ACCEPT of sources in a set
 * (`cali40all-vxlan-net` / `cali60all-vxlan-net` for VXLAN, `cali40all-hosts-net` for IPIP)
 * followed by a catch-all DROP of the remaining encapsulated packets (`accept-then-drop`); older
 * releases write one DROP negating the set (`negated-drop`, `cali40all-hosts-net` or
 * `felix-calico-hosts-4`). Either backend (iptables or Calico's nftables dataplane) yields this.
 */
export const EncapGuard = z.object({
  family: z.enum(['ipv4', 'ipv6']),
  encapsulation: z.enum(['vxlan', 'ipip']),
  form: z.enum(['accept-then-drop', 'negated-drop']),
  /** the set whose members may send encapsulated traffic */
  set: z.string(),
  table: z.string(),
  chain: z.string(),
  /** the rule that drops encapsulated traffic from sources outside the set, with its counters */
  drop: z.object({
    /** 1-based position in its chain */
    index: z.number().int(),
    caliId: z.string().nullable(),
    comments: z.array(z.string()),
    packets: Counter,
    bytes: Counter,
  }),
});
export type EncapGuard = z.infer<typeof EncapGuard>;

export const Iptables = z.object({
  /**
   * legacy / nft: the iptables backend; nftables: Calico's native nftables dataplane (tables
   * `ip calico` / `ip6 calico`, read with `nft -j list ruleset`), reduced to this same shape
   */
  backend: z.enum(['legacy', 'nft', 'nftables']),
  /** how the backend was chosen, as Felix does it (kube hint chains, else rule counts), or the nftables evidence */
  backendReason: z.string(),
  ipv4: collected(IptablesFamily),
  ipv6: collected(IptablesFamily),
  /** builtin chains and cali-* chains with policy and counters */
  chains: z.array(IptablesChainSummary),
  /** DROP / REJECT rules (both families) with counters */
  dropRules: z.array(IptablesDropRule),
  /**
   * what the save tools warned about, e.g. iptables-nft's "iptables-legacy tables present" (rules
   * in both backends: Calico and kube-proxy may disagree on the backend). Added by the iptables
   * collector; optional so older reports stay valid.
   */
  warnings: z.array(z.string()).optional(),
  /** DROP/REJECT rules in policy chains left out of dropRules because their counters are zero */
  idlePolicyDropRules: z.number().int().nonnegative().optional(),
  /** the rules guarding encapsulated traffic (see EncapGuard); optional so older reports stay valid */
  encapGuards: z.array(EncapGuard).optional(),
});
export type Iptables = z.infer<typeof Iptables>;

export const IpSet = z.object({
  name: z.string(),
  type: z.string(),
  family: z.enum(['inet', 'inet6']).nullable(),
  members: z.array(z.string()),
});
export const IpSets = z.object({
  /** Calico's host sets with their members (cali40all-vxlan-net, cali40all-hosts-net, cali60…, felix-calico-hosts-4) */
  hostSets: z.array(IpSet),
  /** every cali* set name → member count */
  caliSetSizes: z.record(z.string(), z.number().int()),
});
export type IpSets = z.infer<typeof IpSets>;

export const ProbeState = z.enum(['ready', 'not-ready', 'unreachable']);
export const FelixHealth = z.object({
  url: z.string(),
  readiness: ProbeState,
  liveness: ProbeState,
  detail: z.string(),
});
export type FelixHealth = z.infer<typeof FelixHealth>;

export const BgpProtocol = z.object({
  name: z.string(),
  proto: z.string(),
  table: z.string().nullable(),
  /** up, down, start, … (BIRD's State column) */
  state: z.string(),
  since: z.string().nullable(),
  /** Established, Active, Connect, OpenSent, … (BIRD's Info column) */
  info: z.string(),
});
export const Bgp = z.object({ socket: z.string(), protocols: z.array(BgpProtocol) });
export type Bgp = z.infer<typeof Bgp>;

export const Mode = z.object({
  /** the encapsulation carrying pod traffic between nodes */
  encapsulation: z.enum(['vxlan', 'ipip', 'vxlan+ipip', 'none', 'unknown']),
  wireguard: z.boolean(),
  ebpf: z.boolean(),
  bgp: z.boolean(),
  /**
   * which dataplane enforces policy: iptables (legacy or nft backend), Calico's native nftables
   * dataplane, eBPF, or unknown (the reason is in evidence); optional so older reports stay valid
   */
  policyDataplane: z.enum(['iptables-legacy', 'iptables-nft', 'nftables', 'ebpf', 'unknown']).optional(),
  evidence: z.array(z.string()),
});
export type Mode = z.infer<typeof Mode>;

/**
 * The node's own truth, derived from the sections above: what its peers must agree with.
 */
export const Tunnel = z.object({
  device: z.string(),
  kind: z.enum(['vxlan', 'ipip', 'wireguard']),
  family: z.enum(['inet', 'inet6']),
  /** tunnel address without prefix length, null if the device has none */
  ip: z.string().nullable(),
  mac: z.string().nullable(),
  vni: z.number().int().nullable(),
  port: z.number().int().nullable(),
  mtu: z.number().int(),
  operstate: z.string(),
  local: z.string().nullable(),
});
export type Tunnel = z.infer<typeof Tunnel>;

export const Identity = z.object({
  /** addresses of the uplink(s): the node IPs peers send encapsulated traffic to */
  nodeIPs: z.array(z.string()),
  uplinks: z.array(z.object({ name: z.string(), mtu: z.number().int() })),
  tunnels: z.array(Tunnel),
  /** CIDRs of this node's blocks (Felix blackhole / unreachable routes) */
  blocks: z.array(z.string()),
  /** pod /32 (/128) routes on cali* devices: ip → device */
  workloads: z.array(z.object({ ip: z.string(), dev: z.string() })),
});
export type Identity = z.infer<typeof Identity>;

export const SECTION_NAMES = [
  'links',
  'addresses',
  'routes',
  'neighbours',
  'fdb',
  'sysctls',
  'iptables',
  'ipsets',
  'felix',
  'bgp',
] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

export const Sections = z.object({
  links: collected(z.array(Link)),
  addresses: collected(z.array(Address)),
  routes: collected(z.array(Route)),
  neighbours: collected(z.array(Neighbour)),
  fdb: collected(z.array(FdbEntry)),
  sysctls: collected(Sysctls),
  iptables: collected(Iptables),
  ipsets: collected(IpSets),
  felix: collected(FelixHealth),
  bgp: collected(Bgp),
});
export type Sections = z.infer<typeof Sections>;

export const Snapshot = z.object({
  schemaVersion: z.literal(1),
  node: z.string(),
  /** ISO 8601 */
  takenAt: z.string(),
  durationMs: z.number(),
  agentVersion: z.string(),
  sections: Sections,
  /** per collector: how long it took */
  timings: z.record(z.string(), z.number()),
  mode: Mode,
  identity: Identity,
});
export type Snapshot = z.infer<typeof Snapshot>;
