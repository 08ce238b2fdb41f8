/**
 * ipset-all-hosts-missing: the set that decides which peers may send this node encapsulated
 * traffic is absent or empty while a rule drops the encapsulated packets of sources outside it, so
 * every peer's tunnelled traffic is dropped.
 *
 * The guarding rules come from the iptables section's `encapGuards` (derive/encap-guards.ts), in
 * either form Felix writes: current releases accept sources in `cali40all-vxlan-net`
 * (`cali60all-vxlan-net` for IPv6; `cali40all-hosts-net` for IPIP) and then drop the rest with a
 * catch-all rule; older ones drop with a negated match on `cali40all-hosts-net` (or
 * `felix-calico-hosts-4`). A report without `encapGuards` (an older agent's snapshot) falls back to
 * the negated-drop rules among `dropRules`.
 *
 * Unknown, never ok, when it cannot tell: iptables or ipsets unreadable, a guard's set whose members
 * were not collected and whose size is unknown, or no Calico rules at all in iptables on a node
 * that tunnels, or an eBPF node without guard rules in iptables (the policy dataplane is then
 * something else: nftables or eBPF).
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { EncapGuard, Iptables, IpSets, Snapshot } from '../../contract/snapshot.js';
import { need, outcome } from './helpers.js';
import type { CheckOutcome, LocalCheck } from './types.js';

const rule = 'ipset-all-hosts-missing';
const HOST_SET = /all-(hosts|vxlan)-net|calico-hosts/;

/** How to list the set: an ipset, or on Calico's nftables dataplane an nft set of the calico table. */
const listSet = (name: string, backend: Iptables['backend']): string =>
  backend === 'nftables' ? `nft list set ${name.startsWith('cali60') || name.endsWith('-6') ? 'ip6' : 'ip'} calico ${name}` : `ipset list ${name}`;

const REMEDY = (name: string, backend: Iptables['backend']): string =>
  `Check it: \`${listSet(name, backend)}\`. Felix fills it from the Node resources' addresses (\`calicoctl get node -o wide\`): if nodes lack an address, fix IP autodetection (IP_AUTODETECTION_METHOD). ` +
  `If the set is missing, something flushed ipsets (a firewall reload: firewalld/iptables-restore scripts); restart calico-node on this node to reprogram it and stop that tool from managing cali* sets.`;

/** Members of a set: from hostSets, else its size from caliSetSizes; undefined when absent. */
const sizeOf = (ipsets: IpSets, name: string): number | undefined =>
  ipsets.hostSets.find((s) => s.name === name)?.members.length ?? ipsets.caliSetSizes[name];

/** Whether the set is known to exist at all (ipset save lists every set; caliSetSizes every cali* one). */
const collectedName = (name: string): boolean => name.startsWith('cali') || name.startsWith('felix-calico-hosts');

const usesEncap = (mode: Snapshot['mode']['encapsulation'], encap: EncapGuard['encapsulation']): boolean =>
  mode === 'unknown' || mode === encap || mode === 'vxlan+ipip';

const ruleLabel = (g: EncapGuard): string => `${g.chain} rule ${g.drop.index}${g.drop.caliId !== null ? ` (cali:${g.drop.caliId})` : ''}`;

