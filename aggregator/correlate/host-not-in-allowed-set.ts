/**
 * host-not-in-allowed-set: node B's all-hosts ipset (cali40all-hosts-net, older felix-calico-hosts-4;
 * cali60all-hosts-net for IPv6) must contain the address node A's encapsulated traffic comes from,
 * or B's "drop VXLAN/IPIP packets from non-Calico hosts" rule drops A's traffic. Finding on B (who
 * holds the set), peer A. Checked only when B's ipsets section is ok and the set exists there.
 * CIDR members count by containment; only peers whose encapsulation source addresses are known
 * and theirs alone are judged (Cluster.peersNotInHostSets).
 */
import type { FindingDraft } from '../../contract/finding.js';
import { HOST_SET_NAMES, type NodeView } from '../cluster/cluster.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'host-not-in-allowed-set';

const REMEDY =
  "The peer's address is missing from this node's all-hosts ipset, so encapsulated (VXLAN/IPIP) packets from it are " +
  'dropped by the "from non-Calico hosts" rule. The set is built from the Node resources: check the peer\'s Node ' +
  'addresses (projectcalico.org/IPv4Address, status.addresses) include the address it sends from (`ip -d link show ' +
  'vxlan.calico`: local); fix the autodetection method (IP_AUTODETECTION_METHOD) on the peer if not, then let Felix ' +
  'here resync (restart calico-node).';

export const hostNotInAllowedSet: CorrelateRule = {
  id: RULE_ID,
  description: "B's all-hosts ipset lacks A's node IP",
  run(cluster) {
    const out: FindingDraft[] = [];
    for (const b of cluster.fresh) {
      for (const family of ['inet', 'inet6'] as const) {
        const refused = cluster.peersNotInHostSets(b, family, HOST_SET_NAMES[family]);
        if (refused === null) continue;
        for (const a of refused.peers) out.push(draftFor(b, a, a.encapSources(family), refused.sets));
      }
    }
    return out;
  },
};

const draftFor = (b: NodeView, a: NodeView, wanted: string[], setNames: string[]): FindingDraft => ({
  rule: RULE_ID,
  severity: 'critical',
  node: b.name,
  peer: a.name,
  subject: `${setNames[0]}:${wanted[0]}`,
  summary: `${b.name}'s ${setNames.join('/')} lacks ${a.name}'s address ${wanted.join(' / ')}: its encapsulated traffic is dropped on ${b.name}`,
  evidence: {
    seen: `${setNames.join(', ')} on ${b.name} has no member ${wanted.join(' or ')}`,
    expected: `${wanted[0]} in ${setNames[0]}`,
    details: { sets: setNames, peerAddresses: wanted, peerNodeIPs: a.underlayIPs },
  },
  remedy: REMEDY,
});
