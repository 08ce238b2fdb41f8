/**
 * host-not-in-allowed-set: every set that decides which peers may send node B encapsulated traffic
 * must contain the address node A's encapsulated traffic comes from, or B's guard drops A's
 * traffic. The sets are the ones B's own rules use (B's iptables encapGuards, #15: current Felix's
 * ACCEPT of `cali40all-vxlan-net` / `cali60all-vxlan-net` sources before its catch-all DROP,
 * `cali40all-hosts-net` for IPIP, older releases' negated DROP on `cali40all-hosts-net` or
 * `felix-calico-hosts-4`); a report without encapGuards falls back to the fixed all-hosts names
 * (cluster-map.ts allowedSetGroups). Finding on B (who holds the set), peer A. Checked only when
 * B's ipsets section is ok and the set's members are there (an absent or empty set is
 * ipset-all-hosts-missing on B, not N findings here).
 * Also (#15): a DROP/REJECT rule on B that matches encapsulated packets from A's source address
 * (`-s`, an address or a CIDR holding it) outside the output and forward paths drops A's traffic
 * just the same: finding on B naming A and the rule.
 * One pass over each set's members, CIDR members checked by containment. A member's code (Map
 * lookup by address) is memoised per entry id of the shared members table (common.ts memoFor), so
 * each distinct address is looked up once per pass and a set's walk reads one slot per member.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { IptablesDropRule } from '../../contract/snapshot.js';
import { allowedSetGroups, type IndexedNode } from '../cluster-map.js';
import { carried, carry, indexFor, memoFor, membersList, UNSET } from './common.js';
import { contains, parseCidr, parseIPv4, stripHostPrefix, type Cidr } from './net.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'host-not-in-allowed-set';

const REMEDY =
  "The peer's address is missing from this node's all-hosts ipset, so encapsulated (VXLAN/IPIP) packets from it are " +
  'dropped by the "from non-Calico hosts" rule. The set is built from the Node resources: check the peer\'s Node ' +
  'addresses (projectcalico.org/IPv4Address, status.addresses) include the address it sends from (`ip -d link show ' +
  'vxlan.calico`: local); fix the autodetection method (IP_AUTODETECTION_METHOD) on the peer if not, then let Felix ' +
  'here resync (restart calico-node).';

const NONE = -2;
const NET = -3;

const familyOf = (ip: string): 'inet' | 'inet6' => (parseIPv4(ip) !== null ? 'inet' : 'inet6');

export const hostNotInAllowedSet: CorrelateRule = {
  id: RULE_ID,
  description: "A set guarding B's encapsulated traffic lacks A's address, or a rule on B drops A's encapsulated packets",
  run(input, _map, given) {
    const index = indexFor(input, given);
    const out: FindingDraft[] = [];
    const marked = new Int32Array(index.nodes.length).fill(0);
    // nodes whose encapsulation source addresses are known and unambiguous, per family, counted
    // once: a set holding all of them skips the per-node walk
    const wantedOf = (a: IndexedNode, family: 'inet' | 'inet6') => a.encapSourceIPs.filter((ip) => familyOf(ip) === family);
    const eligible = { inet: new Uint8Array(index.nodes.length), inet6: new Uint8Array(index.nodes.length) };
    const eligibleCount = { inet: 0, inet6: 0 };
    for (const a of index.fresh) {
      for (const family of ['inet', 'inet6'] as const) {
        const wanted = wantedOf(a, family);
        if (wanted.length === 0 || wanted.some((ip) => index.byEncapSourceIP.get(ip) !== a.i)) continue;
        eligible[family][a.i] = 1;
        eligibleCount[family]++;
      }
    }
    // a member's code: the index.byEncapSourceIP value it resolves to (≥ 0 or -1 ambiguous), NONE,
    // or NET (a CIDR to check by containment)
    const codeOf = (m: string): number => {
      // plain addresses first (the common case): one lookup, no scan of the text
      let ai = index.byEncapSourceIP.get(m);
      if (ai === undefined && m.includes('/')) {
        const key = stripHostPrefix(m);
        ai = index.byEncapSourceIP.get(key);
        if (ai === undefined && key.includes('/')) return NET;
      }
      return ai === undefined ? NONE : ai;
    };
    let stamp = 0;
    for (const b of index.fresh) {
      out.push(...dropRuleFindings(index, b));
      const ipsets = b.state.report.sections.ipsets;
      if (ipsets.status !== 'ok') continue;
      const groups = allowedSetGroups(b.state);
      const signature = JSON.stringify([groups.inet, groups.inet6]);
      const held = carried<{ signature: string; drafts: FindingDraft[] }>(index, RULE_ID, ipsets.data);
      if (held !== undefined && held.signature === signature) {
        for (const d of held.drafts) out.push(d);
        continue;
      }
      const mine: FindingDraft[] = [];
      const perSet = (['inet', 'inet6'] as const).flatMap((family) => groups[family].map((names) => ({ family, names })));
      for (const { family, names } of perSet) {
        const sets = ipsets.data.hostSets.filter((s) => names.includes(s.name));
        // absent or empty: ipset-all-hosts-missing on B says so once, not once per peer here
        if (sets.length === 0 || sets.every((s) => membersList(index, s).ids.length === 0)) continue;
        stamp++;
        const nets: Cidr[] = [];
        const elig = eligible[family];
        let markedCount = 0;
        for (const s of sets) {
          const { ids, table } = membersList(index, s);
          const memo = memoFor(index, table, RULE_ID);
          for (let k = 0; k < ids.length; k++) {
            const id = ids[k] as number;
            let ai = memo[id] as number;
            if (ai === UNSET) memo[id] = ai = codeOf(table.values[id] as string);
            if (ai === NET) {
              const c = parseCidr(stripHostPrefix(table.values[id] as string));
              if (c !== null) nets.push(c);
              continue;
            }
            if (ai >= 0 && marked[ai] !== stamp) {
              marked[ai] = stamp;
              if (ai !== b.i) markedCount += elig[ai] as number;
            }
          }
        }
        const expected = eligibleCount[family] - (elig[b.i] as number);
        for (const a of markedCount < expected ? index.fresh : []) {
          if (a.i === b.i || marked[a.i] === stamp || elig[a.i] === 0) continue;
          const wanted = wantedOf(a, family);
          const inNet = (ip: string) => {
            const c = parseCidr(ip);
            return c !== null && nets.some((n) => contains(n, c));
          };
          if (wanted.some(inNet)) continue;
          mine.push(draftFor(b, a, wanted, sets.map((s) => s.name), groups.fromGuards));
        }
      }
      carry(index, RULE_ID, ipsets.data, { signature, drafts: mine });
      for (const d of mine) out.push(d);
    }
    return out;
  },
};

const guardsOf = (b: IndexedNode, setName: string) => {
  const ipt = b.state.report.sections.iptables;
  return ipt.status === 'ok' ? (ipt.data.encapGuards ?? []).filter((g) => g.set === setName) : [];
};

const draftFor = (b: IndexedNode, a: IndexedNode, wanted: string[], setNames: string[], fromGuards: boolean): FindingDraft => {
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
    remedy: REMEDY,
  };
};

/** Chains on the path of packets leaving or passing through the node: not where arriving encapsulated traffic is dropped. */
// (Calico's nftables dataplane prefixes its chains with the iptables table: filter-cali-tw-…)
const NOT_INPUT = /OUTPUT|POSTROUTING|FORWARD|^(filter-)?cali-(tw|fw|pri|pro|pi|po)-/;

