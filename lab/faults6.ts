/**
 * The IPv6 counterparts of the lab's VXLAN faults (#15), for dual-stack labs
 * (`createLab({ dualStack: true })`). Like lab/faults.ts each changes state on exactly one node
 * (`node`, the holder of the wrong state) about one peer, names the finding the tool must raise,
 * and removal restores what Felix programs. Under each fault the pair's IPv6 pod traffic breaks
 * while IPv4 keeps working (asserted by test/lab/dualstack.test.ts).
 */
import type { Lab, LabNode, LabNode6 } from './topology.js';
import { ALL_VXLAN_IPSET6, VXLAN6_DEVICE, VXLAN_PORT, programPeer6 } from './topology.js';
import type { ExpectedFinding, FaultParams } from './faults.js';
import { WRONG_VTEP_MAC } from './faults.js';

export type Fault6Kind =
  | 'host-not-in-ipset6'
  | 'guard-set6-flushed'
  | 'neighbor-mac-wrong6'
  | 'route-missing6'
  | 'encap-drop-input6'
  | 'fdb-wrong-dst6'
  | 'ip6-forward-off';

export interface Fault6Def {
  kind: Fault6Kind;
  describe(p: FaultParams): string;
  inject(lab: Lab, p: FaultParams): Promise<void>;
  remove(lab: Lab, p: FaultParams): Promise<void>;
  expected(p: FaultParams): ExpectedFinding;
}

const v6of = (n: LabNode): LabNode6 => {
  if (!n.v6) throw new Error(`${n.name} is not dual-stack (createLab({ dualStack: true }))`);
  return n.v6;
};
const pair = (lab: Lab, p: FaultParams): { n: LabNode; peer: LabNode; peer6: LabNode6 } => {
  const n = lab.node(p.node);
  const peer = lab.node(p.peer);
  v6of(n);
  return { n, peer, peer6: v6of(peer) };
};

/** A host firewall's DROP of one peer's IPv6 VXLAN packets at the top of the ip6tables cali-INPUT. */
const encapDropSpec6 = (peer6: LabNode6): string[] => [
  '-s', `${peer6.nodeIp}/128`, '-p', 'udp', '-m', 'udp', '--dport', String(VXLAN_PORT),
  '-m', 'comment', '--comment', 'lab fault: drop IPv6 VXLAN from one peer', '-j', 'DROP',
];

const IP6TABLES = 'ip6tables-nft';
/** An IPv6 underlay address nobody owns. */
export const WRONG_FDB_DST6 = 'fd00:cd::fa';

