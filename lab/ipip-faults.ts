/**
 * The runbook's faults in the IPIP lab (#19): a client node that cannot reach a pod on a server
 * node, each with the one wrong piece of state the manual tcpdump hunt (client tunl0 out → client
 * uplink out → server uplink in → server tunl0 in → reply path) would lead to:
 *  - block-route-missing: the client has no route to the server's block via tunl0;
 *  - client-not-in-set: the server's guarding set (cali40all-hosts-net) lacks the client's node IP,
 *    so Felix's IPIP guard drops the client's IPIP packets;
 *  - forward-drop: a DROP at the top of the server's cali-FORWARD counts the client's packets
 *    (decapsulated, on their way to the pod);
 *  - reply-route-missing: the server has no route back to the client's block.
 * Each is injected into a running IPIP lab and removed again, restoring what calico-node would
 * have programmed. Stateless: inject/remove act on the lab only.
 */
import type { ExpectedFinding } from './faults.js';
import { IPIP_DEVICE, caliRuleId, programIpipPeer, type Lab, type LabNode } from './topology.js';

export type IpipFaultKind = 'block-route-missing' | 'client-not-in-set' | 'forward-drop' | 'reply-route-missing';

export interface IpipFaultParams {
  client: string;
  server: string;
}

export interface InjectedIpipFault {
  kind: IpipFaultKind;
  description: string;
  /** the root finding: the node holding the wrong state */
  expected: ExpectedFinding;
  remove(): Promise<void>;
}

interface Def {
  describe(c: LabNode, s: LabNode): string;
  inject(lab: Lab, c: LabNode, s: LabNode): Promise<void>;
  remove(lab: Lab, c: LabNode, s: LabNode): Promise<void>;
  expected(c: LabNode, s: LabNode): ExpectedFinding;
}

/** A DROP of traffic from the client's block (not Felix's rule: a host firewall's). */
const forwardDropSpec = (c: LabNode): string[] => [
  '-s', c.block, '-m', 'comment', '--comment', caliRuleId(`lab-fault-ipip-drop/${c.block}`),
  '-m', 'comment', '--comment', 'lab fault: drop traffic from the client block', '-j', 'DROP',
];

const DEFS: Record<IpipFaultKind, Def> = {
  'block-route-missing': {
    describe: (c, s) => `${c.name}: route to ${s.name}'s block ${s.block} via ${IPIP_DEVICE} deleted`,
    inject: async (lab, c, s) => {
      await lab.sh.must(['ip', '-n', c.ns, 'route', 'del', s.block, 'via', s.nodeIp, 'dev', IPIP_DEVICE]);
    },
    remove: (lab, c, s) => programIpipPeer(lab, c, s),
    expected: (c, s) => ({ rule: 'route-missing', node: c.name, peer: s.name }),
  },
  'client-not-in-set': {
    describe: (c, s) => `${s.name}: ${c.name}'s node IP ${c.nodeIp} missing from ${s.name}'s guarding set`,
    inject: async (lab, c, s) => {
      await lab.exec(s.ns, ['ipset', 'del', lab.flavour.guardSet, c.nodeIp]);
    },
    remove: async (lab, c, s) => {
      await lab.exec(s.ns, ['ipset', 'add', '-exist', lab.flavour.guardSet, c.nodeIp]);
    },
    expected: (c, s) => ({ rule: 'host-not-in-allowed-set', node: s.name, peer: c.name }),
  },
  'forward-drop': {
    describe: (c, s) => `${s.name}: DROP at the top of cali-FORWARD for traffic from ${c.name}'s block ${c.block}`,
    inject: async (lab, c, s) => {
      await lab.exec(s.ns, [lab.flavour.iptables, '-w', '5', '-I', 'cali-FORWARD', '1', ...forwardDropSpec(c)]);
    },
    remove: async (lab, c, s) => {
      await lab.exec(s.ns, [lab.flavour.iptables, '-w', '5', '-D', 'cali-FORWARD', ...forwardDropSpec(c)]);
    },
    expected: (_c, s) => ({ rule: 'iptables-drops-rising', node: s.name }),
  },
  'reply-route-missing': {
    describe: (c, s) => `${s.name}: return route to ${c.name}'s block ${c.block} via ${IPIP_DEVICE} deleted`,
    inject: async (lab, c, s) => {
      await lab.sh.must(['ip', '-n', s.ns, 'route', 'del', c.block, 'via', c.nodeIp, 'dev', IPIP_DEVICE]);
    },
    remove: (lab, c, s) => programIpipPeer(lab, s, c),
    expected: (c, s) => ({ rule: 'route-missing', node: s.name, peer: c.name }),
  },
};

/** Injects a fault into an IPIP lab; remove() is idempotent. */
export const injectIpipFault = async (lab: Lab, kind: IpipFaultKind, p: IpipFaultParams): Promise<InjectedIpipFault> => {
  if (lab.routing.encapsulation !== 'ipip') throw new Error(`${kind} is an IPIP fault; this lab encapsulates with ${lab.routing.encapsulation}`);
  const def = DEFS[kind];
  const c = lab.node(p.client);
  const s = lab.node(p.server);
  await def.inject(lab, c, s);
  let removal: Promise<void> | undefined;
  return { kind, description: def.describe(c, s), expected: def.expected(c, s), remove: () => (removal ??= def.remove(lab, c, s)) };
};
