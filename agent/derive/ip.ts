/**
 * Pure IP/CIDR helpers for the derive and check code: parse IPv4/IPv6 text to a bigint and test
 * containment. Never throws; unparsable input yields null / false.
 */

export interface ParsedIp {
  family: 'inet' | 'inet6';
  value: bigint;
}

const parseV4 = (s: string): bigint | null => {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
};

const parseV6 = (input: string): bigint | null => {
  let s = input.toLowerCase();
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  // embedded IPv4 tail (::ffff:1.2.3.4)
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  let groups: string[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
};

export const parseIp = (s: string): ParsedIp | null => {
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === null ? null : { family: 'inet6', value: v };
  }
  const v = parseV4(s);
  return v === null ? null : { family: 'inet', value: v };
};

export interface ParsedCidr {
  family: 'inet' | 'inet6';
  network: bigint;
  prefixlen: number;
}

/** `10.0.0.0/26`, or a bare address (host route as iproute2 prints it) as a full-length prefix. */
export const parseCidr = (s: string): ParsedCidr | null => {
  const slash = s.indexOf('/');
  const addr = parseIp(slash >= 0 ? s.slice(0, slash) : s);
  if (addr === null) return null;
  const bits = addr.family === 'inet' ? 32 : 128;
  let prefixlen = bits;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefixlen = Number(p);
    if (prefixlen > bits) return null;
  }
  const mask = prefixlen === 0 ? 0n : ((1n << BigInt(prefixlen)) - 1n) << BigInt(bits - prefixlen);
  return { family: addr.family, network: addr.value & mask, prefixlen };
};

/** Containment on already parsed values (parse once when testing many addresses). */
export const cidrContainsParsed = (c: ParsedCidr, a: ParsedIp): boolean => {
  if (c.family !== a.family) return false;
  const bits = c.family === 'inet' ? 32 : 128;
  const mask = c.prefixlen === 0 ? 0n : ((1n << BigInt(c.prefixlen)) - 1n) << BigInt(bits - c.prefixlen);
  return (a.value & mask) === c.network;
};

export const cidrContains = (cidr: string, ip: string): boolean => {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  return c !== null && a !== null && cidrContainsParsed(c, a);
};

/** Full-length prefix: a host route (`/32`, `/128`, or no prefix as iproute2 prints it). */
export const isHostRoute = (dst: string): boolean => {
  const c = parseCidr(dst);
  return c !== null && c.prefixlen === (c.family === 'inet' ? 32 : 128);
};

/** The address part of `a.b.c.d/n` or a bare address. */
export const stripPrefix = (dst: string): string => {
  const slash = dst.indexOf('/');
  return slash >= 0 ? dst.slice(0, slash) : dst;
};

export const isDefaultDst = (dst: string): boolean => dst === 'default' || dst === '0.0.0.0/0' || dst === '::/0';

export const isLinkLocal = (ip: string): boolean => {
  if (ip.includes(':')) return /^fe[89ab]/i.test(ip) && cidrContains('fe80::/10', ip);
  return ip.startsWith('169.254.');
};

/**
 * Longest-prefix-free lookup of "which of these CIDRs holds this address", grouped by prefix length
 * so a lookup costs one mask per distinct length (Calico blocks share one or two lengths).
 */
export interface CidrIndex {
  find(ip: string): string | undefined;
}
export const cidrIndex = (cidrs: readonly string[]): CidrIndex => {
  const groups = new Map<string, { family: 'inet' | 'inet6'; mask: bigint; nets: Map<bigint, string> }>();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c === null) continue;
    const key = `${c.family}/${c.prefixlen}`;
    let g = groups.get(key);
    if (g === undefined) {
      const bits = c.family === 'inet' ? 32 : 128;
      const mask = c.prefixlen === 0 ? 0n : ((1n << BigInt(c.prefixlen)) - 1n) << BigInt(bits - c.prefixlen);
      g = { family: c.family, mask, nets: new Map() };
      groups.set(key, g);
    }
    if (!g.nets.has(c.network)) g.nets.set(c.network, text);
  }
  return {
    find(ip: string): string | undefined {
      const a = parseIp(ip);
      if (a === null) return undefined;
      for (const g of groups.values()) {
        if (g.family !== a.family) continue;
        const hit = g.nets.get(a.value & g.mask);
        if (hit !== undefined) return hit;
      }
      return undefined;
    },
  };
};
