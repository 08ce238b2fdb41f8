/**
 * Faults of the BGP lab modes (#19), injectable into a running BGP lab and removable again, in the
 * shape of lab/faults.ts: which node holds the wrong state, which findings the tool must raise
 * (rule, node, peer) and what pod traffic between node and peer does.
 *  - bgp-session-filtered: node drops TCP 179 from peer (one direction only); both BIRDs are made
 *    to reconnect, so the session cannot come back; without encapsulation the pair loses routes;
 *  - bgp-wrong-as: node's BIRD expects peer in AS 64513 (the peer is 64512);
 *  - bgp-block-not-exported: node's export filter leaves its own block out: every peer loses the
 *    route to it while all sessions stay Established;
 *  - route-form-tunnel (CrossSubnet): node routes a same-subnet peer's block through vxlan.calico;
 *  - route-form-direct (CrossSubnet): node routes an other-subnet peer's block directly via the
 *    peer's node IP (onlink on eth0), which the underlay cannot deliver.
 */
import { birdc, meshProtocolName, reconfigureBird } from './bird.js';
import type { ExpectedFinding, TrafficExpectation } from './faults.js';
import type { Lab, LabNode } from './topology.js';
import { CALICO_AS } from './bird.js';

export type BgpFaultKind = 'bgp-session-filtered' | 'bgp-wrong-as' | 'bgp-block-not-exported' | 'route-form-tunnel' | 'route-form-direct';

export interface BgpFaultParams {
  node: string;
  peer: string;
}

export interface BgpFaultDef {
  kind: BgpFaultKind;
  describe(lab: Lab, p: BgpFaultParams): string;
  inject(lab: Lab, p: BgpFaultParams): Promise<void>;
  remove(lab: Lab, p: BgpFaultParams): Promise<void>;
  /** every finding the fault must raise */
  expected(lab: Lab, p: BgpFaultParams): ExpectedFinding[];
  traffic: TrafficExpectation;
}

export const WRONG_AS = CALICO_AS + 1;

const pair = (lab: Lab, p: BgpFaultParams): { n: LabNode; peer: LabNode } => ({ n: lab.node(p.node), peer: lab.node(p.peer) });

const bird = (lab: Lab, name: string) => {
  const b = lab.birds.get(name);
  if (!b) throw new Error(`${name} runs no BIRD: BGP faults need a lab with routing: bgp`);
  return b;
};

const filterSpec = (peer: LabNode): string[] => ['-p', 'tcp', '-s', peer.nodeIp, '--dport', '179', '-m', 'comment', '--comment', 'lab fault: BGP from peer filtered', '-j', 'DROP'];

/** Drops the live session on both ends so that it must reconnect (through the filter, if any). */
const resetSession = async (lab: Lab, n: LabNode, peer: LabNode): Promise<void> => {
  await birdc(lab.sh, bird(lab, n.name), 'restart', meshProtocolName(peer.nodeIp));
  await birdc(lab.sh, bird(lab, peer.name), 'restart', meshProtocolName(n.nodeIp));
};

const ip = (lab: Lab, ns: string, ...args: string[]) => lab.sh.must(['ip', '-n', ns, ...args]);

