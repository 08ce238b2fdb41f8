/**
 * host-not-in-allowed-set: node B's all-hosts ipset (cali40all-hosts-net, older felix-calico-hosts-4;
 * cali60all-hosts-net for IPv6) must contain the address node A's encapsulated traffic comes from,
 * or B's "drop VXLAN/IPIP packets from non-Calico hosts" rule drops A's traffic. Finding on B (who
 * holds the set), peer A. Checked only when B's ipsets section is ok and the set exists there.
 * One pass over each set's members, CIDR members checked by containment. A member's code (Map
 * lookup by address) is memoised per entry id of the shared members table (common.ts memoFor), so
 * each distinct address is looked up once per pass and a set's walk reads one slot per member.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { HOST_SET_NAMES, type IndexedNode } from '../cluster-map.js';
import { carried, carry, indexFor, memoFor, membersList, UNSET } from './common.js';
import { contains, familyOf as ipFamily, parseCidr, stripHostPrefix, type Cidr } from '../../common/net.js';
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

const familyOf = (ip: string): 'inet' | 'inet6' => (ipFamily(ip) === 'inet' ? 'inet' : 'inet6');

export const hostNotInAllowedSet: CorrelateRule = {
  id: RULE_ID,
  description: "B's all-hosts ipset lacks A's node IP",
  run(input, _map, given) {
    const index = indexFor(input, given);
    const out: FindingDraft[] = [];
    const marked = new Int32Array(index.nodes.length).fill(-1);
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
    for (const b of index.fresh) {
      const ipsets = b.state.report.sections.ipsets;
      if (ipsets.status !== 'ok') continue;
      const held = carried<FindingDraft[]>(index, RULE_ID, ipsets.data);
      if (held !== undefined) {
        for (const d of held) out.push(d);
        continue;
      }
      const mine: FindingDraft[] = [];
      for (const family of ['inet', 'inet6'] as const) {
        const names: readonly string[] = HOST_SET_NAMES[family];
        const sets = ipsets.data.hostSets.filter((s) => names.includes(s.name));
        if (sets.length === 0) continue;
        const stamp = b.i + (family === 'inet' ? 0 : index.nodes.length);
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
          mine.push(draftFor(b, a, wanted, sets.map((s) => s.name)));
        }
      }
      carry(index, RULE_ID, ipsets.data, mine);
      for (const d of mine) out.push(d);
    }
    return out;
  },
};

const draftFor = (b: IndexedNode, a: IndexedNode, wanted: string[], setNames: string[]): FindingDraft => ({
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
