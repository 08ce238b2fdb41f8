/**
 * iptables-drops-rising: a DROP / REJECT rule's packet counter rose since the previous snapshot.
 * Drops by policy chains (cali-tw/fw/pi/po/pri/pro) are network policy doing its job: info. Other
 * drops (non-Calico hosts, unknown endpoint, INVALID conntrack state, …) are warnings.
 * No previous snapshot, or a counter that went down (reset / rules rewritten): nothing to say.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { isPolicyChain, type IptablesDropRule } from '../../contract/snapshot.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'iptables-drops-rising';

const ruleKey = (r: IptablesDropRule): string =>
  `${r.family}/${r.table}/${r.chain}/${r.caliId ?? `${r.index}:${r.rule}`}`;


const remedyFor = (r: IptablesDropRule): string => {
  const text = r.comments.join(' ');
  // Calico's nftables dataplane names tables `family table` (`ip calico`)
  const list = r.table.includes(' ')
    ? `\`nft -a list chain ${r.table} ${r.chain}\``
    : `\`${r.family === 'ipv6' ? 'ip6tables' : 'iptables'} -t ${r.table} -L ${r.chain} -v -n --line-numbers\``;
  if (r.matchSets.some((m) => m.negated && /all-(hosts|vxlan)-net|calico-hosts/.test(m.name)) || /non-Calico hosts/i.test(text)) {
    const set = r.matchSets.find((m) => m.negated)?.name ?? 'cali40all-hosts-net';
    return (
      `Encapsulated packets arrive from a source address Calico does not know as a node. Capture the sources: \`tcpdump -ni any 'udp port 4789 or ip proto 4'\`; ` +
      `compare with \`ipset list ${set}\` and \`calicoctl get node -o wide\`. Usually a node's autodetected IP is wrong (IP_AUTODETECTION_METHOD) or a NAT/LB rewrites the source; fix the node address. Watch the counter with ${list}.`
    );
  }
  if (isPolicyChain(r.chain))
    return `A network policy denies this traffic. Find which policy owns ${r.chain} (\`calicoctl get networkpolicy,globalnetworkpolicy -A -o wide\`), and if the traffic should pass, add an allow rule. Watch ${list}.`;
  if (/INVALID/.test(r.rule))
    return `Conntrack marks these packets INVALID: often asymmetric routing (the reply returns via another node or device) or a full/flushed conntrack table. Check \`conntrack -S\` and routes to the peers; watch ${list}.`;
  return `Identify the traffic: ${list}, then \`iptables-save -c | grep -- '${r.caliId ?? r.chain}'\` for the full rule, and a capture on the matching interface. Felix's rule comment says: "${text}".`;
};

export const iptablesDropsRising: LocalCheck = {
  rule,
  description: 'A DROP/REJECT rule counted new packets since the previous snapshot',
  run({ snapshot, previous }) {
    const n = need(snapshot, 'iptables');
    if (!n.ok) return n.outcome;
    if (previous === undefined || previous.sections.iptables.status !== 'ok') return { status: 'ok' };
    const before = new Map(previous.sections.iptables.data.dropRules.map((r) => [ruleKey(r), r]));
    const findings: FindingDraft[] = [];
    for (const r of n.data.iptables.dropRules) {
      const key = ruleKey(r);
      // A policy-chain rule missing from the previous snapshot stood at zero packets then
      // (idle policy drops are left out of snapshots, contract/snapshot.ts isPolicyChain).
      const prev = before.get(key) ?? (isPolicyChain(r.chain) ? { ...r, packets: 0, bytes: 0 } : undefined);
      if (prev === undefined || r.packets <= prev.packets) continue;
      const delta = r.packets - prev.packets;
      const policy = isPolicyChain(r.chain);
      const comment = r.comments.join('; ');
      findings.push({
        rule,
        severity: policy ? 'info' : 'warning',
        node: snapshot.node,
        subject: key,
        summary: `${r.target} rule in ${r.family} ${r.table}/${r.chain}${r.caliId !== null ? ` (cali:${r.caliId})` : ''} dropped ${delta} more packet(s)${comment !== '' ? `: "${comment}"` : ''}`,
        evidence: {
          seen: `packets ${prev.packets} → ${r.packets} (+${delta}) between ${previous.takenAt} and ${snapshot.takenAt}`,
          expected: policy ? 'drops only for traffic a policy is meant to deny' : 'no new drops',
          details: {
            family: r.family,
            table: r.table,
            chain: r.chain,
            caliId: r.caliId,
            comment,
            target: r.target,
            delta,
            packets: r.packets,
            previousPackets: prev.packets,
            rule: r.rule,
          },
        },
        remedy: remedyFor(r),
      });
    }
    return outcome(findings);
  },
};
