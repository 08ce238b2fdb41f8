/**
 * A Calico VXLAN cluster in network namespaces, wired the way Felix wires one.
 *
 *   underlay ns (<p>-ul): bridge br0 10.213.0.1/24 — the "physical" L2 network
 *   node ns (<p>-nN):     eth0 10.213.0.1N/24 (veth into br0), default via 10.213.0.1,
 *                         vxlan.calico (VNI 4096, dstport 4789, nolearning, MTU 1450,
 *                         MAC 66:+sha1(node)[0:5]) with tunnel IP = first address of the block
 *                         10.244.N.0/26; blackhole block proto 80; per peer a route, PERMANENT
 *                         neighbour and FDB entry; the set guarding VXLAN and cali-* iptables
 *                         chains as a Felix release writes them (below), or, with
 *                         `dataplane: 'nftables'`, Calico's nftables dataplane (a `table ip
 *                         calico`, lab/felix-nftables.ts); a Felix health stand-in on
 *                         127.0.0.1:9099
 *   pod ns (<p>-nNpM):    eth0 10.244.N.M/32 behind caliXXXXXXXXXXX (ee:ee:ee:ee:ee:ee, proxy_arp)
 *   aggregator ns (<p>-agg): eth0 10.213.0.100/24 on the bridge
 *
 * Two Felix releases (option `felix`, #15): `current` (the default; Felix 3.2x on an iptables-nft
 * node) guards VXLAN with an ACCEPT of sources in `cali40all-vxlan-net` followed by a catch-all DROP
 * of the remaining VXLAN packets; `legacy` (older Felix on an iptables-legacy node) with one DROP
 * negating `cali40all-hosts-net`. Both put kubelet's KUBE-IPTABLES-HINT chain in the mangle table
 * of their backend, as a Kubernetes node has it.
 *
 * Every address lives only inside the lab's namespaces: the root namespace's addresses, routes and
 * firewall are never touched. The prefix is `cdl` + 4 random hex digits, so labs never collide.
 *
 * State: a Lab object owns its namespaces, run directory and daemons; teardown() is idempotent and
 * serialised through one promise. No module-level state.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../agent/exec/runner.js';
import { inNs, makeSh, type Argv, type Sh } from './sh.js';
import { nodeEntry, spawnInNs, type Daemon } from './spawn.js';
import { listNamespaces, teardownNamespaces, teardownSync } from './cleanup.js';
import { startBird, waitForSessions, type BirdInstance, type BirdNodeConfig } from './bird.js';
import { programNftDataplane } from './felix-nftables.js';

export const LAB_PREFIX = 'cdl';
export const UNDERLAY_CIDR = '10.213.0.0/24';
export const UNDERLAY_GW = '10.213.0.1';
/** CrossSubnet labs: the second underlay subnet, routed to the first by the underlay namespace */
export const UNDERLAY2_CIDR = '10.213.1.0/24';
export const UNDERLAY2_GW = '10.213.1.1';
export const AGGREGATOR_IP = '10.213.0.100';
export const POOL_CIDR = '10.244.0.0/16';
export const VXLAN_VNI = 4096;
export const VXLAN_PORT = 4789;
export const UPLINK_MTU = 1500;
export const VXLAN_MTU = UPLINK_MTU - 50;
export const ALL_HOSTS_IPSET = 'cali40all-hosts-net';
export const ALL_VXLAN_IPSET = 'cali40all-vxlan-net';
/** IPIP (#19): the ipip module's tunl0, its MTU (uplink - 20) and the kernel table BIRD's kernel protocol uses in that mode */
export const IPIP_DEVICE = 'tunl0';
export const IPIP_MTU = UPLINK_MTU - 20;
export const IPIP_BIRD_KERNEL_TABLE = 100;
/**
 * Dual-stack mode (#15): the IPv6 underlay is a ULA /64 on the same bridge. Like the IPv4 underlay
 * it is the same in every lab: each lab's addresses live only inside its own namespaces (its own
 * bridge), so two labs never share a link and cannot clash.
 */
export const UNDERLAY6_PREFIX = 'fd00:cd::';
export const UNDERLAY6_GW = 'fd00:cd::1';
/** the IPv6 pool; node N gets the Calico-default /122 block fd00:10:244:N::/122 */
export const POOL6_CIDR = 'fd00:10:244::/48';
export const VXLAN6_DEVICE = 'vxlan-v6.calico';
/** IPv6 VXLAN overhead is 70 bytes (40-byte IPv6 header instead of 20) */
export const VXLAN6_MTU = UPLINK_MTU - 70;
export const ALL_VXLAN_IPSET6 = 'cali60all-vxlan-net';
/** The link-local address the kernel gives a veth with Calico's ee:ee:ee:ee:ee:ee MAC (EUI-64). */
export const WORKLOAD_LL6 = 'fe80::ecee:eeff:feee:eeee';

/** Which Felix the lab imitates: its rule shapes and iptables backend (#15). */
export type FelixRelease = 'current' | 'legacy';
export interface FelixFlavour {
  release: FelixRelease;
  /** the set Felix's rules admit VXLAN sources by */
  guardSet: string;
  /** iptables backend the rules are written with */
  backend: 'nft' | 'legacy';
  /** iptables / iptables-save / iptables-restore binaries of that backend */
  iptables: string;
  iptablesSave: string;
  iptablesRestore: string;
}
export const felixFlavour = (release: FelixRelease, encapsulation: LabRouting['encapsulation'] = 'vxlan'): FelixFlavour =>
  encapsulation === 'ipip'
    ? // IPIP (#19): every release guards tunl0 with cali40all-hosts-net; the lab writes it with
      // iptables-legacy (the IPIP lab runs in user-mode-linux, whose nf_tables has no ip family)
      { release, guardSet: ALL_HOSTS_IPSET, backend: 'legacy', iptables: 'iptables-legacy', iptablesSave: 'iptables-legacy-save', iptablesRestore: 'iptables-legacy-restore' }
    : release === 'current'
    ? { release, guardSet: ALL_VXLAN_IPSET, backend: 'nft', iptables: 'iptables-nft', iptablesSave: 'iptables-nft-save', iptablesRestore: 'iptables-nft-restore' }
    : { release, guardSet: ALL_HOSTS_IPSET, backend: 'legacy', iptables: 'iptables-legacy', iptablesSave: 'iptables-legacy-save', iptablesRestore: 'iptables-legacy-restore' };