const REMEDY_DROP =
  "A rule on this node drops the peer's encapsulated (VXLAN/IPIP) packets by their source address, so pod traffic from the peer is lost here. " +
  "Felix writes no such rule: find who added it (its comment, `iptables-save -c | grep -- '-s <peer address>'`, firewall tools such as firewalld or a host hardening script) and remove it.";

/** B's drop rules that match A's encapsulated traffic by source address (#15). */
const dropRuleFindings = (index: ReturnType<typeof indexFor>, b: IndexedNode): FindingDraft[] => {
  const ipt = b.state.report.sections.iptables;
  if (ipt.status !== 'ok') return [];
  const key = ipt.data;
  const held = carried<FindingDraft[]>(index, `${RULE_ID}/drops`, key);
  if (held !== undefined) return held;
  const out: FindingDraft[] = [];
  for (const r of ipt.data.dropRules) {
    if (r.encapsulation === undefined || r.sources === undefined || NOT_INPUT.test(r.chain)) continue;
    const named = new Set<number>();
    for (const src of r.sources) {
      const exact = index.byEncapSourceIP.get(stripHostPrefix(src));
      if (exact !== undefined && exact >= 0) {
        named.add(exact);
        continue;
      }
      const c = parseCidr(src);
      if (c === null || !src.includes('/')) continue;
      for (const a of index.fresh) if (a.encapSourceIPs.some((ip) => { const x = parseCidr(ip); return x !== null && contains(c, x); })) named.add(a.i);
    }
    for (const ai of named) {
      const a = index.nodes[ai] as IndexedNode;
      if (a.i === b.i || a.stale) continue;
      out.push(dropDraft(b, a, r));
    }
  }
  carry(index, `${RULE_ID}/drops`, key, out);
  return out;
};

const dropDraft = (b: IndexedNode, a: IndexedNode, r: IptablesDropRule): FindingDraft => {
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
    remedy: REMEDY_DROP,
  };
};
