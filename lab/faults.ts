/**
 * Faults a Calico VXLAN node can have, each injectable into a running lab and removable again.
 * Each fault changes state on exactly one node (`holder`): the node whose state is wrong, which is
 * the node a diagnosis must name. `peer` is the other node the wrong state is about.
 *
 * For each fault the definition says which finding the tool should raise (rule id, node, peer) and
 * what pod traffic does (small and full-size pings), as the kernel decides: the e2e tests assert it. Stateless: inject/remove act
 * on the lab only; removal restores the state Felix would have programmed.
 */
import type { Lab, LabNode } from './topology.js';
import { UPLINK_MTU, VXLAN_MTU, VXLAN_PORT, caliRuleId } from './topology.js';

export type FaultKind =
  | 'neighbor-mac-wrong'
  | 'route-missing'
  | 'return-route-missing'
  | 'ip-forward-off'
  | 'forward-drop'
  | 'host-not-in-ipset'
  | 'guard-set-flushed'
  | 'encap-drop-input'
  | 'tunnel-down'
  | 'agent-killed'
  | 'felix-not-ready'
  | 'fdb-wrong-dst'
  | 'rp-filter-strict'
  | 'tunnel-mtu-too-big'
  | 'neighbor-not-permanent';

/** `node` is where the fault is seen from (the source of the traffic); `peer` the other end. */
export interface FaultParams {
  node: string;
  peer: string;
}

/** Starts and kills agents; implemented by lab/processes.ts. */
export interface AgentControl {
  killAgent(node: string): Promise<void>;
  startAgent(node: string): Promise<void>;
}

export interface FaultContext {
  lab: Lab;
  agents?: AgentControl;
}

export type TrafficEffect = 'breaks' | 'works';

/**
 * What pod-to-pod ping between node's and peer's pods does under the fault, both directions:
 * `small` = default 56-byte echo, `big` = 1422-byte echo with DF (fills the 1450 pod MTU). Observed
 * on the kernel the lab runs on and asserted by the e2e tests, so a kernel that behaves differently
 * shows up as a failing test rather than a silent assumption.
 */
export interface TrafficExpectation {
  small: TrafficEffect;
  big: TrafficEffect;
}

export const BIG_PING_SIZE = 1422;

export interface ExpectedFinding {
  rule: string;
  /** node that holds the wrong state and must carry the finding */
  node: string;
  /** peer the finding names, when the rule is about a pair */
  peer?: string;
}

export interface FaultDef {
  kind: FaultKind;
  describe(p: FaultParams): string;
  inject(ctx: FaultContext, p: FaultParams): Promise<void>;
  remove(ctx: FaultContext, p: FaultParams): Promise<void>;
  expected(p: FaultParams): ExpectedFinding;
  /** effect on pod traffic between node's pod and peer's pod */
  traffic: TrafficExpectation;
}

/** A VTEP MAC that belongs to no node (locally administered, like Felix's 66: prefix). */
export const WRONG_VTEP_MAC = '66:de:ad:be:ef:01';
/** An underlay address nobody owns. */
export const WRONG_FDB_DST = '10.213.0.250';
/** Uplink MTU for the tunnel-MTU fault: vxlan.calico (1450) no longer fits (1400 - 50 = 1350). */
export const SHRUNK_UPLINK_MTU = 1400;

const BREAKS: TrafficExpectation = { small: 'breaks', big: 'breaks' };
const WORKS: TrafficExpectation = { small: 'works', big: 'works' };

const nodes = (lab: Lab, p: FaultParams): { n: LabNode; peer: LabNode } => ({ n: lab.node(p.node), peer: lab.node(p.peer) });

const ipIn = (lab: Lab, ns: string, ...args: string[]) => lab.sh.must(['ip', '-n', ns, ...args]);