const fromGuards = (snapshot: Snapshot, iptables: Iptables, ipsets: IpSets, guards: EncapGuard[]): CheckOutcome => {
  const enc = snapshot.mode.encapsulation;
  if (guards.length === 0) {
    if (snapshot.mode.ebpf && enc !== 'none')
      return { status: 'unknown', reason: `eBPF dataplane: which sources may send ${enc} is decided in its BPF programs, which this check does not read` };
    const caliChains = [iptables.ipv4, iptables.ipv6].reduce((n, f) => n + (f.status === 'ok' ? f.data.caliChains : 0), 0);
    if (caliChains === 0 && enc !== 'none')
      return {
        status: 'unknown',
        reason: `no Calico chains in iptables (${iptables.backend}) on a node using ${enc}: the rules guarding encapsulated traffic live in another dataplane (nftables or eBPF) that this check did not read`,
      };
    return { status: 'ok' };
  }
  const findings: FindingDraft[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  for (const g of guards) {
    const key = `${g.family}/${g.set}/${g.encapsulation}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const size = sizeOf(ipsets, g.set);
    // on the nftables dataplane only the guarding sets the collector read are known (nftables.ts NFT_HOST_SETS)
    if (size === undefined && (iptables.backend === 'nftables' || !collectedName(g.set))) {
      unknown.push(`${g.set}: members not collected (guards ${g.encapsulation} in ${ruleLabel(g)})`);
      continue;
    }
    if (size !== undefined && size > 0) continue;
    const absent = size === undefined;
    const comment = g.drop.comments.join('; ');
    const how = g.form === 'accept-then-drop' ? `accepts ${g.encapsulation.toUpperCase()} only from ${g.set} and then drops the rest` : `drops ${g.encapsulation.toUpperCase()} from sources not in ${g.set}`;
    findings.push({
      rule,
      severity: usesEncap(enc, g.encapsulation) ? 'critical' : 'warning',
      node: snapshot.node,
      subject: g.set,
      summary: `ipset ${g.set} is ${absent ? 'absent' : 'empty'} while ${g.chain} ${how}: ${g.family} ${g.encapsulation.toUpperCase()} traffic from every peer is dropped`,
      evidence: {
        seen: `${absent ? 'no ipset' : 'empty ipset'} ${g.set}; ${g.form} guard in ${ruleLabel(g)}${comment !== '' ? ` ("${comment}")` : ''}, ${g.drop.packets} packet(s) dropped so far`,
        expected: `${g.set} holds the address of every Calico node that sends ${g.encapsulation.toUpperCase()}`,
        details: {
          set: g.set,
          family: g.family,
          encapsulation: g.encapsulation,
          form: g.form,
          table: g.table,
          chain: g.chain,
          index: g.drop.index,
          caliId: g.drop.caliId,
          comment,
          droppedPackets: g.drop.packets,
          members: size ?? null,
          mode: enc,
        },
      },
      remedy: REMEDY(g.set, iptables.backend),
    });
  }
  if (findings.length === 0 && unknown.length > 0) return { status: 'unknown', reason: unknown.join('; ') };
  return outcome(findings);
};

/** Reports without encapGuards (agents before #15): negated-drop rules among dropRules. */
const fromDropRules = (snapshot: Snapshot, iptables: Iptables, ipsets: IpSets): CheckOutcome => {
  const enc = snapshot.mode.encapsulation;
  if (enc === 'none') return { status: 'ok' };
  const sets = new Map<string, { chain: string; comment: string }>();
  for (const r of iptables.dropRules)
    for (const m of r.matchSets) if (m.negated && HOST_SET.test(m.name) && !sets.has(m.name)) sets.set(m.name, { chain: r.chain, comment: r.comments.join('; ') });
  const findings: FindingDraft[] = [];
  for (const [name, where] of sets) {
    const size = sizeOf(ipsets, name);
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
      remedy: REMEDY(name, iptables.backend),
    });
  }
  return outcome(findings);
};

export const ipsetAllHostsMissing: LocalCheck = {
  rule,
  description: 'The set guarding encapsulated traffic (cali40all-vxlan-net, cali40all-hosts-net, …) is absent or empty while its drop rule exists',
  run({ snapshot }) {
    const n = need(snapshot, 'iptables', 'ipsets');
    if (!n.ok) return n.outcome;
    const { iptables, ipsets } = n.data;
    return iptables.encapGuards === undefined ? fromDropRules(snapshot, iptables, ipsets) : fromGuards(snapshot, iptables, ipsets, iptables.encapGuards);
  },
};
