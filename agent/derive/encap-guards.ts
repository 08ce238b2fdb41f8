/**
 * Which rules decide the peers that may send this node encapsulated (VXLAN / IPIP) traffic, derived
 * from the rules actually present, whatever their release or policy dataplane. Pure.
 *
 * Felix writes two shapes (felix/rules/static.go, filterInputChain):
 *  - current releases (3.2x): an allow of packets whose source is in the set, then a catch-all
 *    drop of the rest, both in the input chain:
 *      VXLAN v4  udp dport 4789, src in cali40all-vxlan-net, dst-type LOCAL → ACCEPT
 *                udp dport 4789, dst-type LOCAL → DROP   ("Drop IPv4 VXLAN packets from non-allowed hosts")
 *      VXLAN v6  the same with cali60all-vxlan-net (deny action DROP or REJECT)
 *      IPIP      proto 4, src in cali40all-hosts-net, dst-type LOCAL → ACCEPT; proto 4 → DROP
 *    The allow's action is Felix's filter allow action (ACCEPT, or RETURN when configured so).
 *  - older releases: one drop with a negated match, `! --match-set cali40all-hosts-net src -j DROP`
 *    (`felix-calico-hosts-4` in the oldest) "from non-Calico hosts".
 * Neither form is assumed: a guard is a drop (DROP/REJECT) of encapsulated packets that either
 * negates a source-set match itself (negated-drop), or carries no source-set match and follows, in
 * the same chain, an allow of the same encapsulation whose source is in a set (accept-then-drop; the
 * nearest such allow before it names the set). A catch-all drop with no allow before it names no set
 * and is no guard (it drops every peer, which the drop counters report).
 *
 * Encapsulation: IPIP is protocol 4 (printed `4`, `ipencap`, `ipip` or `ipv4`); VXLAN is UDP to
 * a destination port the rule names, recognised by port 4789 (Felix's default), by a set named
 * `*all-vxlan-net`, or by a comment saying VXLAN (a non-default VXLANPort).
 */
import type { EncapGuard } from '../../contract/snapshot.js';
import type { PolicyRule } from './policy-rule.js';

export const VXLAN_DEFAULT_PORT = 4789;

type Encap = EncapGuard['encapsulation'];

const ALLOW = new Set(['ACCEPT', 'RETURN', 'accept', 'return']);
const DENY = new Set(['DROP', 'REJECT', 'drop', 'reject']);
const IPIP_PROTOCOLS = new Set(['4', 'ipencap', 'ipip', 'ipv4']);

const isSrc = (direction: string): boolean => direction === 'src' || direction.startsWith('src,');

const looksVxlan = (r: PolicyRule): boolean =>
  r.dports.includes(VXLAN_DEFAULT_PORT) ||
  r.matchSets.some((m) => m.name.includes('vxlan-net')) ||
  r.comments.some((c) => /vxlan/i.test(c));

/** The encapsulation a rule matches on, or null. */
export const encapOf = (r: PolicyRule): Encap | null => {
  const p = r.protocol?.toLowerCase() ?? null;
  if (p === null) return null;
  if (IPIP_PROTOCOLS.has(p)) return 'ipip';
  if ((p === 'udp' || p === '17') && r.dports.length > 0 && looksVxlan(r)) return 'vxlan';
  return null;
};

/** Same traffic: the same encapsulation, and for VXLAN a destination port in common. */
const sameTraffic = (allow: PolicyRule, drop: PolicyRule, encap: Encap): boolean =>
  encap === 'ipip' || allow.dports.some((p) => drop.dports.includes(p));

const dropOf = (r: PolicyRule): EncapGuard['drop'] => ({ index: r.index, caliId: r.caliId, comments: r.comments, packets: r.packets, bytes: r.bytes });

/**
 * The encapsulation guards among `rules` (any order; rules of one chain are ordered by `index`).
 * One guard per guarding drop rule, in family, table, chain, index order.
 */
export function deriveEncapGuards(rules: Iterable<PolicyRule>): EncapGuard[] {
  const chains = new Map<string, PolicyRule[]>();
  for (const r of rules) {
    if (encapOf(r) === null) continue;
    const key = `${r.family}\u0000${r.table}\u0000${r.chain}`;
    let list = chains.get(key);
    if (list === undefined) chains.set(key, (list = []));
    list.push(r);
  }
  const out: EncapGuard[] = [];
  for (const list of chains.values()) {
    list.sort((a, b) => a.index - b.index);
    for (let i = 0; i < list.length; i++) {
      const r = list[i] as PolicyRule;
      if (r.verdict === null || !DENY.has(r.verdict)) continue;
      const encap = encapOf(r) as Encap;
      const base = { family: r.family, encapsulation: encap, table: r.table, chain: r.chain, drop: dropOf(r) };
      const negated = r.matchSets.find((m) => m.negated && isSrc(m.direction));
      if (negated !== undefined) {
        out.push({ ...base, form: 'negated-drop', set: negated.name });
        continue;
      }
      if (r.matchSets.some((m) => !m.negated && isSrc(m.direction))) continue; // drops only members: no guard
      for (let j = i - 1; j >= 0; j--) {
        const a = list[j] as PolicyRule;
        if (a.verdict === null || !ALLOW.has(a.verdict) || encapOf(a) !== encap || !sameTraffic(a, r, encap)) continue;
        const set = a.matchSets.find((m) => !m.negated && isSrc(m.direction));
        if (set === undefined) continue;
        out.push({ ...base, form: 'accept-then-drop', set: set.name });
        break;
      }
    }
  }
  const fam = (g: EncapGuard) => (g.family === 'ipv4' ? 0 : 1);
  return out.sort((a, b) => fam(a) - fam(b) || a.table.localeCompare(b.table) || a.chain.localeCompare(b.chain) || a.drop.index - b.drop.index);
}