/** Reprograms node's per-peer VXLAN state for one peer exactly as the lab (Felix) does. */
export const programPeer = async (lab: Lab, n: LabNode, peer: LabNode): Promise<void> => {
  await ipIn(lab, n.ns, 'route', 'replace', peer.block, 'via', peer.tunnelIp, 'dev', 'vxlan.calico', 'onlink', 'proto', '80');
  await ipIn(lab, n.ns, 'neigh', 'replace', peer.tunnelIp, 'lladdr', peer.vtepMac, 'dev', 'vxlan.calico', 'nud', 'permanent');
  await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'replace', peer.vtepMac, 'dev', 'vxlan.calico', 'dst', peer.nodeIp, 'self', 'permanent']);
};

const dropRuleSpec = (peer: LabNode): string[] => [
  '-s', peer.block, '-m', 'comment', '--comment', caliRuleId(`lab-fault-drop/${peer.block}`),
  '-m', 'comment', '--comment', 'lab fault: drop traffic from peer block', '-j', 'DROP',
];

/** A DROP of one peer's VXLAN packets at the top of cali-INPUT (not Felix's: a host firewall's). */
const encapDropSpec = (peer: LabNode): string[] => [
  '-s', `${peer.nodeIp}/32`, '-p', 'udp', '-m', 'udp', '--dport', String(VXLAN_PORT),
  '-m', 'comment', '--comment', 'lab fault: drop VXLAN from one peer', '-j', 'DROP',
];

const sysctlW = (key: string, value: number | string) => ['sysctl', '-q', '-w', `${key}=${value}`] as const;

