/**
 * iptables-drops-rising: a DROP / REJECT rule's packet counter rose since the previous snapshot.
 * Drops by policy chains (cali-tw/fw/pi/po/pri/pro) are network policy doing its job: info. Other
 * drops (non-Calico hosts, unknown endpoint, INVALID conntrack state, …) are warnings.
 * No previous snapshot, or a counter that went down (reset / rules rewritten): nothing to say.
 *
 * #15: a drop that is an encapsulation guard (the iptables section's `encapGuards`: the catch-all
 * DROP after Felix's ACCEPT of allowed sources, or the older negated-set DROP) is named as such,
 * with its set: its packets came from sources not in that set. Counters cannot tell which sources;
 * the aggregator's host-not-in-allowed-set names the peers missing from the set. A drop of
 * encapsulated packets that names its sources (`-s`) says whose packets they are.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { isPolicyChain, type EncapGuard, type IptablesDropRule } from '../../contract/snapshot.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';
import { perObject } from '../../common/memo.js';

const rule = 'iptables-drops-rising';

/**
 * A rule's key, made once per rule object: the daemon's iptables collector lists a drop rule whose
 * counters have not moved as the same object read after read (agent/collectors/iptables.ts), so
 * most keys of a fresh section are known already (#17). Joined rather than concatenated: a key is
 * kept as long as its section, and `join` makes one flat string where a template literal leaves
 * V8's tree of concatenated pieces (a 17k-rule section's keys: 2.4 → 1.4 MiB of heap; #17 goal 3,
 * bench/results-agent.md).
 */
const ruleKey = perObject((r: IptablesDropRule): string => [r.family, r.table, r.chain, r.caliId ?? `${r.index}:${r.rule}`].join('/'));

/**
 * #17 (daemon cost): a section's rules by key, built once per section object. The daemon checks
 * every snapshot, and every second one reuses the iptables section of the one before (and its
 * `previous`), so the 17k-rule maps of a big node would otherwise be rebuilt on unchanged data.
 * Sections are never mutated once taken (common/memo.ts).
 */
const indexed = perObject((rules: readonly IptablesDropRule[]): { keys: string[]; byKey: Map<string, IptablesDropRule> } => {
  const keys = rules.map(ruleKey);
  const byKey = new Map<string, IptablesDropRule>();
  for (let i = 0; i < rules.length; i++) byKey.set(keys[i] as string, rules[i] as IptablesDropRule);
  return { keys, byKey };
});


const guardKey = (g: { family: string; table: string; chain: string }, index: number): string => `${g.family}/${g.table}/${g.chain}/${index}`;

const capture = (encap: 'vxlan' | 'ipip' | undefined): string => (encap === 'ipip' ? 'ip proto 4' : encap === 'vxlan' ? 'udp port 4789' : 'udp port 4789 or ip proto 4');

const remedyFor = (r: IptablesDropRule, guard: EncapGuard | undefined): string => {
  const text = r.comments.join(' ');
  // Calico's nftables dataplane names tables `family table` (`ip calico`): nft commands there
  const nft = r.table.includes(' ');
  const list = nft ? `\`nft -a list chain ${r.table} ${r.chain}\`` : `\`${r.family === 'ipv6' ? 'ip6tables' : 'iptables'} -t ${r.table} -L ${r.chain} -v -n --line-numbers\``;
  const listSet = (name: string): string => (nft ? `nft list set ${r.table.split(' ')[0] ?? 'ip'} calico ${name}` : `ipset list ${name}`);
  const grepRule = `${nft ? 'nft -a list ruleset' : 'iptables-save -c'} | grep -- '${r.caliId ?? r.chain}'`;
  if (guard !== undefined) {
    return (
      `Encapsulated packets arrive from sources not in ${guard.set}. See which: \`tcpdump -ni any '${capture(guard.encapsulation)}'\` and compare the sources with \`${listSet(guard.set)}\` and \`calicoctl get node -o wide\` ` +
      `(\`calico-diag findings --rule host-not-in-allowed-set\` names the peers missing from the set). Usually a node's autodetected IP is wrong (IP_AUTODETECTION_METHOD), a NAT/LB rewrites the source, or the set was flushed; fix the node address or restart calico-node here to reprogram the set. Watch the counter with ${list}.`
    );
  }
  if (r.encapsulation !== undefined && r.sources !== undefined) {
    return `This rule drops the ${r.encapsulation.toUpperCase()} packets of ${r.sources.join(', ')}: tunnelled pod traffic from there is lost. It is not one of Felix's rules unless its comment says so: find who added it (\`${grepRule}\`, firewall tools) and remove it. Watch ${list}.`;
  }
  if (r.matchSets.some((m) => m.negated && /all-(hosts|vxlan)-net|calico-hosts/.test(m.name)) || /non-Calico hosts/i.test(text)) {
    const set = r.matchSets.find((m) => m.negated)?.name ?? 'cali40all-hosts-net';
    return (
      `Encapsulated packets arrive from a source address Calico does not know as a node. Capture the sources: \`tcpdump -ni any 'udp port 4789 or ip proto 4'\`; ` +
      `compare with \`${listSet(set)}\` and \`calicoctl get node -o wide\`. Usually a node's autodetected IP is wrong (IP_AUTODETECTION_METHOD) or a NAT/LB rewrites the source; fix the node address. Watch the counter with ${list}.`
    );
  }
  if (isPolicyChain(r.chain))
    return `A network policy denies this traffic. Find which policy owns ${r.chain} (\`calicoctl get networkpolicy,globalnetworkpolicy -A -o wide\`), and if the traffic should pass, add an allow rule. Watch ${list}.`;
  if (/INVALID/.test(r.rule))
    return `Conntrack marks these packets INVALID: often asymmetric routing (the reply returns via another node or device) or a full/flushed conntrack table. Check \`conntrack -S\` and routes to the peers; watch ${list}.`;
  return `Identify the traffic: ${list}, then \`${grepRule}\` for the full rule, and a capture on the matching interface. Felix's rule comment says: "${text}".`;
};

