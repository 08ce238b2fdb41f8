/**
 * host-not-in-allowed-set: every set that decides which peers may send node B encapsulated traffic
 * must contain the address node A's encapsulated traffic comes from, or B's guard drops A's
 * traffic. The sets are the ones B's own rules use (B's iptables encapGuards, #15: current Felix's
 * ACCEPT of `cali40all-vxlan-net` / `cali60all-vxlan-net` sources before its catch-all DROP,
 * `cali40all-hosts-net` for IPIP, older releases' negated DROP on `cali40all-hosts-net` or
 * `felix-calico-hosts-4`); a report without encapGuards falls back to the fixed all-hosts names
 * (allowedSetGroups). Finding on B (who holds the set), peer A. Checked only when B's ipsets
 * section is ok and the set's members are there (an absent or empty set is ipset-all-hosts-missing
 * on B, not N findings here). CIDR members count by containment; only peers whose encapsulation
 * source addresses are known and theirs alone are judged (Cluster.peersNotInHostSets).
 * Also (#15): a DROP/REJECT rule on B that matches encapsulated packets from A's source address
 * (`-s`, an address or a CIDR holding it) outside the output and forward paths drops A's traffic
 * just the same: finding on B naming A and the rule.
 */
import { contains, parseCidr, stripHostPrefix } from '../../common/net.js';
import type { FindingDraft } from '../../contract/finding.js';
import type { IptablesDropRule } from '../../contract/snapshot.js';
import { allowedSetGroups, type Cluster, type NodeView } from '../cluster/cluster.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'host-not-in-allowed-set';

/** The remedy names the family's Node address field, autodetection setting and device (#15). */
const remedy = (v6: boolean): string =>
  "The peer's address is missing from this node's all-hosts ipset, so encapsulated (VXLAN/IPIP) packets from it are " +
  'dropped by the "from non-Calico hosts" rule. The set is built from the Node resources: check the peer\'s Node ' +
  `addresses (projectcalico.org/${v6 ? 'IPv6Address' : 'IPv4Address'}, status.addresses) include the address it sends from (\`ip -d link show ` +
  `${v6 ? 'vxlan-v6.calico' : 'vxlan.calico'}\`: local); fix the autodetection method (${v6 ? 'IP6_AUTODETECTION_METHOD' : 'IP_AUTODETECTION_METHOD'}) on the peer if not, then let Felix ` +
  'here resync (restart calico-node).';

export const hostNotInAllowedSet: CorrelateRule = {
  id: RULE_ID,
  description: "A set guarding B's encapsulated traffic lacks A's address, or a rule on B drops A's encapsulated packets",
  run(cluster) {
    const out: FindingDraft[] = [];
    for (const b of cluster.fresh) {
      out.push(...dropRuleFindings(cluster, b));
      const groups = allowedSetGroups(b.state);
      for (const family of ['inet', 'inet6'] as const) {
        for (const names of groups[family]) {
          const refused = cluster.peersNotInHostSets(b, family, names);
          if (refused === null) continue;
          for (const a of refused.peers) out.push(draftFor(b, a, a.encapSources(family), refused.sets, groups.fromGuards));
        }
      }
    }
    return out;
  },
};

const guardsOf = (b: NodeView, setName: string) => {
  const ipt = b.state.report.sections.iptables;
  return ipt.status === 'ok' ? (ipt.data.encapGuards ?? []).filter((g) => g.set === setName) : [];
};

const draftFor = (b: NodeView, a: NodeView, wanted: string[], setNames: string[], fromGuards: boolean): FindingDraft => {
  const guards = fromGuards ? guardsOf(b, setNames[0] as string) : [];
  const rules = guards.map((g) => `${g.chain} rule ${g.drop.index} (${g.form}, ${g.encapsulation.toUpperCase()}${g.drop.caliId !== null ? `, cali:${g.drop.caliId}` : ''})`);
  return {
    rule: RULE_ID,
    severity: 'critical',
    node: b.name,
    peer: a.name,
    subject: `${setNames[0]}:${wanted[0]}`,
    summary: `${b.name}'s ${setNames.join('/')} lacks ${a.name}'s address ${wanted.join(' / ')}: its encapsulated traffic is dropped on ${b.name}${rules.length > 0 ? ` by ${rules.join(', ')}` : ''}`,
    evidence: {
      seen: `${setNames.join(', ')} on ${b.name} has no member ${wanted.join(' or ')}`,
      expected: `${wanted[0]} in ${setNames[0]}`,
      details: {
        sets: setNames,
        peerAddresses: wanted,
        peerNodeIPs: a.underlayIPs,
        guards: guards.map((g) => ({ family: g.family, encapsulation: g.encapsulation, form: g.form, table: g.table, chain: g.chain, index: g.drop.index, caliId: g.drop.caliId, droppedPackets: g.drop.packets })),
      },
    },
    remedy: remedy((wanted[0] ?? '').includes(':')),
  };
};