export const FAULTS: Record<FaultKind, FaultDef> = {
  'neighbor-mac-wrong': {
    kind: 'neighbor-mac-wrong',
    describe: (p) => `${p.node}: neighbour entry for ${p.peer}'s tunnel IP has a wrong MAC (${WRONG_VTEP_MAC})`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await ipIn(lab, n.ns, 'neigh', 'replace', peer.tunnelIp, 'lladdr', WRONG_VTEP_MAC, 'dev', 'vxlan.calico', 'nud', 'permanent');
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await programPeer(lab, n, peer);
    },
    expected: (p) => ({ rule: 'vxlan-neighbor-mac-mismatch', node: p.node, peer: p.peer }),
    traffic: BREAKS,
  },
  'route-missing': {
    kind: 'route-missing',
    describe: (p) => `${p.node}: route to ${p.peer}'s block deleted`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await ipIn(lab, n.ns, 'route', 'del', peer.block, 'via', peer.tunnelIp, 'dev', 'vxlan.calico');
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await programPeer(lab, n, peer);
    },
    expected: (p) => ({ rule: 'route-missing', node: p.node, peer: p.peer }),
    traffic: BREAKS,
  },
  'return-route-missing': {
    kind: 'return-route-missing',
    describe: (p) => `${p.peer} (destination side): return route to ${p.node}'s block deleted`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await ipIn(lab, peer.ns, 'route', 'del', n.block, 'via', n.tunnelIp, 'dev', 'vxlan.calico');
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await programPeer(lab, peer, n);
    },
    expected: (p) => ({ rule: 'route-missing', node: p.peer, peer: p.node }),
    traffic: BREAKS,
  },
  'ip-forward-off': {
    kind: 'ip-forward-off',
    describe: (p) => `${p.node}: net.ipv4.ip_forward=0`,
    inject: async ({ lab }, p) => {
      await lab.exec(lab.node(p.node).ns, sysctlW('net.ipv4.ip_forward', 0));
    },
    remove: async ({ lab }, p) => {
      const n = lab.node(p.node);
      await lab.exec(n.ns, sysctlW('net.ipv4.ip_forward', 1));
      // Turning ip_forward on resets per-interface forwarding; restore what Felix sets on workloads.
      for (const pod of n.pods) await lab.exec(n.ns, sysctlW(`net.ipv4.conf.${pod.caliIf}.forwarding`, 1));
    },
    expected: (p) => ({ rule: 'ip-forward-disabled', node: p.node }),
    traffic: BREAKS,
  },
  'forward-drop': {
    kind: 'forward-drop',
    describe: (p) => `${p.node}: DROP rule at the top of cali-FORWARD for traffic from ${p.peer}'s block`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, [lab.flavour.iptables, '-w', '5', '-I', 'cali-FORWARD', '1', ...dropRuleSpec(peer)]);
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, [lab.flavour.iptables, '-w', '5', '-D', 'cali-FORWARD', ...dropRuleSpec(peer)]);
    },
    expected: (p) => ({ rule: 'iptables-drops-rising', node: p.node }),
    traffic: BREAKS,
  },
  'host-not-in-ipset': {
    kind: 'host-not-in-ipset',
    // the set guarding VXLAN: cali40all-vxlan-net (current Felix) or cali40all-hosts-net (older)
    describe: (p) => `${p.node}: ${p.peer}'s node IP missing from the set guarding VXLAN`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, ['ipset', 'del', lab.flavour.guardSet, peer.nodeIp]);
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, ['ipset', 'add', '-exist', lab.flavour.guardSet, peer.nodeIp]);
    },
    expected: (p) => ({ rule: 'host-not-in-allowed-set', node: p.node, peer: p.peer }),
    traffic: BREAKS,
  },
  'guard-set-flushed': {
    kind: 'guard-set-flushed',
    describe: (p) => `${p.node}: the set guarding VXLAN flushed (every peer's VXLAN dropped)`,
    inject: async ({ lab }, p) => {
      await lab.exec(lab.node(p.node).ns, ['ipset', 'flush', lab.flavour.guardSet]);
    },
    remove: async ({ lab }, p) => {
      const n = lab.node(p.node);
      for (const m of lab.nodes) await lab.exec(n.ns, ['ipset', 'add', '-exist', lab.flavour.guardSet, m.nodeIp]);
    },
    // a local check: the set is empty for every peer, so the finding names the set, not a peer
    expected: (p) => ({ rule: 'ipset-all-hosts-missing', node: p.node }),
    traffic: BREAKS,
  },
  'encap-drop-input': {
    kind: 'encap-drop-input',
    describe: (p) => `${p.node}: DROP of ${p.peer}'s VXLAN packets (source its node IP) at the top of cali-INPUT`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, [lab.flavour.iptables, '-w', '5', '-I', 'cali-INPUT', '1', ...encapDropSpec(peer)]);
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, [lab.flavour.iptables, '-w', '5', '-D', 'cali-INPUT', ...encapDropSpec(peer)]);
    },
    expected: (p) => ({ rule: 'host-not-in-allowed-set', node: p.node, peer: p.peer }),
    traffic: BREAKS,
  },
  'tunnel-down': {
    kind: 'tunnel-down',
    describe: (p) => `${p.node}: vxlan.calico set down`,
    inject: async ({ lab }, p) => {
      await ipIn(lab, lab.node(p.node).ns, 'link', 'set', 'vxlan.calico', 'down');
    },
    remove: async ({ lab }, p) => {
      const n = lab.node(p.node);
      await ipIn(lab, n.ns, 'link', 'set', 'vxlan.calico', 'up');
      // The kernel drops routes (and neighbours) through a device that goes down; Felix re-adds them.
      for (const peer of lab.nodes) if (peer !== n) await programPeer(lab, n, peer);
    },
    expected: (p) => ({ rule: 'tunnel-down', node: p.node }),
    traffic: BREAKS,
  },
  'agent-killed': {
    kind: 'agent-killed',
    describe: (p) => `${p.node}: calico-diag agent killed (SIGKILL)`,
    inject: async ({ agents }, p) => {
      if (!agents) throw new Error('agent-killed needs the lab processes (AgentControl)');
      await agents.killAgent(p.node);
    },
    remove: async ({ agents }, p) => {
      if (!agents) throw new Error('agent-killed needs the lab processes (AgentControl)');
      await agents.startAgent(p.node);
    },
    expected: (p) => ({ rule: 'agent-stale', node: p.node }),
    traffic: WORKS,
  },
  'felix-not-ready': {
    kind: 'felix-not-ready',
    describe: (p) => `${p.node}: Felix /readiness answers 503`,
    inject: async ({ lab }, p) => {
      lab.setFelixHealth(p.node, { live: true, ready: false });
    },
    remove: async ({ lab }, p) => {
      lab.setFelixHealth(p.node, null);
    },
    expected: (p) => ({ rule: 'felix-not-ready', node: p.node }),
    traffic: WORKS,
  },
  'fdb-wrong-dst': {
    kind: 'fdb-wrong-dst',
    describe: (p) => `${p.node}: FDB entry for ${p.peer}'s VTEP MAC points at ${WRONG_FDB_DST}`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'del', peer.vtepMac, 'dev', 'vxlan.calico', 'dst', peer.nodeIp, 'self']);
      await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'append', peer.vtepMac, 'dev', 'vxlan.calico', 'dst', WRONG_FDB_DST, 'self', 'permanent']);
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'del', peer.vtepMac, 'dev', 'vxlan.calico', 'dst', WRONG_FDB_DST, 'self']);
      await programPeer(lab, n, peer);
    },
    expected: (p) => ({ rule: 'vxlan-fdb-mismatch', node: p.node, peer: p.peer }),
    traffic: BREAKS,
  },
  'rp-filter-strict': {
    kind: 'rp-filter-strict',
    describe: (p) => `${p.node}: rp_filter=1 (strict) on vxlan.calico`,
    inject: async ({ lab }, p) => {
      await lab.exec(lab.node(p.node).ns, sysctlW('net/ipv4/conf/vxlan.calico/rp_filter', 1));
    },
    remove: async ({ lab }, p) => {
      await lab.exec(lab.node(p.node).ns, sysctlW('net/ipv4/conf/vxlan.calico/rp_filter', 0));
    },
    expected: (p) => ({ rule: 'rp-filter-strict', node: p.node }),
    // Routing is symmetric in a Calico VXLAN cluster, so strict RPF still passes pod traffic.
    traffic: WORKS,
  },
  'tunnel-mtu-too-big': {
    kind: 'tunnel-mtu-too-big',
    // The kernel refuses a vxlan MTU above its lower device's MTU - 50, so the mismatch is made the
    // way it happens in clusters: the uplink's MTU is smaller than the one Calico sized the tunnel for.
    describe: (p) => `${p.node}: uplink eth0 MTU ${SHRUNK_UPLINK_MTU} while vxlan.calico stays ${VXLAN_MTU} (needs <= ${SHRUNK_UPLINK_MTU - 50})`,
    inject: async ({ lab }, p) => {
      await ipIn(lab, lab.node(p.node).ns, 'link', 'set', 'eth0', 'mtu', String(SHRUNK_UPLINK_MTU));
    },
    remove: async ({ lab }, p) => {
      await ipIn(lab, lab.node(p.node).ns, 'link', 'set', 'eth0', 'mtu', String(UPLINK_MTU));
    },
    expected: (p) => ({ rule: 'tunnel-mtu', node: p.node }),
    // Small packets pass; full-size ones no longer fit the uplink once encapsulated.
    traffic: { small: 'works', big: 'breaks' },
  },
  'neighbor-not-permanent': {
    kind: 'neighbor-not-permanent',
    describe: (p) => `${p.node}: neighbour entry for ${p.peer}'s tunnel IP is not PERMANENT (nud reachable)`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await ipIn(lab, n.ns, 'neigh', 'replace', peer.tunnelIp, 'lladdr', peer.vtepMac, 'dev', 'vxlan.calico', 'nud', 'reachable');
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await programPeer(lab, n, peer);
    },
    // A local (agent) check: it sees the tunnel IP, not whose it is, so the finding names no peer.
    expected: (p) => ({ rule: 'vxlan-neighbor-not-permanent', node: p.node }),
    // Works until the entry ages out and ARP over the tunnel has to answer instead of Felix.
    traffic: WORKS,
  },
};

export interface InjectedFault {
  def: FaultDef;
  params: FaultParams;
  description: string;
  expected: ExpectedFinding;
  remove(): Promise<void>;
}

/** Injects a fault and returns a handle whose remove() is idempotent. */
export const injectFault = async (ctx: FaultContext, kind: FaultKind, params: FaultParams): Promise<InjectedFault> => {
  const def = FAULTS[kind];
  await def.inject(ctx, params);
  let removal: Promise<void> | undefined;
  return {
    def,
    params,
    description: def.describe(params),
    expected: def.expected(params),
    remove: () => (removal ??= def.remove(ctx, params)),
  };
};