export const BGP_FAULTS: Record<BgpFaultKind, BgpFaultDef> = {
  'bgp-session-filtered': {
    kind: 'bgp-session-filtered',
    describe: (lab, p) => `${p.node}: TCP 179 from ${p.peer} (${lab.node(p.peer).nodeIp}) dropped in INPUT; the session is reset`,
    inject: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await lab.exec(n.ns, ['iptables', '-w', '5', '-I', 'INPUT', '1', ...filterSpec(peer)]);
      await resetSession(lab, n, peer);
    },
    remove: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await lab.exec(n.ns, ['iptables', '-w', '5', '-D', 'INPUT', ...filterSpec(peer)]);
    },
    expected: (lab, p) => [
      { rule: 'bgp-session-down', node: p.node, peer: p.peer },
      { rule: 'bgp-session-down', node: p.peer, peer: p.node },
      { rule: 'bgp-peer-down', node: p.node },
      { rule: 'bgp-peer-down', node: p.peer },
      ...(lab.routing.encapsulation === 'none'
        ? [
            { rule: 'route-missing', node: p.node, peer: p.peer },
            { rule: 'route-missing', node: p.peer, peer: p.node },
          ]
        : []),
    ],
    traffic: { small: 'breaks', big: 'breaks' },
  },
  'bgp-wrong-as': {
    kind: 'bgp-wrong-as',
    describe: (_lab, p) => `${p.node}: BIRD expects ${p.peer} in AS ${WRONG_AS} (it is in AS ${CALICO_AS})`,
    inject: async (lab, p) => {
      const c = lab.birdConfig(p.node);
      const peerIp = lab.node(p.peer).nodeIp;
      await reconfigureBird(lab.sh, bird(lab, p.node), { ...c, peers: c.peers.map((x) => (x.nodeIp === peerIp ? { ...x, as: WRONG_AS } : x)) });
      await resetSession(lab, lab.node(p.node), lab.node(p.peer));
    },
    remove: async (lab, p) => {
      await reconfigureBird(lab.sh, bird(lab, p.node), lab.birdConfig(p.node));
      // after refused OPENs BIRD waits (error wait time 5..60 s) before it tries again: start over now
      await resetSession(lab, lab.node(p.node), lab.node(p.peer));
    },
    expected: (lab, p) => [
      { rule: 'bgp-session-down', node: p.node, peer: p.peer },
      { rule: 'bgp-session-down', node: p.peer, peer: p.node },
      ...(lab.routing.encapsulation === 'none'
        ? [
            { rule: 'route-missing', node: p.node, peer: p.peer },
            { rule: 'route-missing', node: p.peer, peer: p.node },
          ]
        : []),
    ],
    traffic: { small: 'breaks', big: 'breaks' },
  },
  'bgp-block-not-exported': {
    kind: 'bgp-block-not-exported',
    describe: (lab, p) => `${p.node}: BIRD's export filter leaves out its block ${lab.node(p.node).block}`,
    inject: async (lab, p) => {
      const c = lab.birdConfig(p.node);
      await reconfigureBird(lab.sh, bird(lab, p.node), { ...c, unexportedBlocks: [lab.node(p.node).block] });
    },
    remove: async (lab, p) => {
      await reconfigureBird(lab.sh, bird(lab, p.node), lab.birdConfig(p.node));
    },
    // the peers lose the route to node's block: route-missing on each of them, naming node
    expected: (lab, p) => lab.nodes.filter((x) => x.name !== p.node).map((x) => ({ rule: 'route-missing', node: x.name, peer: p.node })),
    traffic: { small: 'breaks', big: 'breaks' },
  },
  'route-form-tunnel': {
    kind: 'route-form-tunnel',
    describe: (_lab, p) => `${p.node}: ${p.peer}'s block (same subnet) routed through vxlan.calico instead of directly`,
    inject: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await ip(lab, n.ns, 'route', 'replace', peer.block, 'via', peer.tunnelIp, 'dev', 'vxlan.calico', 'onlink', 'proto', '80');
    },
    remove: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await ip(lab, n.ns, 'route', 'replace', peer.block, 'via', peer.nodeIp, 'dev', 'eth0', 'proto', '80');
    },
    expected: (_lab, p) => [{ rule: 'route-wrong-form', node: p.node, peer: p.peer }],
    // encapsulated traffic between two nodes that both have VTEPs still arrives
    traffic: { small: 'works', big: 'works' },
  },
  'route-form-direct': {
    kind: 'route-form-direct',
    describe: (_lab, p) => `${p.node}: ${p.peer}'s block (other subnet) routed directly via its node IP instead of through vxlan.calico`,
    inject: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await ip(lab, n.ns, 'route', 'replace', peer.block, 'via', peer.nodeIp, 'dev', 'eth0', 'onlink', 'proto', '80');
    },
    remove: async (lab, p) => {
      const { n, peer } = pair(lab, p);
      await ip(lab, n.ns, 'route', 'replace', peer.block, 'via', peer.tunnelIp, 'dev', 'vxlan.calico', 'onlink', 'proto', '80');
      // the ARP entry for the unreachable node IP stays FAILED for minutes: forget it, as a reboot would
      await lab.sh.try(['ip', '-n', n.ns, 'neigh', 'del', peer.nodeIp, 'dev', 'eth0']);
    },
    expected: (_lab, p) => [{ rule: 'route-wrong-form', node: p.node, peer: p.peer }],
    traffic: { small: 'breaks', big: 'breaks' },
  },
};

export interface InjectedBgpFault {
  def: BgpFaultDef;
  params: BgpFaultParams;
  description: string;
  expected: ExpectedFinding[];
  remove(): Promise<void>;
}

/** Injects a BGP-lab fault; remove() is idempotent. */
export const injectBgpFault = async (lab: Lab, kind: BgpFaultKind, params: BgpFaultParams): Promise<InjectedBgpFault> => {
  const def = BGP_FAULTS[kind];
  await def.inject(lab, params);
  let removal: Promise<void> | undefined;
  return {
    def,
    params,
    description: def.describe(lab, params),
    expected: def.expected(lab, params),
    remove: () => (removal ??= def.remove(lab, params)),
  };
};