/** Chains on the path of packets leaving or passing through the node: not where arriving encapsulated traffic is dropped. */
// (Calico's nftables dataplane prefixes its chains with the iptables table: filter-cali-tw-…)
const NOT_INPUT = /OUTPUT|POSTROUTING|FORWARD|^(filter-)?cali-(tw|fw|pri|pro|pi|po)-/;

const remedyDrop = (family: string): string =>
  "A rule on this node drops the peer's encapsulated (VXLAN/IPIP) packets by their source address, so pod traffic from the peer is lost here. " +
  `Felix writes no such rule: find who added it (its comment, \`${family === 'ipv6' ? 'ip6tables-save' : 'iptables-save'} -c | grep -- '-s <peer address>'\`, firewall tools such as firewalld or a host hardening script) and remove it.`;

/** The fresh nodes whose encapsulated traffic a rule's `-s` source matches: an address of theirs, or a CIDR holding one. */
const peersFrom = (cluster: Cluster, src: string): NodeView[] => {
  const exact = cluster.ownerOfEncapSource(stripHostPrefix(src));
  if (exact !== null) return [exact];
  const c = parseCidr(src);
  if (c === null || !src.includes('/')) return [];
  return cluster.fresh.filter((a) => a.encapSourceIPs.some((ip) => { const x = parseCidr(ip); return x !== null && contains(c, x); }));
};

/** B's drop rules that match A's encapsulated traffic by source address (#15). */
const dropRuleFindings = (cluster: Cluster, b: NodeView): FindingDraft[] => {
  const ipt = b.state.report.sections.iptables;
  if (ipt.status !== 'ok') return [];
  const out: FindingDraft[] = [];
  for (const r of ipt.data.dropRules) {
    if (r.encapsulation === undefined || r.sources === undefined || NOT_INPUT.test(r.chain)) continue;
    const named = new Set<NodeView>();
    for (const src of r.sources) for (const a of peersFrom(cluster, src)) named.add(a);
    for (const a of named) if (a !== b) out.push(dropDraft(b, a, r));
  }
  return out;
};

const dropDraft = (b: NodeView, a: NodeView, r: IptablesDropRule): FindingDraft => {
  const encap = (r.encapsulation ?? 'vxlan').toUpperCase();
  const where = `${r.family} ${r.table}/${r.chain} rule ${r.index}${r.caliId !== null ? ` (cali:${r.caliId})` : ''}`;
  const comment = r.comments.join('; ');
  return {
    rule: RULE_ID,
    severity: 'critical',
    node: b.name,
    peer: a.name,
    subject: `${r.family}/${r.table}/${r.chain}/${r.index}`,
    summary: `${b.name}'s ${where} ${r.target === 'REJECT' ? 'rejects' : 'drops'} ${a.name}'s ${encap} packets (source ${(r.sources ?? []).join(', ')}): its encapsulated traffic is dropped on ${b.name}`,
    evidence: {
      seen: `${r.rule} [${r.packets} packets]${comment !== '' ? ` ("${comment}")` : ''}`,
      expected: `no rule dropping ${encap} from ${a.name} (${a.encapSourceIPs.join(', ')})`,
      details: { family: r.family, table: r.table, chain: r.chain, index: r.index, caliId: r.caliId, sources: r.sources ?? [], peerAddresses: a.encapSourceIPs, packets: r.packets, rule: r.rule },
    },
    remedy: remedyDrop(r.family),
  };
};
