/**
 * Faults a Calico VXLAN node can have, each injectable into a running lab and removable again.
 * Each fault changes state on exactly one node (`holder`): the node whose state is wrong, which is
 * the node a diagnosis must name. `peer` is the other node the wrong state is about.
 *
 * For each fault the definition says which finding the tool should raise (rule id, node, peer) and
 * what pod traffic does: 'breaks' (the kernel drops it), 'works', or 'kernel' (depends on packet
 * size/path; tests assert whatever the kernel really does with ping). Stateless: inject/remove act
 * on the lab only; removal restores the state Felix would have programmed.
 */
import type { Lab, LabNode } from './topology.js';
import { ALL_HOSTS_IPSET, VXLAN_MTU, caliRuleId } from './topology.js';

export type FaultKind =
  | 'neighbor-mac-wrong'
  | 'route-missing'
  | 'return-route-missing'
  | 'ip-forward-off'
  | 'forward-drop'
  | 'host-not-in-ipset'
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

export type TrafficEffect = 'breaks' | 'works' | 'kernel';

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
  /** effect on pod traffic from node's pod to peer's pod (and back) */
  traffic: TrafficEffect;
}

/** A VTEP MAC that belongs to no node (locally administered, like Felix's 66: prefix). */
export const WRONG_VTEP_MAC = '66:de:ad:be:ef:01';
/** An underlay address nobody owns. */
export const WRONG_FDB_DST = '10.213.0.250';
export const TOO_BIG_TUNNEL_MTU = 1500;

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
    traffic: 'breaks',
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
    traffic: 'breaks',
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
    traffic: 'breaks',
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
    traffic: 'breaks',
  },
  'forward-drop': {
    kind: 'forward-drop',
    describe: (p) => `${p.node}: DROP rule at the top of cali-FORWARD for traffic from ${p.peer}'s block`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, ['iptables', '-w', '5', '-I', 'cali-FORWARD', '1', ...dropRuleSpec(peer)]);
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, ['iptables', '-w', '5', '-D', 'cali-FORWARD', ...dropRuleSpec(peer)]);
    },
    expected: (p) => ({ rule: 'iptables-drops-rising', node: p.node }),
    traffic: 'breaks',
  },
  'host-not-in-ipset': {
    kind: 'host-not-in-ipset',
    describe: (p) => `${p.node}: ${p.peer}'s node IP missing from ${ALL_HOSTS_IPSET}`,
    inject: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, ['ipset', 'del', ALL_HOSTS_IPSET, peer.nodeIp]);
    },
    remove: async ({ lab }, p) => {
      const { n, peer } = nodes(lab, p);
      await lab.exec(n.ns, ['ipset', 'add', '-exist', ALL_HOSTS_IPSET, peer.nodeIp]);
    },
    expected: (p) => ({ rule: 'host-not-in-allowed-set', node: p.node, peer: p.peer }),
    traffic: 'breaks',
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
    traffic: 'breaks',
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
    traffic: 'works',
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
    traffic: 'works',
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
    traffic: 'breaks',
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
    traffic: 'kernel',
  },
  'tunnel-mtu-too-big': {
    kind: 'tunnel-mtu-too-big',
    describe: (p) => `${p.node}: vxlan.calico MTU ${TOO_BIG_TUNNEL_MTU} (uplink 1500 leaves room for ${VXLAN_MTU})`,
    inject: async ({ lab }, p) => {
      await ipIn(lab, lab.node(p.node).ns, 'link', 'set', 'vxlan.calico', 'mtu', String(TOO_BIG_TUNNEL_MTU));
    },
    remove: async ({ lab }, p) => {
      await ipIn(lab, lab.node(p.node).ns, 'link', 'set', 'vxlan.calico', 'mtu', String(VXLAN_MTU));
    },
    expected: (p) => ({ rule: 'tunnel-mtu', node: p.node }),
    traffic: 'kernel',
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
    expected: (p) => ({ rule: 'vxlan-neighbor-not-permanent', node: p.node, peer: p.peer }),
    traffic: 'kernel',
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