export const WORKLOAD_MAC = 'ee:ee:ee:ee:ee:ee';

export interface LabPod {
  name: string;
  ns: string;
  ip: string;
  /** dual-stack labs: the pod's IPv6 address (from its node's /122 block) */
  ip6?: string;
  /** host-side veth, `cali` + 11 hex digits of sha1(workload id) like Calico's CNI plugin */
  caliIf: string;
}

export interface LabNode {
  index: number;
  name: string;
  ns: string;
  nodeIp: string;
  /** the underlay-side veth peer of eth0, in the underlay namespace */
  underlayIf: string;
  block: string;
  tunnelIp: string;
  vtepMac: string;
  pods: LabPod[];
  felixControlFile: string;
  /** underlay subnet of eth0 (CrossSubnet labs have two) and its router */
  subnet: string;
  gateway: string;
  /** BIRD control socket in BGP labs (the agent's --bird-socket), else null */
  birdSocket: string | null;
  /** dual-stack labs: the node's IPv6 underlay address, block, tunnel address and VTEP MAC */
  v6?: LabNode6;
}

export interface LabNode6 {
  nodeIp: string;
  block: string;
  tunnelIp: string;
  vtepMac: string;
}

/**
 * How pod traffic between nodes is routed:
 *  - routing 'static' (default): the lab programs every route the way Felix does (VXLAN, no BGP);
 *  - routing 'bgp': BIRD runs in every node (lab/bird.ts, node-to-node mesh, AS 64512);
 *  - encapsulation 'none' (needs bgp): BIRD programs the peer blocks `proto bird` via the peers'
 *    node IPs and the blocks' blackholes; no vxlan.calico;
 *  - crossSubnet (VXLAN): the last nodes sit on a second underlay subnet; Felix (the lab) routes
 *    same-subnet peers directly via their node IP on eth0 and other-subnet peers via vxlan.calico.
 *  - encapsulation 'ipip' (IPIP Always, needs bgp, #19): tunl0 (MTU 1480) with the node's tunnel
 *    address; per peer `<block> via <peer node IP> dev tunl0 onlink proto bird`. Stock BIRD 1.6
 *    cannot install onlink routes (calico-node's BIRD fork can), so the lab installs them and the
 *    blackhole of the node's block (proto bird), and BIRD runs the mesh sessions with its kernel
 *    protocol on table IPIP_BIRD_KERNEL_TABLE, where it cannot prune routes it did not make.
 *    Needs a kernel with the ipip module (the lab's user-mode-linux kernel has it).
 */
export interface LabRouting {
  routing: 'static' | 'bgp';
  encapsulation: 'vxlan' | 'none' | 'ipip';
  crossSubnet: boolean;
}

export const DEFAULT_ROUTING: LabRouting = { routing: 'static', encapsulation: 'vxlan', crossSubnet: false };

/** Checks a routing choice: no encapsulation needs BGP to carry the routes; CrossSubnet is a VXLAN mode. */
export const validateRouting = (r: LabRouting): LabRouting => {
  if (r.encapsulation === 'none' && r.routing !== 'bgp') throw new Error('a lab without encapsulation needs routing: bgp');
  if (r.encapsulation === 'ipip' && r.routing !== 'bgp') throw new Error('an IPIP lab needs routing: bgp (BIRD carries the routes)');
  if (r.crossSubnet && r.encapsulation !== 'vxlan') throw new Error('crossSubnet is a VXLAN mode');
  return r;
};

/** Nodes on the second subnet in a CrossSubnet lab: the upper half (node3 of 3). */
export const onSecondSubnet = (index: number, nodes: number): boolean => index > Math.ceil(nodes / 2);

/** True when the pair is routed without encapsulation in this lab. */
export const directPair = (r: LabRouting, a: LabNode, b: LabNode): boolean =>
  r.encapsulation === 'none' || (r.crossSubnet && a.subnet === b.subnet);

export interface LabPlan {
  id: string;
  prefix: string;
  underlayNs: string;
  aggregatorNs: string;
  aggregatorIp: string;
  nodes: LabNode[];
  routing: LabRouting;
}