export const FAULTS6: Record<Fault6Kind, Fault6Def> = {
  'host-not-in-ipset6': {
    kind: 'host-not-in-ipset6',
    describe: (p) => `${p.node}: ${p.peer}'s IPv6 node address missing from ${ALL_VXLAN_IPSET6}`,
    inject: async (lab, p) => {
      const { n, peer6 } = pair(lab, p);
      await lab.exec(n.ns, ['ipset', 'del', ALL_VXLAN_IPSET6, peer6.nodeIp]);
    },
    remove: async (lab, p) => {
      const { n, peer6 } = pair(lab, p);
      await lab.exec(n.ns, ['ipset', 'add', '-exist', ALL_VXLAN_IPSET6, peer6.nodeIp]);
    },
    expected: (p) => ({ rule: 'host-not-in-allowed-set', node: p.node, peer: p.peer }),
  },
  'guard-set6-flushed': {
    kind: 'guard-set6-flushed',
    describe: (p) => `${p.node}: ${ALL_VXLAN_IPSET6} flushed (every peer's IPv6 VXLAN dropped)`,
    inject: async (lab, p) => {
      await lab.exec(lab.node(p.node).ns, ['ipset', 'flush', ALL_VXLAN_IPSET6]);
    },
    remove: async (lab, p) => {
      const n = lab.node(p.node);
      for (const m of lab.nodes) await lab.exec(n.ns, ['ipset', 'add', '-exist', ALL_VXLAN_IPSET6, v6of(m).nodeIp]);
    },
    expected: (p) => ({ rule: 'ipset-all-hosts-missing', node: p.node }),
  },
  'neighbor-mac-wrong6': {
    kind: 'neighbor-mac-wrong6',
    describe: (p) => `${p.node}: IPv6 neighbour for ${p.peer}'s tunnel address on ${VXLAN6_DEVICE} has a wrong MAC (${WRONG_VTEP_MAC})`,
    inject: async (lab, p) => {
      const { n, peer6 } = pair(lab, p);
      await lab.sh.must(['ip', '-n', n.ns, '-6', 'neigh', 'replace', peer6.tunnelIp, 'lladdr', WRONG_VTEP_MAC, 'dev', VXLAN6_DEVICE, 'nud', 'permanent']);
    },
    remove: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await programPeer6(lab, n, peer);
    },
    expected: (p) => ({ rule: 'vxlan-neighbor-mac-mismatch', node: p.node, peer: p.peer }),
  },
  'route-missing6': {
    kind: 'route-missing6',
    describe: (p) => `${p.node}: route to ${p.peer}'s IPv6 block deleted`,
    inject: async (lab, p) => {
      const { n, peer6 } = pair(lab, p);
      await lab.sh.must(['ip', '-n', n.ns, '-6', 'route', 'del', peer6.block, 'via', peer6.tunnelIp, 'dev', VXLAN6_DEVICE]);
    },
    remove: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await programPeer6(lab, n, peer);
    },
    expected: (p) => ({ rule: 'route-missing', node: p.node, peer: p.peer }),
  },
  'encap-drop-input6': {
    kind: 'encap-drop-input6',
    describe: (p) => `${p.node}: ip6tables DROP of ${p.peer}'s IPv6 VXLAN packets at the top of cali-INPUT`,
    inject: async (lab, p) => {
      const { n, peer6 } = pair(lab, p);
      await lab.exec(n.ns, [IP6TABLES, '-w', '5', '-I', 'cali-INPUT', '1', ...encapDropSpec6(peer6)]);
    },
    remove: async (lab, p) => {
      const { n, peer6 } = pair(lab, p);
      await lab.exec(n.ns, [IP6TABLES, '-w', '5', '-D', 'cali-INPUT', ...encapDropSpec6(peer6)]);
    },
    expected: (p) => ({ rule: 'host-not-in-allowed-set', node: p.node, peer: p.peer }),
  },
  'fdb-wrong-dst6': {
    kind: 'fdb-wrong-dst6',
    describe: (p) => `${p.node}: FDB entry for ${p.peer}'s IPv6 VTEP MAC on ${VXLAN6_DEVICE} points at ${WRONG_FDB_DST6}`,
    inject: async (lab, p) => {
      const { n, peer6 } = pair(lab, p);
      await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'del', peer6.vtepMac, 'dev', VXLAN6_DEVICE, 'dst', peer6.nodeIp, 'self']);
      await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'append', peer6.vtepMac, 'dev', VXLAN6_DEVICE, 'dst', WRONG_FDB_DST6, 'self', 'permanent']);
    },
    remove: async (lab, p) => {
      const { n, peer, peer6 } = pair(lab, p);
      await lab.sh.must(['bridge', '-n', n.ns, 'fdb', 'del', peer6.vtepMac, 'dev', VXLAN6_DEVICE, 'dst', WRONG_FDB_DST6, 'self']);
      await programPeer6(lab, n, peer);
    },
    expected: (p) => ({ rule: 'vxlan-fdb-mismatch', node: p.node, peer: p.peer }),
  },
  'ip6-forward-off': {
    kind: 'ip6-forward-off',
    describe: (p) => `${p.node}: net.ipv6.conf.all.forwarding=0`,
    inject: async (lab, p) => {
      await lab.exec(lab.node(p.node).ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=0']);
    },
    remove: async (lab, p) => {
      // all.forwarding=1 turns forwarding on for every interface again (the workloads' included)
      await lab.exec(lab.node(p.node).ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    },
    // a local check: the node forwards no IPv6 at all, so the finding names no peer
    expected: (p) => ({ rule: 'ip-forward-disabled', node: p.node }),
  },
};

export interface InjectedFault6 {
  def: Fault6Def;
  description: string;
  expected: ExpectedFinding;
  remove(): Promise<void>;
}

/** Injects an IPv6 fault and returns a handle whose remove() is idempotent. */
export const injectFault6 = async (lab: Lab, kind: Fault6Kind, params: FaultParams): Promise<InjectedFault6> => {
  const def = FAULTS6[kind];
  await def.inject(lab, params);
  let removal: Promise<void> | undefined;
  return { def, description: def.describe(params), expected: def.expected(params), remove: () => (removal ??= def.remove(lab, params)) };
};