export const iptablesDropsRising: LocalCheck = {
  rule,
  description: 'A DROP/REJECT rule counted new packets since the previous snapshot',
  run({ snapshot, previous }) {
    const n = need(snapshot, 'iptables');
    if (!n.ok) return n.outcome;
    if (previous === undefined || previous.sections.iptables.status !== 'ok') return { status: 'ok' };
    // the daemon's snapshots between two reads of the ruleset list the same rules as the one before
    // (agent/collectors/cadence.ts): no counter can have risen (#17: ~9 ms of a 17k-rule node's idle snapshot)
    if (n.data.iptables.dropRules === previous.sections.iptables.data.dropRules) return { status: 'ok' };
    const before = indexed(previous.sections.iptables.data.dropRules).byKey;
    const findings: FindingDraft[] = [];
    const guards = new Map((n.data.iptables.encapGuards ?? []).map((g) => [guardKey(g, g.drop.index), g]));
    const rules = n.data.iptables.dropRules;
    const keys = indexed(rules).keys;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as IptablesDropRule;
      const key = keys[i] as string;
      // A policy-chain rule missing from the previous snapshot stood at zero packets then
      // (idle policy drops are left out of snapshots, contract/snapshot.ts isPolicyChain).
      const prev = before.get(key) ?? (isPolicyChain(r.chain) ? { ...r, packets: 0, bytes: 0 } : undefined);
      if (prev === undefined || r.packets <= prev.packets) continue;
      const delta = r.packets - prev.packets;
      const policy = isPolicyChain(r.chain);
      const comment = r.comments.join('; ');
      const guard = guards.get(guardKey(r, r.index));
      const where = `${r.target} rule in ${r.family} ${r.table}/${r.chain}${r.caliId !== null ? ` (cali:${r.caliId})` : ''}`;
      const what =
        guard !== undefined
          ? `, the ${guard.encapsulation.toUpperCase()} guard, dropped ${delta} more packet(s) from sources not in ${guard.set}`
          : r.encapsulation !== undefined && r.sources !== undefined
            ? ` dropped ${delta} more ${r.encapsulation.toUpperCase()} packet(s) from ${r.sources.join(', ')}`
            : ` dropped ${delta} more packet(s)`;
      findings.push({
        rule,
        severity: policy ? 'info' : 'warning',
        node: snapshot.node,
        subject: key,
        summary: `${where}${what}${comment !== '' ? `: "${comment}"` : ''}`,
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
            ...(guard !== undefined
              ? { guard: { encapsulation: guard.encapsulation, form: guard.form, set: guard.set }, sources: 'not in the set; counters do not say which: see host-not-in-allowed-set' }
              : {}),
            ...(guard === undefined && r.encapsulation !== undefined ? { encapsulation: r.encapsulation, sources: r.sources ?? null } : {}),
          },
        },
        remedy: remedyFor(r, guard),
      });
    }
    return outcome(findings);
  },
};