/** Felix's VTEP MAC: 0x66 followed by the first 5 bytes of sha1(nodename). */
export const felixVtepMac = (nodeName: string): string => {
  const h = createHash('sha1').update(nodeName).digest();
  return ['66', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
};

/**
 * The IPv6 VTEP MAC of a lab node, as Felix derives it when the Node resource has no
 * `vxlanTunnelMACAddrV6`: 0x66 followed by the first 5 bytes of sha1(nodename + "-v6")
 * (felix/calc/vxlan_resolver.go, vtepMACForHost with ipVersion 6), so it differs from the IPv4 MAC.
 */
export const felixVtepMac6 = (nodeName: string): string => felixVtepMac(`${nodeName}-v6`);

/** Calico CNI's host-side veth name: "cali" + first 11 hex digits of sha1(workload id). */
export const caliIfName = (workloadId: string): string =>
  `cali${createHash('sha1').update(workloadId).digest('hex').slice(0, 11)}`;

/** Deterministic Felix-style rule id ("cali:<16 chars>") from any text. */
export const caliRuleId = (text: string): string =>
  `cali:${createHash('sha256').update(text).digest('base64url').slice(0, 16)}`;

/** Pure addressing plan for a lab instance (no IO). */
export const planLab = (opts: { id: string; nodes: number; podsPerNode: number; runDir: string; routing?: Partial<LabRouting>; dualStack?: boolean }): LabPlan => {
  const routing = validateRouting({ ...DEFAULT_ROUTING, ...opts.routing });
  if (opts.nodes < 2 || opts.nodes > 50) throw new Error('a lab has 2..50 nodes');
  if (opts.podsPerNode < 1 || opts.podsPerNode > 60) throw new Error('a lab node has 1..60 pods');
  const prefix = `${LAB_PREFIX}${opts.id}`;
  const nodes: LabNode[] = [];
  for (let i = 1; i <= opts.nodes; i += 1) {
    const name = `node${i}`;
    const pods: LabPod[] = [];
    for (let j = 1; j <= opts.podsPerNode; j += 1) {
      const podName = `pod-${name}-${j}`;
      pods.push({
        name: podName,
        ns: `${prefix}-n${i}p${j}`,
        ip: `10.244.${i}.${j}`,
        caliIf: caliIfName(`${prefix}/default/${podName}/eth0`),
        ...(opts.dualStack ? { ip6: `fd00:10:244:${i}::${j.toString(16)}` } : {}),
      });
    }
    const second = routing.crossSubnet && onSecondSubnet(i, opts.nodes);
    nodes.push({
      index: i,
      name,
      ns: `${prefix}-n${i}`,
      nodeIp: `10.213.${second ? 1 : 0}.${10 + i}`,
      subnet: second ? UNDERLAY2_CIDR : UNDERLAY_CIDR,
      gateway: second ? UNDERLAY2_GW : UNDERLAY_GW,
      birdSocket: routing.routing === 'bgp' ? join(opts.runDir, `bird-${name}.ctl`) : null,
      underlayIf: `vn${i}`,
      block: `10.244.${i}.0/26`,
      tunnelIp: `10.244.${i}.0`,
      vtepMac: felixVtepMac(name),
      pods,
      felixControlFile: join(opts.runDir, `felix-${name}.json`),
      ...(opts.dualStack
        ? { v6: { nodeIp: `fd00:cd::${(10 + i).toString(16)}`, block: `fd00:10:244:${i}::/122`, tunnelIp: `fd00:10:244:${i}::`, vtepMac: felixVtepMac6(name) } }
        : {}),
    });
  }
  return {
    id: opts.id,
    prefix,
    underlayNs: `${prefix}-ul`,
    aggregatorNs: `${prefix}-agg`,
    aggregatorIp: AGGREGATOR_IP,
    nodes,
    routing,
  };
};

/**
 * The rules guarding VXLAN in cali-INPUT, in the shape of the Felix release (felix/rules/static.go
 * filterInputChain in current releases).
 */
const vxlanGuardRules = (release: FelixRelease, id: (chain: string) => string, family: LabFamily = 'ipv4'): string[] =>
  family === 'ipv6'
    ? [
        `-A cali-INPUT -p udp -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Allow IPv6 VXLAN packets from allowed hosts" -m multiport --dports ${VXLAN_PORT} -m set --match-set ${ALL_VXLAN_IPSET6} src -m addrtype --dst-type LOCAL -j ACCEPT`,
        `-A cali-INPUT -p udp -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Drop IPv6 VXLAN packets from non-allowed hosts" -m multiport --dports ${VXLAN_PORT} -m addrtype --dst-type LOCAL -j DROP`,
      ]
    : release === 'current'
    ? [
        `-A cali-INPUT -p udp -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -m multiport --dports ${VXLAN_PORT} -m set --match-set ${ALL_VXLAN_IPSET} src -m addrtype --dst-type LOCAL -j ACCEPT`,
        `-A cali-INPUT -p udp -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -m multiport --dports ${VXLAN_PORT} -m addrtype --dst-type LOCAL -j DROP`,
      ]
    : [
        `-A cali-INPUT -p udp -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Drop IPv4 VXLAN packets from non-Calico hosts" -m set ! --match-set ${ALL_HOSTS_IPSET} src -m udp --dport ${VXLAN_PORT} -j DROP`,
      ];

/**
 * The rules guarding IPIP in cali-INPUT (#19), as Felix's filterInputChain writes them (felix/rules/
 * static.go, rendered with the protocol number, which iptables-save prints by name): current
 * releases ACCEPT protocol 4 from sources in cali40all-hosts-net to a local address, then DROP the
 * remaining IPIP; older ones had one DROP negating the set.
 */
const ipipGuardRules = (release: FelixRelease, id: (chain: string) => string): string[] =>
  release === 'current'
    ? [
        `-A cali-INPUT -p 4 -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Allow IPIP packets from Calico hosts" -m set --match-set ${ALL_HOSTS_IPSET} src -m addrtype --dst-type LOCAL -j ACCEPT`,
        `-A cali-INPUT -p 4 -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Drop IPIP packets from non-Calico hosts" -j DROP`,
      ]
    : [`-A cali-INPUT -p 4 -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Drop IPIP packets from non-Calico hosts" -m set ! --match-set ${ALL_HOSTS_IPSET} src -j DROP`];

/** kubelet's hint chain, which tells Felix (and our agent) which backend the node uses. */
export const KUBE_HINT_MANGLE = ['*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':KUBE-IPTABLES-HINT - [0:0]', 'COMMIT', ''].join('\n');

/** An address family of the lab's dataplane. */
export type LabFamily = 'ipv4' | 'ipv6';

/**
 * The filter table a Calico node has, reduced to the chains the checks read; `ipv6` gives the
 * ip6tables table of a dual-stack node (current Felix's IPv6 guard on `cali60all-vxlan-net`).
 */
export const calicoFilterRules = (release: FelixRelease = 'current', family: LabFamily = 'ipv4', encapsulation: LabRouting['encapsulation'] = 'vxlan'): string => {
  let n = 0;
  const id = (chain: string): string => caliRuleId(`${chain}/${(n += 1)}`);
  const lines = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':cali-FORWARD - [0:0]',
    ':cali-INPUT - [0:0]',
    ':cali-OUTPUT - [0:0]',
    ':cali-from-hep-forward - [0:0]',
    ':cali-from-host-endpoint - [0:0]',
    ':cali-from-wl-dispatch - [0:0]',
    ':cali-to-hep-forward - [0:0]',
    ':cali-to-host-endpoint - [0:0]',
    ':cali-to-wl-dispatch - [0:0]',
    ':cali-wl-to-host - [0:0]',
    `-A INPUT -m comment --comment "${id('INPUT')}" -j cali-INPUT`,
    `-A FORWARD -m comment --comment "${id('FORWARD')}" -j cali-FORWARD`,
    `-A FORWARD -m comment --comment "${id('FORWARD')}" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`,
    `-A FORWARD -m comment --comment "${id('FORWARD')}" -j MARK --set-xmark 0x10000/0x10000`,
    `-A OUTPUT -m comment --comment "${id('OUTPUT')}" -j cali-OUTPUT`,
    `-A cali-FORWARD -m comment --comment "${id('cali-FORWARD')}" -j MARK --set-xmark 0x0/0x1a0000`,
    `-A cali-FORWARD -m comment --comment "${id('cali-FORWARD')}" -m mark --mark 0x0/0x10000 -j cali-from-hep-forward`,
    `-A cali-FORWARD -i cali+ -m comment --comment "${id('cali-FORWARD')}" -j cali-from-wl-dispatch`,
    `-A cali-FORWARD -o cali+ -m comment --comment "${id('cali-FORWARD')}" -j cali-to-wl-dispatch`,
    `-A cali-FORWARD -m comment --comment "${id('cali-FORWARD')}" -j cali-to-hep-forward`,
    ...(encapsulation === 'ipip' ? ipipGuardRules(release, id) : vxlanGuardRules(release, id, family)),
    `-A cali-INPUT -i cali+ -m comment --comment "${id('cali-INPUT')}" -g cali-wl-to-host`,
    `-A cali-INPUT -m comment --comment "${id('cali-INPUT')}" -m mark --mark 0x10000/0x10000 -j ACCEPT`,
    `-A cali-INPUT -m comment --comment "${id('cali-INPUT')}" -j MARK --set-xmark 0x0/0xf0000`,
    `-A cali-INPUT -m comment --comment "${id('cali-INPUT')}" -j cali-from-host-endpoint`,
    `-A cali-INPUT -m comment --comment "${id('cali-INPUT')}" -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`,
    `-A cali-OUTPUT -m comment --comment "${id('cali-OUTPUT')}" -m mark --mark 0x10000/0x10000 -j ACCEPT`,
    `-A cali-OUTPUT -o cali+ -m comment --comment "${id('cali-OUTPUT')}" -j RETURN`,
    `-A cali-OUTPUT -m comment --comment "${id('cali-OUTPUT')}" -j MARK --set-xmark 0x0/0xf0000`,
    `-A cali-OUTPUT -m comment --comment "${id('cali-OUTPUT')}" -j cali-to-host-endpoint`,
    `-A cali-OUTPUT -m comment --comment "${id('cali-OUTPUT')}" -m comment --comment "Host endpoint policy accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT`,
    `-A cali-wl-to-host -m comment --comment "${id('cali-wl-to-host')}" -j cali-from-wl-dispatch`,
    `-A cali-wl-to-host -m comment --comment "${id('cali-wl-to-host')}" -m comment --comment "Configured DefaultEndpointToHostAction" -j ACCEPT`,
    'COMMIT',
    '',
  ];
  return lines.join('\n');
};

/** Which policy dataplane the lab's Felix stand-in programs: ipset + iptables, or nftables (`ip calico`). */
export type LabDataplane = 'iptables' | 'nftables';

export interface Lab extends LabPlan {
  readonly dataplane: LabDataplane;
  readonly sh: Sh;
  /** the Felix release the lab imitates, its guarding set and iptables backend */
  readonly flavour: FelixFlavour;
  /** temp directory: tokens, control files, logs */
  readonly runDir: string;
  readonly felix: Map<string, Daemon>;
  /** BIRD per node in BGP labs */
  readonly birds: Map<string, BirdInstance>;
  /** the BIRD config each node runs (faults rewrite and reload it) */
  birdConfig(node: string): BirdNodeConfig;
  /** every namespace of this lab, the underlay last */
  namespaces(): string[];
  node(name: string): LabNode;
  /** runs argv inside a namespace, throwing on non-zero exit */
  exec(ns: string, argv: Argv, opts?: { input?: string; timeoutMs?: number }): ReturnType<Sh['must']>;
  /** one ICMP echo from a pod namespace; true when a reply came back */
  ping(fromNs: string, toIp: string, opts?: { count?: number; timeoutS?: number; size?: number; df?: boolean }): Promise<boolean>;
  /** sets the Felix stand-in's health on a node */
  setFelixHealth(node: string, health: { live: boolean; ready: boolean } | null): void;
  /** kills every process in the lab's namespaces and deletes them; idempotent */
  teardown(): Promise<void>;
  /** installs SIGINT/SIGTERM/exit hooks that tear the lab down; returns the uninstaller */
  installExitHooks(): () => void;
}

export interface CreateLabOptions {
  nodes?: number;
  podsPerNode?: number;
  runner?: CommandRunner;
  /** progress lines (demo); default silent */
  progress?: (line: string) => void;
  /** fixed id instead of a random one (tests of the plan only) */
  id?: string;
  /** start the Felix health stand-in in every node (default true) */
  felixStandin?: boolean;
  /** the Felix release whose rules and backend the nodes get (default `current`) */
  felix?: FelixRelease;
  /**
   * install SIGINT/SIGTERM/exit teardown hooks before the first namespace exists (so Ctrl-C while
   * building still cleans up, and a process that exits without teardown leaves nothing); teardown()
   * removes them once it has finished. Default true.
   */
  exitHooks?: boolean;
  /** routing mode (default: static VXLAN, as Felix without BGP) */
  routing?: Partial<LabRouting>;
  /** policy dataplane programmed on every node (default iptables) */
  dataplane?: LabDataplane;
  /**
   * dual-stack VXLAN (#15): besides IPv4, every node gets an IPv6 underlay address, a /122 IPv6
   * block, vxlan-v6.calico with its per-peer routes, neighbours and FDB entries, the ip6tables guard
   * on cali60all-vxlan-net; every pod an IPv6 address. Needs `felix: 'current'` and iptables.
   */
  dualStack?: boolean;
}

const sysctl = (key: string, value: string | number): Argv => ['sysctl', '-q', '-w', `${key}=${value}`];

/** Builds a lab. On any failure everything already created is torn down and the error rethrown. */
export const createLab = async (opts: CreateLabOptions = {}): Promise<Lab> => {
  const r = { ...DEFAULT_ROUTING, ...opts.routing };
  if (opts.dualStack && ((opts.felix ?? 'current') !== 'current' || (opts.dataplane ?? 'iptables') !== 'iptables' || r.routing !== 'static' || r.encapsulation !== 'vxlan' || r.crossSubnet)) {
    throw new Error('a dual-stack lab models current Felix on the iptables dataplane with static VXLAN Always routing');
  }
  const sh = makeSh(opts.runner);
  // A random id whose namespaces do not exist yet (another live lab may hold any given id).
  const existing = new Set(await listNamespaces(sh));
  let id = opts.id ?? randomBytes(2).toString('hex');
  for (let i = 0; !opts.id && i < 20 && [...existing].some((n) => n.startsWith(`${LAB_PREFIX}${id}-`)); i += 1) {
    id = randomBytes(2).toString('hex');
  }
  const runDir = mkdtempSync(join(tmpdir(), `${LAB_PREFIX}${id}-`));
  writeFileSync(join(runDir, 'owner.pid'), `${process.pid}\n`);
  const plan = planLab({ id, nodes: opts.nodes ?? 3, podsPerNode: opts.podsPerNode ?? 1, runDir, ...(opts.routing ? { routing: opts.routing } : {}), dualStack: opts.dualStack === true });
  const progress = opts.progress ?? (() => undefined);
  const felix = new Map<string, Daemon>();
  const birds = new Map<string, BirdInstance>();
  const flavour = felixFlavour(opts.felix ?? 'current', plan.routing.encapsulation);
  /** only what this lab created is ever deleted, so a name clash cannot take another lab down */
  const created: string[] = [];
  const createdUnderlayLast = (): string[] => [...created].reverse();
  let tearing: Promise<void> | undefined;
  let tornDown = false;

  const namespaces = (): string[] => [
    ...plan.nodes.flatMap((n) => [...n.pods.map((p) => p.ns), n.ns]),
    plan.aggregatorNs,
    plan.underlayNs,
  ];

  let uninstallHooks: (() => void) | undefined;
  const teardown = (): Promise<void> => {
    tearing ??= (async () => {
      await Promise.all([...felix.values(), ...[...birds.values()].map((b) => b.daemon)].map((d) => d.stop(1000)));
      await teardownNamespaces(sh, createdUnderlayLast());
      rmSync(runDir, { recursive: true, force: true });
      tornDown = true;
      uninstallHooks?.();
    })();
    return tearing;
  };

  const exec = (ns: string, argv: Argv, o?: { input?: string; timeoutMs?: number }) => sh.must(inNs(ns, argv), o);
  const ip = (ns: string, ...args: string[]) => sh.must(['ip', '-n', ns, ...args]);

  const dataplane = opts.dataplane ?? 'iptables';
  const lab: Lab = {
    ...plan,
    dataplane,
    sh,
    flavour,
    runDir,
    felix,
    birds,
    birdConfig: (name) => birdConfigFor(plan, lab.node(name)),
    namespaces,
    node: (name) => {
      const n = plan.nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no lab node ${name}`);
      return n;
    },
    exec,
    ping: async (fromNs, toIp, o = {}) => {
      const count = o.count ?? 1;
      const argv: Argv = [
        'ping', ...(toIp.includes(':') ? ['-6'] : []), '-n', '-q', '-c', String(count), '-W', String(o.timeoutS ?? 1),
        ...(count > 1 ? ['-i', '0.2'] : []),
        ...(o.size !== undefined ? ['-s', String(o.size)] : []),
        ...(o.df ? ['-M', 'do'] : []),
        toIp,
      ];
      const res = await sh.try(inNs(fromNs, argv), { timeoutMs: (count * (o.timeoutS ?? 1) + 5) * 1000 });
      return res.exitCode === 0;
    },
    setFelixHealth: (name, health) => {
      const file = lab.node(name).felixControlFile;
      if (health === null) {
        try {
          unlinkSync(file);
        } catch {
          // already healthy
        }
      } else writeFileSync(file, JSON.stringify(health));
    },
    teardown,
    installExitHooks: () => {
      const onSignal = (sig: NodeJS.Signals): void => {
        process.stderr.write(`\n${sig}: tearing the lab down (${plan.prefix}-*)\n`);
        void teardown().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
      };
      const onExit = (): void => {
        // Last resort when the process exits before teardown finished: synchronous cleanup.
        if (!tornDown) teardownSyncFallback(createdUnderlayLast(), runDir);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      process.once('exit', onExit);
      return () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('exit', onExit);
      };
    },
  };

  if (opts.exitHooks !== false) uninstallHooks = lab.installExitHooks();
  try {
    progress(`creating namespaces (prefix ${plan.prefix})`);
    for (const ns of namespaces().reverse()) {
      await sh.must(['ip', 'netns', 'add', ns]);
      created.push(ns);
      await ip(ns, 'link', 'set', 'lo', 'up');
    }

    progress(`underlay bridge ${UNDERLAY_CIDR}`);
    const ul = plan.underlayNs;
    await ip(ul, 'link', 'add', 'br0', 'type', 'bridge');
    await ip(ul, 'addr', 'add', `${UNDERLAY_GW}/24`, 'dev', 'br0');
    await ip(ul, 'link', 'set', 'br0', 'up');
    if (opts.dualStack) {
      // No DAD anywhere in the lab: addresses are unique by construction and usable at once.
      for (const ns of namespaces()) {
        for (const k of ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6']) await exec(ns, sysctl(k, 0));
        for (const k of ['net.ipv6.conf.all.accept_dad', 'net.ipv6.conf.default.accept_dad']) await exec(ns, sysctl(k, 0));
      }
      await ip(ul, '-6', 'addr', 'add', `${UNDERLAY6_GW}/64`, 'dev', 'br0', 'nodad');
    }
    if (plan.routing.crossSubnet) {
      // the underlay namespace routes between the two subnets (the "router" of a CrossSubnet cluster)
      progress(`second underlay subnet ${UNDERLAY2_CIDR}, routed by ${ul}`);
      await ip(ul, 'link', 'add', 'br1', 'type', 'bridge');
      await ip(ul, 'addr', 'add', `${UNDERLAY2_GW}/24`, 'dev', 'br1');
      await ip(ul, 'link', 'set', 'br1', 'up');
      await exec(ul, sysctl('net.ipv4.ip_forward', 1));
    }

    const uplink = async (ns: string, peerIf: string, addr: string, gw = UNDERLAY_GW): Promise<void> => {
      await ip(ns, 'link', 'add', 'eth0', 'mtu', String(UPLINK_MTU), 'type', 'veth', 'peer', 'name', peerIf, 'mtu', String(UPLINK_MTU), 'netns', ul);
      await ip(ul, 'link', 'set', peerIf, 'master', gw === UNDERLAY_GW ? 'br0' : 'br1', 'up');
      await ip(ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      await ip(ns, 'link', 'set', 'eth0', 'up');
      await ip(ns, 'route', 'add', 'default', 'via', gw, 'dev', 'eth0');
    };

    await uplink(plan.aggregatorNs, 'vagg', plan.aggregatorIp);

    for (const n of plan.nodes) {
      progress(`${n.name}: uplink ${n.nodeIp}${plan.routing.encapsulation === 'vxlan' ? `, vxlan.calico ${n.tunnelIp} (${n.vtepMac})` : plan.routing.encapsulation === 'ipip' ? `, ${IPIP_DEVICE} ${n.tunnelIp}` : ''}, block ${n.block}, ${flavour.release} Felix rules (${flavour.backend})`);
      await uplink(n.ns, n.underlayIf, n.nodeIp, n.gateway);
      for (const [k, v] of [
        ['net.ipv4.ip_forward', 1],
        ['net.ipv4.conf.all.rp_filter', 0],
        ['net.ipv4.conf.default.rp_filter', 0],
        ['net.ipv4.conf.eth0.rp_filter', 0],
      ] as const) {
        await exec(n.ns, sysctl(k, v));
      }
      const vxlan = plan.routing.encapsulation === 'vxlan';
      if (vxlan) {
        await ip(
          n.ns, 'link', 'add', 'vxlan.calico', 'address', n.vtepMac, 'mtu', String(VXLAN_MTU),
          'type', 'vxlan', 'id', String(VXLAN_VNI), 'local', n.nodeIp, 'dev', 'eth0', 'dstport', String(VXLAN_PORT), 'nolearning',
        );
        await ip(n.ns, 'addr', 'add', `${n.tunnelIp}/32`, 'dev', 'vxlan.calico');
        await ip(n.ns, 'link', 'set', 'vxlan.calico', 'up');
        await exec(n.ns, sysctl('net/ipv4/conf/vxlan.calico/rp_filter', 0));
        // without encapsulation BIRD's static protocol programs the block's blackhole (proto bird)
        await ip(n.ns, 'route', 'add', 'blackhole', n.block, 'proto', '80');
      }
      const ipip = plan.routing.encapsulation === 'ipip';
      if (ipip) await programIpipNode(lab, n);

      for (const p of plan.nodes) {
        if (p !== n && ipip) await programIpipPeer(lab, n, p);
        if (p === n || !vxlan) continue;
        if (directPair(plan.routing, n, p)) await ip(n.ns, 'route', 'add', p.block, 'via', p.nodeIp, 'dev', 'eth0', 'proto', '80');
        else await ip(n.ns, 'route', 'add', p.block, 'via', p.tunnelIp, 'dev', 'vxlan.calico', 'onlink', 'proto', '80');
        await ip(n.ns, 'neigh', 'replace', p.tunnelIp, 'lladdr', p.vtepMac, 'dev', 'vxlan.calico', 'nud', 'permanent');
        await sh.must(['bridge', '-n', n.ns, 'fdb', 'append', p.vtepMac, 'dev', 'vxlan.calico', 'dst', p.nodeIp, 'self', 'permanent']);
      }

      for (const pod of n.pods) {
        const podMtu = String(plan.routing.encapsulation === 'none' ? UPLINK_MTU : ipip ? IPIP_MTU : VXLAN_MTU);
        await ip(
          n.ns, 'link', 'add', pod.caliIf, 'address', WORKLOAD_MAC, 'mtu', podMtu,
          'type', 'veth', 'peer', 'name', 'eth0', 'mtu', podMtu, 'netns', pod.ns,
        );
        for (const [k, v] of [
          [`net.ipv4.conf.${pod.caliIf}.proxy_arp`, 1],
          [`net.ipv4.neigh.${pod.caliIf}.proxy_delay`, 0],
          [`net.ipv4.conf.${pod.caliIf}.forwarding`, 1],
          [`net.ipv4.conf.${pod.caliIf}.rp_filter`, 1],
        ] as const) {
          await exec(n.ns, sysctl(k, v));
        }
        await ip(n.ns, 'link', 'set', pod.caliIf, 'up');
        await ip(n.ns, 'route', 'add', `${pod.ip}/32`, 'dev', pod.caliIf, 'scope', 'link');
        await ip(pod.ns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0');
        await ip(pod.ns, 'link', 'set', 'eth0', 'up');
        await ip(pod.ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
        await ip(pod.ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
      }

      if (dataplane === 'nftables') {
        await programNftDataplane(lab, plan, n);
      } else {
        await exec(n.ns, ['ipset', 'create', flavour.guardSet, 'hash:net', 'family', 'inet']);
        for (const p of plan.nodes) await exec(n.ns, ['ipset', 'add', flavour.guardSet, p.nodeIp]);
        // Felix adds its VXLAN guard rules only when VXLAN is on.
        const rules =
          plan.routing.encapsulation === 'vxlan'
            ? calicoFilterRules(flavour.release)
            : ipip
              ? calicoFilterRules(flavour.release, 'ipv4', 'ipip')
              : withoutVxlanRules(calicoFilterRules(flavour.release));
        await exec(n.ns, [flavour.iptablesRestore, '-w', '5', '--noflush'], { input: KUBE_HINT_MANGLE + rules });
      }
      if (n.v6) await programIpv6(lab, plan, n);
    }

    if (plan.routing.routing === 'bgp') {
      progress(`starting BIRD in every node (AS ${'64512'}, node-to-node mesh)`);
      for (const n of plan.nodes) birds.set(n.name, startBird(runDir, n.ns, birdConfigFor(plan, n)));
      await waitForSessions(sh, [...birds.values()], 30_000);
      if (plan.routing.encapsulation === 'none') await waitForBirdRoutes(sh, plan, 15_000);
    }

    if (opts.felixStandin !== false) {
      progress('starting Felix health stand-ins on 127.0.0.1:9099');
      for (const n of plan.nodes) {
        felix.set(
          n.name,
          spawnInNs({
            name: `felix-${n.name}`,
            ns: n.ns,
            argv: [...nodeEntry('lab/felix-standin'), '--control', n.felixControlFile, '--host', '127.0.0.1', '--port', '9099'],
            logFile: join(runDir, `felix-${n.name}.log`),
          }),
        );
      }
      await Promise.all(plan.nodes.map((n) => waitForHttp(sh, n.ns, 'http://127.0.0.1:9099/liveness', 15_000)));
    }
    progress('lab is up');
    return lab;
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
};

/** A filter table without Felix's VXLAN guard rules (a node with no encapsulation), of either release. */
export const withoutVxlanRules = (rules: string): string =>
  rules
    .split('\n')
    .filter((l) => !/IPv4 VXLAN packets from/.test(l))
    .join('\n');

/**
 * A node's tunl0 as calico-node sets it up in IPIP mode (#19): the device the ipip module creates in
 * every namespace (made here only when the kernel has not), MTU uplink - 20, the node's IPIP tunnel
 * address (first address of its block, /32), up, rp_filter off; and the blackhole of its block,
 * which calico-node's BIRD programs (proto bird).
 */
export const programIpipNode = async (lab: Lab, n: LabNode): Promise<void> => {
  const ip = (...args: string[]) => lab.sh.must(['ip', '-n', n.ns, ...args]);
  const has = await lab.sh.try(['ip', '-n', n.ns, 'link', 'show', IPIP_DEVICE]);
  if (has.exitCode !== 0) await ip('link', 'add', 'name', IPIP_DEVICE, 'type', 'ipip');
  await ip('link', 'set', IPIP_DEVICE, 'mtu', String(IPIP_MTU));
  await ip('addr', 'replace', `${n.tunnelIp}/32`, 'dev', IPIP_DEVICE);
  await ip('link', 'set', IPIP_DEVICE, 'up');
  await lab.exec(n.ns, sysctl(`net/ipv4/conf/${IPIP_DEVICE}/rp_filter`, 0));
  await ip('route', 'replace', 'blackhole', n.block, 'proto', 'bird');
};

/** Node n's route to one peer's block in IPIP mode, as calico-node's BIRD programs it (also restores it after a fault). */
export const programIpipPeer = async (lab: Lab, n: LabNode, p: LabNode): Promise<void> => {
  await lab.sh.must(['ip', '-n', n.ns, 'route', 'replace', p.block, 'via', p.nodeIp, 'dev', IPIP_DEVICE, 'onlink', 'proto', 'bird']);
};

/** The BIRD config a lab node runs when healthy. */
export const birdConfigFor = (plan: LabPlan, n: LabNode): BirdNodeConfig => ({
  nodeName: n.name,
  nodeIp: n.nodeIp,
  blocks: [n.block],
  pool: POOL_CIDR,
  poolEncapsulation: plan.routing.encapsulation,
  ...(plan.routing.encapsulation === 'ipip' ? { kernelTable: IPIP_BIRD_KERNEL_TABLE } : {}),
  peers: plan.nodes.filter((p) => p !== n).map((p) => ({ name: p.name, nodeIp: p.nodeIp })),
});

/** Waits until BIRD has programmed every peer block (proto bird) in every node. */
export const waitForBirdRoutes = async (sh: Sh, plan: LabPlan, deadlineMs: number): Promise<void> => {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const missing: string[] = [];
    for (const n of plan.nodes) {
      const r = await sh.try(['ip', '-n', n.ns, '-j', 'route', 'show', 'proto', 'bird']);
      const dsts = new Set((JSON.parse(r.stdout || '[]') as Array<{ dst: string }>).map((x) => x.dst));
      for (const p of plan.nodes) if (p !== n && !dsts.has(p.block)) missing.push(`${n.name}: ${p.block}`);
    }
    if (missing.length === 0) return;
    if (Date.now() > until) throw new Error(`BIRD did not program ${missing.join(', ')} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
};

/** Polls a URL from inside a namespace (curl) until it answers at all, or the deadline passes. */
export const waitForHttp = async (sh: Sh, ns: string, url: string, deadlineMs: number): Promise<void> => {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const res = await sh.try(inNs(ns, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '1', url]));
    if (res.exitCode === 0 && res.stdout.trim() !== '000') return;
    if (Date.now() > until) throw new Error(`${url} in ${ns} did not answer within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
};

/** Synchronous last-resort cleanup for process 'exit' (no event loop left). */
const teardownSyncFallback = (nss: string[], runDir: string): void => {
  teardownSync(nss);
  rmSync(runDir, { recursive: true, force: true });
};

/**
 * Programs the IPv6 half of a dual-stack node (#15) as Felix and Calico's CNI plugin do: the IPv6
 * underlay address, vxlan-v6.calico (VNI 4096, port 4789, nolearning, MTU uplink - 70, its own VTEP
 * MAC) with the tunnel address (first address of the node's /122 block), the blackhole block route,
 * per peer a route `<block> via <tunnel IP> dev vxlan-v6.calico onlink`, a PERMANENT neighbour and
 * an FDB entry to the peer's IPv6 node address; each pod an IPv6 address whose default route goes
 * via the host-side veth's link-local address (fe80::ecee:eeff:feee:eeee, the EUI-64 address of
 * ee:ee:ee:ee:ee:ee, as the CNI plugin sets it), a /128 host route; the ip6tables filter table with
 * the `cali60all-vxlan-net` guard and that set (family inet6) holding every node's IPv6 address.
 */
export const programIpv6 = async (lab: Lab, plan: LabPlan, n: LabNode): Promise<void> => {
  const v6 = n.v6;
  if (!v6) throw new Error(`${n.name} has no IPv6 plan`);
  const ip = (ns: string, ...args: string[]) => lab.sh.must(['ip', '-n', ns, ...args]);
  await ip(n.ns, '-6', 'addr', 'add', `${v6.nodeIp}/64`, 'dev', 'eth0', 'nodad');
  await ip(n.ns, '-6', 'route', 'add', 'default', 'via', UNDERLAY6_GW, 'dev', 'eth0');
  await lab.exec(n.ns, sysctl('net.ipv6.conf.all.forwarding', 1));
  await ip(
    n.ns, 'link', 'add', VXLAN6_DEVICE, 'address', v6.vtepMac, 'mtu', String(VXLAN6_MTU),
    'type', 'vxlan', 'id', String(VXLAN_VNI), 'local', v6.nodeIp, 'dev', 'eth0', 'dstport', String(VXLAN_PORT), 'nolearning',
  );
  await ip(n.ns, '-6', 'addr', 'add', `${v6.tunnelIp}/128`, 'dev', VXLAN6_DEVICE, 'nodad');
  await ip(n.ns, 'link', 'set', VXLAN6_DEVICE, 'up');
  await ip(n.ns, '-6', 'route', 'add', 'blackhole', v6.block, 'proto', '80');
  for (const p of plan.nodes) {
    if (p === n || !p.v6) continue;
    await programPeer6(lab, n, p);
  }
  for (const pod of n.pods) {
    if (!pod.ip6) continue;
    await lab.exec(n.ns, sysctl(`net.ipv6.conf.${pod.caliIf}.proxy_ndp`, 1));
    await lab.exec(n.ns, sysctl(`net.ipv6.conf.${pod.caliIf}.forwarding`, 1));
    await ip(n.ns, '-6', 'route', 'add', `${pod.ip6}/128`, 'dev', pod.caliIf);
    await ip(pod.ns, '-6', 'addr', 'add', `${pod.ip6}/128`, 'dev', 'eth0', 'nodad');
    await ip(pod.ns, '-6', 'route', 'add', 'default', 'via', WORKLOAD_LL6, 'dev', 'eth0');
  }
  await lab.exec(n.ns, ['ipset', 'create', ALL_VXLAN_IPSET6, 'hash:net', 'family', 'inet6']);
  for (const p of plan.nodes) if (p.v6) await lab.exec(n.ns, ['ipset', 'add', ALL_VXLAN_IPSET6, p.v6.nodeIp]);
  await lab.exec(n.ns, ['ip6tables-nft-restore', '-w', '5', '--noflush'], { input: KUBE_HINT_MANGLE + calicoFilterRules('current', 'ipv6') });
};

/** Node n's IPv6 VXLAN state for one peer, as Felix programs it (also restores it after a fault). */
export const programPeer6 = async (lab: Lab, n: LabNode, p: LabNode): Promise<void> => {
  if (!p.v6) throw new Error(`${p.name} has no IPv6 plan`);
  await lab.sh.must(['ip', '-n', n.ns, '-6', 'route', 'replace', p.v6.block, 'via', p.v6.tunnelIp, 'dev', VXLAN6_DEVICE, 'onlink', 'proto', '80']);
  await lab.sh.must(['ip', '-n', n.ns, '-6', 'neigh', 'replace', p.v6.tunnelIp, 'lladdr', p.v6.vtepMac, 'dev', VXLAN6_DEVICE, 'nud', 'permanent']);
  await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'replace', p.v6.vtepMac, 'dev', VXLAN6_DEVICE, 'dst', p.v6.nodeIp, 'self', 'permanent']);
};
