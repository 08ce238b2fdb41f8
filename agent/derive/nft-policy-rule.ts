/**
 * Calico's native nftables dataplane, rule by rule, as the backend-neutral PolicyRule the
 * encapsulation-guard derivation and the drop checks read (pure). Only `ip` and `ip6` tables map
 * (Felix writes `ip calico` / `ip6 calico`); other families give null.
 *   verdict   accept/drop/reject/return → ACCEPT/DROP/REJECT/RETURN; jump/goto → the target chain
 *   protocol  `meta l4proto X`, `ip protocol X`, `ip6 nexthdr X`, else implied by a transport
 *             header match (`udp dport 4789` is UDP: nft adds that dependency itself)
 *   dports    `<proto> dport N` / `{ N, M }`
 *   matchSets `ip saddr @set` (src), `ip daddr != @set` (dst, negated), concatenations `src,dst`
 *   dstTypeLocal  `fib daddr type local` true, `!= local` false
 *   sources   literal `ip saddr` addresses, prefixes, ranges (not sets, not negated)
 *   caliId / comments  from `comment "cali:<id>; text"`
 */
import type { PolicyRule } from './policy-rule.js';
import { splitCaliComment, type NftMatch, type NftRule, type NftValue } from '../parsers/nft-json.js';

const TRANSPORT = new Set(['udp', 'tcp', 'sctp', 'udplite', 'dccp']);
const POSITIVE = new Set(['==', 'in']);

export const nftFamily = (family: string): 'ipv4' | 'ipv6' | null => (family === 'ip' ? 'ipv4' : family === 'ip6' ? 'ipv6' : null);

export const nftVerdictName = (r: NftRule): string | null => {
  const v = r.verdict;
  if (v === null) return null;
  if (v.kind === 'jump' || v.kind === 'goto') return v.target;
  return v.kind.toUpperCase();
};

const numbersOf = (v: NftValue): number[] => {
  if (typeof v === 'number') return [v];
  if (typeof v === 'string' && /^\d+$/.test(v)) return [Number(v)];
  if (Array.isArray(v)) return v.flatMap(numbersOf);
  if (v !== null && typeof v === 'object' && 'set' in v) return numbersOf(v.set as NftValue);
  return [];
};

const directionOf = (field: string): string | null => (field.endsWith(' saddr') ? 'src' : field.endsWith(' daddr') ? 'dst' : null);

const setMatch = (m: NftMatch): PolicyRule['matchSets'][number] | null => {
  if (typeof m.right !== 'string' || !m.right.startsWith('@') || m.right.length < 2) return null;
  if (!POSITIVE.has(m.op) && m.op !== '!=') return null;
  const dirs = m.fields.map(directionOf).filter((d): d is string => d !== null);
  return { name: m.right.slice(1), negated: m.op === '!=', direction: dirs.length > 0 ? dirs.join(',') : m.left };
};

export const nftPolicyRule = (r: NftRule): PolicyRule | null => {
  const family = nftFamily(r.family);
  if (family === null) return null;
  let protocol: string | null = null;
  let implied: string | null = null;
  const dports: number[] = [];
  const matchSets: PolicyRule['matchSets'] = [];
  let dstTypeLocal: boolean | null = null;
  const sources: string[] = [];
  for (const m of r.matches) {
    const positive = POSITIVE.has(m.op);
    if (positive && (m.left === 'meta l4proto' || m.left === 'ip protocol' || m.left === 'ip6 nexthdr') && (typeof m.right === 'string' || typeof m.right === 'number')) {
      protocol = String(m.right);
    }
    for (const f of m.fields) {
      const proto = f.split(' ')[0];
      if (proto !== undefined && TRANSPORT.has(proto)) implied ??= proto;
    }
    // ports only from a match on the port alone (a concatenation's set holds tuples)
    if (positive && m.fields.length === 1 && m.fields[0]?.endsWith(' dport')) dports.push(...numbersOf(m.right));
    const s = setMatch(m);
    if (s !== null) matchSets.push(s);
    if (m.left === 'fib daddr type' && m.right === 'local') dstTypeLocal = positive;
    // `ip saddr 10.0.0.1`, `ip saddr { a, b }`, `ip saddr 10.0.0.0/8`: literal sources, not sets
    if (positive && (m.left === 'ip saddr' || m.left === 'ip6 saddr')) sources.push(...literalAddresses(m.right));
  }
  const { caliId, comments } = splitCaliComment(r.comment);
  return {
    family,
    table: `${r.family} ${r.table}`,
    chain: r.chain,
    index: r.index,
    verdict: nftVerdictName(r),
    protocol: protocol ?? implied,
    dports,
    matchSets,
    dstTypeLocal,
    packets: r.counter?.packets ?? 0,
    bytes: r.counter?.bytes ?? 0,
    caliId,
    comments,
    text: r.text,
    ...(sources.length > 0 ? { sources } : {}),
  };
};

/** The addresses / prefixes / ranges a match's right side names literally (a `@set` reference names none). */
const literalAddresses = (v: NftValue): string[] => {
  if (typeof v === 'string') return v.startsWith('@') ? [] : [v];
  if (Array.isArray(v)) return v.flatMap(literalAddresses);
  if (v !== null && typeof v === 'object') {
    if ('set' in v) return literalAddresses(v.set as NftValue);
    const p = v.prefix;
    if (p !== null && typeof p === 'object' && !Array.isArray(p) && (typeof p.addr === 'string') && typeof p.len === 'number') return [`${p.addr}/${p.len}`];
    const range = v.range;
    if (Array.isArray(range) && range.length === 2 && typeof range[0] === 'string' && typeof range[1] === 'string') return [`${range[0]}-${range[1]}`];
  }
  return [];
};
