/**
 * Which rules guard encapsulated traffic (pure), from backend-neutral PolicyRules in chain order:
 *   accept-then-drop  an ACCEPT of VXLAN (udp dport 4789) / IPIP (protocol 4) from sources in a set,
 *                     followed in the same chain by a DROP/REJECT of the same encapsulation that
 *                     matches no source set (current Felix, iptables or nftables);
 *   negated-drop      one DROP/REJECT of the encapsulation from sources NOT in a set (older Felix).
 * One guard per (family, table, chain, encapsulation, set). Rules of one chain must come in index order.
 */
import type { EncapGuard } from '../../contract/snapshot.js';
import type { PolicyRule } from './policy-rule.js';

export const VXLAN_PORT = 4789;
const IPIP = new Set(['4', 'ipencap', 'ipip']);

const encapOf = (r: PolicyRule): EncapGuard['encapsulation'] | null => {
  if (r.protocol === 'udp' && r.dports.includes(VXLAN_PORT)) return 'vxlan';
  if (r.protocol !== null && IPIP.has(r.protocol.toLowerCase())) return 'ipip';
  return null;
};
const isDrop = (r: PolicyRule): boolean => r.verdict === 'DROP' || r.verdict === 'REJECT';
const srcSets = (r: PolicyRule) => r.matchSets.filter((m) => m.direction === 'src');

export const deriveEncapGuards = (rules: Iterable<PolicyRule>): EncapGuard[] => {
  const guards: EncapGuard[] = [];
  const seen = new Set<string>();
  /** ACCEPTs of encapsulated traffic from a set, waiting for their catch-all drop: chain key → pending */
  const pending = new Map<string, { encapsulation: EncapGuard['encapsulation']; set: string }[]>();
  const push = (r: PolicyRule, encapsulation: EncapGuard['encapsulation'], form: EncapGuard['form'], set: string): void => {
    const key = `${r.family}\u0000${r.table}\u0000${r.chain}\u0000${encapsulation}\u0000${set}`;
    if (seen.has(key)) return;
    seen.add(key);
    guards.push({
      family: r.family,
      encapsulation,
      form,
      set,
      table: r.table,
      chain: r.chain,
      drop: { index: r.index, caliId: r.caliId, comments: r.comments, packets: r.packets, bytes: r.bytes },
    });
  };
  for (const r of rules) {
    const encapsulation = encapOf(r);
    if (encapsulation === null) continue;
    const chainKey = `${r.family}\u0000${r.table}\u0000${r.chain}`;
    const sets = srcSets(r);
    if (r.verdict === 'ACCEPT') {
      const positive = sets.filter((m) => !m.negated);
      if (positive.length === 1 && positive[0] !== undefined) {
        const list = pending.get(chainKey) ?? [];
        list.push({ encapsulation, set: positive[0].name });
        pending.set(chainKey, list);
      }
      continue;
    }
    if (!isDrop(r)) continue;
    const negated = sets.filter((m) => m.negated);
    if (negated.length === 1 && negated[0] !== undefined) {
      push(r, encapsulation, 'negated-drop', negated[0].name);
      continue;
    }
    if (sets.length > 0) continue;
    for (const p of pending.get(chainKey) ?? []) if (p.encapsulation === encapsulation) push(r, encapsulation, 'accept-then-drop', p.set);
  }
  return guards;
};
