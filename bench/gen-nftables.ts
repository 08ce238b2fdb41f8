/**
 * The bench's Calico-like ruleset for Calico's native nftables dataplane (#17 goal 1: "likewise for
 * the nftables dataplane"): the generated iptables dump (bench/gen-iptables.ts) written the way
 * Felix's nftables mode lays it out — one `table ip calico` (`ip6` for IPv6) whose chains carry the
 * iptables table as a prefix (`filter-cali-tw-…`), base chains `filter-INPUT/FORWARD/OUTPUT`, every
 * ipset an nft set of the table, a counter and a `cali:<id>;` comment on every rule
 * (lab/felix-nftables.ts and felix/nftables in projectcalico/calico).
 *
 * Only the filter table is written: the Felix rules that matter to the agent (drops, guards, policy)
 * are there, and it holds all but a handful of the generated rules; rules of other tables and rules
 * whose matches or target this translation does not know are left out and counted (`skipped`).
 * Known: -p, -s/-d, -i/-o, -m conntrack --ctstate, -m mark --mark, -m set --match-set, -m multiport
 * --dports/--sports, -m tcp/-m udp --dport/--sport, -m addrtype --dst-type/--src-type, -m comment;
 * ACCEPT, DROP, RETURN, MARK --set-xmark, jumps and gotos to chains.
 * Pure: same text → same script.
 */
import { parseIptablesSave, ruleMatches, type IptablesRule } from '../agent/parsers/iptables-save.js';

export interface NftScript {
  /** `nft -f -` input that creates the table (deleting an older one first is the caller's business) */
  script: string;
  rules: number;
  skipped: number;
  sets: number;
}

const HOOKS: Record<string, string> = { INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output' };

/** nft set names take no `:`: Felix's `cali40s:…` ipset becomes `cali40s-…`. */
const setName = (ipset: string): string => ipset.replace(/:/g, '-');
const chainName = (chain: string): string => `filter-${chain}`;
const quoted = (s: string): string => `"${s.replace(/["\\]/g, '')}"`;
const iface = (name: string): string => quoted(name.endsWith('+') ? `${name.slice(0, -1)}*` : name);

/** One rule in nft syntax, or null when a match or the target is not one this translation knows. */
const translateRule = (rule: IptablesRule, ip: 'ip' | 'ip6'): { text: string; sets: string[] } | null => {
  const parts: string[] = [];
  const sets: string[] = [];
  const comments: string[] = [];
  let protocol: string | null = null;
  for (const m of ruleMatches(rule)) {
    for (const o of m.options) {
      const not = o.negated ? '!= ' : '';
      const v = o.values[0] ?? '';
      if (m.module === null && (o.flag === '-p' || o.flag === '--protocol')) {
        protocol = v;
        parts.push(`meta l4proto ${not}${v}`);
      } else if (m.module === null && (o.flag === '-s' || o.flag === '-d')) parts.push(`${ip} ${o.flag === '-s' ? 'saddr' : 'daddr'} ${not}${v}`);
      else if (m.module === null && (o.flag === '-i' || o.flag === '-o')) parts.push(`${o.flag === '-i' ? 'iifname' : 'oifname'} ${not}${iface(v)}`);
      else if (m.module === 'conntrack' && o.flag === '--ctstate') parts.push(`ct state ${not}${v.toLowerCase()}`);
      else if (m.module === 'mark' && o.flag === '--mark') {
        const [value, mask = '0xffffffff'] = v.split('/');
        parts.push(`meta mark & ${mask} ${o.negated ? '!=' : '=='} ${value}`);
      } else if (m.module === 'set' && o.flag === '--match-set') {
        const name = setName(v);
        sets.push(name);
        parts.push(`${ip} ${(o.values[1] ?? 'src').startsWith('src') ? 'saddr' : 'daddr'} ${not}@${name}`);
      } else if ((m.module === 'multiport' || m.module === 'tcp' || m.module === 'udp') && /^--(d|s)ports?$/.test(o.flag) && protocol !== null) {
        const ports = v.split(',').map((p) => p.replace(':', '-'));
        parts.push(`${protocol} ${o.flag.startsWith('--d') ? 'dport' : 'sport'} ${not}${ports.length > 1 ? `{ ${ports.join(', ')} }` : ports[0]}`);
      } else if (m.module === 'addrtype' && (o.flag === '--dst-type' || o.flag === '--src-type')) {
        parts.push(`fib ${o.flag === '--dst-type' ? 'daddr' : 'saddr'} type ${not}${v.toLowerCase()}`);
      } else if (m.module === 'comment' && o.flag === '--comment') comments.push(o.values.join(' '));
      else return null;
    }
  }
  parts.push(`counter packets ${rule.packets ?? 0} bytes ${rule.bytes ?? 0}`);
  const target = rule.target;
  if (target === 'ACCEPT' || target === 'DROP' || target === 'RETURN') parts.push(target.toLowerCase());
  else if (target === 'MARK' && rule.targetArgs[0] === '--set-xmark') {
    const [value, mask = '0xffffffff'] = (rule.targetArgs[1] ?? '').split('/');
    parts.push(`meta mark set meta mark & 0x${((~Number(mask)) >>> 0).toString(16).padStart(8, '0')} | ${value}`);
  } else if (target !== null && target.startsWith('cali-')) parts.push(`${rule.targetKind === 'goto' ? 'goto' : 'jump'} ${chainName(target)}`);
  else if (target !== null) return null;
  const id = comments.find((c) => c.startsWith('cali:'));
  const rest = comments.filter((c) => c !== id);
  if (id !== undefined) parts.push(`comment ${quoted(`${id};${rest.length > 0 ? ` ${rest.join('; ')}` : ''}`)}`);
  return { text: parts.join(' '), sets };
};

/** The filter table of an `iptables-save -c` dump as Felix's nftables dataplane would hold it. */
export function nftablesFromIptablesSave(text: string, family: 'ipv4' | 'ipv6'): NftScript {
  const parsed = parseIptablesSave(text);
  if (!parsed.ok) throw new Error(`the generated dump does not parse: ${parsed.error.message}`);
  const ip = family === 'ipv4' ? 'ip' : 'ip6';
  const addrType = family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr';
  const chains: string[] = [];
  const rules: string[] = [];
  const sets = new Set<string>();
  let skipped = 0;
  for (const table of parsed.value.tables) {
    const count = table.chains.reduce((n, c) => n + c.ruleCount, 0);
    if (table.name !== 'filter') {
      skipped += count;
      continue;
    }
    for (const chain of table.chains) {
      const hook = HOOKS[chain.name];
      chains.push(hook !== undefined ? `  chain ${chainName(chain.name)} { type filter hook ${hook} priority filter; policy accept; }` : `  chain ${chainName(chain.name)} { }`);
      for (const rule of chain.rules) {
        const t = translateRule(rule, ip);
        if (t === null) {
          skipped++;
          continue;
        }
        for (const s of t.sets) sets.add(s);
        rules.push(`add rule ${ip} calico ${chainName(chain.name)} ${t.text}`);
      }
    }
  }
  const head = [`table ${ip} calico {`, ...[...sets].map((s) => `  set ${s} { type ${addrType}; flags interval; }`), ...chains, '}'];
  return { script: `${head.join('\n')}\n${rules.join('\n')}\n`, rules: rules.length, skipped, sets: sets.size };
}
