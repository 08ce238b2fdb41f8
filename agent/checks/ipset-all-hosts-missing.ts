/**
 * ipset-all-hosts-missing: in VXLAN/IPIP mode Felix drops encapsulated packets whose source is not
 * in its all-hosts set (`-m set ! --match-set cali40all-hosts-net src -j DROP`, "… from non-Calico
 * hosts"; cali40all-vxlan-net in newer releases, felix-calico-hosts-4 in older ones). If that set is
 * absent or empty while the rule exists, every peer's tunnelled traffic is dropped.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'ipset-all-hosts-missing';
const HOST_SET = /all-(hosts|vxlan)-net|calico-hosts/;

export const ipsetAllHostsMissing: LocalCheck = {
  rule,
  description: "Felix's all-hosts ipset is absent or empty while its drop rule for non-Calico hosts exists",
  run({ snapshot }) {
    const n = need(snapshot, 'iptables', 'ipsets');
    if (!n.ok) return n.outcome;
    const enc = snapshot.mode.encapsulation;
    if (enc === 'none') return { status: 'ok' };
    const { iptables, ipsets } = n.data;
    const sets = new Map<string, { chain: string; comment: string }>();
    for (const r of iptables.dropRules)
      for (const m of r.matchSets) if (m.negated && HOST_SET.test(m.name) && !sets.has(m.name)) sets.set(m.name, { chain: r.chain, comment: r.comments.join('; ') });
    // the accept-then-drop form (current Felix, either dataplane): the drop itself matches no set
    for (const g of iptables.encapGuards ?? []) if (!sets.has(g.set)) sets.set(g.set, { chain: g.chain, comment: g.drop.comments.join('; ') });
    const findings: FindingDraft[] = [];
    for (const [name, where] of sets) {
      const host = ipsets.hostSets.find((s) => s.name === name);
      const size = host?.members.length ?? ipsets.caliSetSizes[name];
      if (size !== undefined && size > 0) continue;
      const absent = size === undefined;
      findings.push({
        rule,
        severity: 'critical',
        node: snapshot.node,
        subject: name,
        summary: `ipset ${name} is ${absent ? 'absent' : 'empty'} while ${where.chain} drops encapsulated packets from sources not in it: tunnelled traffic from every peer is dropped`,
        evidence: {
          seen: `${absent ? 'no ipset' : 'empty ipset'} ${name}; rule in ${where.chain}${where.comment !== '' ? ` ("${where.comment}")` : ''}`,
          expected: `${name} holds every Calico node IP`,
          details: { set: name, chain: where.chain, comment: where.comment, members: size ?? null, encapsulation: enc },
        },
        remedy:
          `Check it: \`${iptables.backend === 'nftables' ? `nft list set ${name.startsWith('cali60') ? 'ip6' : 'ip'} calico ${name}` : `ipset list ${name}`}\`. Felix fills it from the Node resources' addresses (\`calicoctl get node -o wide\`): if nodes lack an IPv4 address, fix IP autodetection (IP_AUTODETECTION_METHOD). ` +
          `If the set is missing, something flushed ipsets (a firewall reload: firewalld/iptables-restore scripts); restart calico-node on this node to reprogram it and stop that tool from managing cali* sets.`,
      });
    }
    return outcome(findings);
  },
};
