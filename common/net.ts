/**
 * IP addresses and prefixes, the one definition the agent's checks and the aggregator's rules
 * share. Text is validated by node:net (`isIPv4`/`isIPv6`: strict dotted quads, RFC 4291 IPv6) and
 * IPv6 groups are read by ipaddr.js; values are bigints (IPv4 32 bits, IPv6 128). Pure, never throws:
 * text that is not an address or prefix gives null (or false / undefined).
 *
 * Zone ids: an address may carry one (`fe80::1%eth0`, as `ip` prints a scoped link-local
 * neighbour): parseIp accepts it and keeps the zone apart in `zone`, the value is the address's. A
 * prefix is never scoped: parseCidr refuses any text with a `%` (`fe80::1%eth0` is not a host
 * prefix), so a zone can never make two different links' addresses the same route destination.
 */
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

export type Family = 'inet' | 'inet6';

export interface Ip {
  family: Family;
  value: bigint;
  /** the zone id of a scoped IPv6 address (`eth0` in `fe80::1%eth0`), else null */
  zone: string | null;
}

export interface Cidr {
  family: Family;
  /** first address of the prefix */
  start: bigint;
  /** last address of the prefix */
  end: bigint;
  prefix: number;
  /** normalised text `addr/prefix`, host bits cleared, IPv6 in RFC 5952 form */
  text: string;
}

const bitsOf = (family: Family): number => (family === 'inet' ? 32 : 128);

const v4Value = (s: string): bigint => {
  let v = 0n;
  for (const p of s.split('.')) v = (v << 8n) | BigInt(Number(p));
  return v;
};

/** Parses an IPv4 or IPv6 address (IPv6 with an optional zone id), or null. */
export const parseIp = (s: string): Ip | null => {
  if (typeof s !== 'string') return null;
  if (isIPv4(s)) return { family: 'inet', value: v4Value(s), zone: null };
  if (!isIPv6(s)) return null;
  const pct = s.indexOf('%');
  const zone = pct >= 0 ? s.slice(pct + 1) : null;
  let value = 0n;
  for (const g of ipaddr.IPv6.parse(pct >= 0 ? s.slice(0, pct) : s).parts) value = (value << 16n) | BigInt(g);
  return { family: 'inet6', value, zone };
};

/** The family of an address (`inet`, `inet6`), or null when it is not one. */
export const familyOf = (s: string): Family | null => (isIPv4(s) ? 'inet' : isIPv6(s) ? 'inet6' : null);

const formatValue = (family: Family, v: bigint): string => {
  if (family === 'inet') return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 255n)).join('.');
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toString();
};

/** Parses `addr/prefix`, or a bare address as its host prefix (as iproute2 prints host routes); null otherwise. */
export const parseCidr = (s: string): Cidr | null => {
  if (typeof s !== 'string' || s.includes('%')) return null;
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (ip === null) return null;
  const bits = bitsOf(ip.family);
  let prefix = bits;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > bits) return null;
  }
  const hostBits = BigInt(bits - prefix);
  const start = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, start, end: start + (1n << hostBits) - 1n, prefix, text: `${formatValue(ip.family, start)}/${prefix}` };
};

export const contains = (outer: Cidr, inner: Cidr): boolean =>
  outer.family === inner.family && outer.prefix <= inner.prefix && outer.start <= inner.start && inner.end <= outer.end;

export const overlaps = (a: Cidr, b: Cidr): boolean => a.family === b.family && a.start <= b.end && b.start <= a.end;

/** Whether the prefix `cidr` holds the address `ip` (false when either does not parse). */
export const cidrContains = (cidr: string, ip: string): boolean => {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  return c !== null && a !== null && c.family === a.family && c.start <= a.value && a.value <= c.end;
};

/** A full-length prefix: a host route (`/32`, `/128`, or no prefix as iproute2 prints it). */
export const isHostRoute = (dst: string): boolean => {
  const c = parseCidr(dst);
  return c !== null && c.prefix === bitsOf(c.family);
};

/** The address part of `addr/n` or a bare address. */
export const stripPrefix = (dst: string): string => {
  const slash = dst.indexOf('/');
  return slash >= 0 ? dst.slice(0, slash) : dst;
};

/** `10.0.0.1/32` → `10.0.0.1`; other prefixes and bare addresses unchanged. */
export const stripHostPrefix = (s: string): string =>
  s.endsWith('/32') || s.endsWith('/128') ? s.slice(0, s.lastIndexOf('/')) : s;

export const isDefaultDst = (dst: string): boolean => dst === 'default' || dst === '0.0.0.0/0' || dst === '::/0';

export const isLinkLocal = (ip: string): boolean => cidrContains('fe80::/10', ip) || cidrContains('169.254.0.0/16', ip);

/**
 * Longest-prefix lookup over a set of prefixes: one Map per prefix length, probed from the longest
 * length down (at most 33 / 129 probes).
 */
export class PrefixTable<T> {
  private readonly byLength = new Map<number, Map<bigint, T>>();
  private lengths: number[] = [];

  add(c: Cidr, value: T): void {
    const key = c.family === 'inet6' ? c.prefix + 1000 : c.prefix;
    let m = this.byLength.get(key);
    if (m === undefined) {
      m = new Map();
      this.byLength.set(key, m);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    if (!m.has(c.start)) m.set(c.start, value);
  }

  /** The longest prefix containing `c` whose length is at least `minPrefix`, or undefined. */
  lookup(c: Cidr, minPrefix = 0): { value: T; prefix: number } | undefined {
    const bits = bitsOf(c.family);
    const offset = c.family === 'inet6' ? 1000 : 0;
    for (const key of this.lengths) {
      if (key >= 1000 !== (offset === 1000)) continue;
      const prefix = key - offset;
      if (prefix > c.prefix || prefix < minPrefix) continue;
      const hostBits = BigInt(bits - prefix);
      const v = this.byLength.get(key)?.get((c.start >> hostBits) << hostBits);
      if (v !== undefined) return { value: v, prefix };
    }
    return undefined;
  }
}

/** "Which of these prefixes holds this address": a PrefixTable keyed by the prefixes' own text. */
export interface CidrIndex {
  find(ip: string): string | undefined;
}
export const cidrIndex = (cidrs: readonly string[]): CidrIndex => {
  const table = new PrefixTable<string>();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c !== null) table.add(c, text);
  }
  return {
    find(ip: string): string | undefined {
      const a = parseIp(ip);
      if (a === null) return undefined;
      const bits = bitsOf(a.family);
      return table.lookup({ family: a.family, start: a.value, end: a.value, prefix: bits, text: '' })?.value;
    },
  };
};
