/**
 * Pure address helpers for correlation: CIDR parsing, containment, overlap. IPv4 is held as an
 * unsigned 32-bit number, IPv6 as a bigint; nothing here throws on bad input (null instead).
 */

export interface Cidr {
  family: 'inet' | 'inet6';
  /** first address of the prefix */
  start: bigint;
  /** last address of the prefix */
  end: bigint;
  prefix: number;
  /** normalised text form `addr/prefix` with host bits cleared */
  text: string;
}

/** Parses dotted IPv4 into an unsigned 32-bit number, or null. */
export const parseIPv4 = (s: string): number | null => {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255 || digits > 3) return null;
    } else if (c === 46) {
      if (digits === 0) return null;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      if (dots > 3) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + part;
};

const formatIPv4 = (n: number): string => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Parses IPv6 text (with `::` and an optional embedded IPv4 tail) into a bigint, or null. */
export const parseIPv6 = (s: string): bigint | null => {
  const text = s.toLowerCase();
  if (text.length < 2 || !/^[0-9a-f:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const toGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i] as string;
      if (p.includes('.')) {
        if (i !== pieces.length - 1) return null;
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        if (p.length === 0 || p.length > 4) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = toGroups(halves[0] as string);
  const tail = halves.length === 2 ? toGroups(halves[1] as string) : [];
  if (head === null || tail === null) return null;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else groups = head;
  if (groups.length !== 8) return null;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
};

const formatIPv6 = (v: bigint): string => {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
};

/** Parses `addr/prefix` (or a bare address as a host prefix); null when not an address. */
export const parseCidr = (s: string): Cidr | null => {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const prefixText = slash < 0 ? null : s.slice(slash + 1);
  if (prefixText !== null && !/^\d{1,3}$/.test(prefixText)) return null;
  const v4 = parseIPv4(addr);
  if (v4 !== null) {
    const prefix = prefixText === null ? 32 : Number(prefixText);
    if (prefix > 32) return null;
    const size = 2 ** (32 - prefix);
    const start = v4 - (v4 % size);
    return { family: 'inet', start: BigInt(start), end: BigInt(start + size - 1), prefix, text: `${formatIPv4(start)}/${prefix}` };
  }
  const v6 = parseIPv6(addr);
  if (v6 === null) return null;
  const prefix = prefixText === null ? 128 : Number(prefixText);
  if (prefix > 128) return null;
  const hostBits = BigInt(128 - prefix);
  const start = (v6 >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  return { family: 'inet6', start, end, prefix, text: `${formatIPv6(start)}/${prefix}` };
};

export const contains = (outer: Cidr, inner: Cidr): boolean =>
  outer.family === inner.family && outer.prefix <= inner.prefix && outer.start <= inner.start && inner.end <= outer.end;

export const overlaps = (a: Cidr, b: Cidr): boolean => a.family === b.family && a.start <= b.end && b.start <= a.end;

/** Number of addresses in the prefix (as a JS number; exact up to 2^53). */
export const cidrSize = (c: Cidr): number => 2 ** ((c.family === 'inet' ? 32 : 128) - c.prefix);

/** `10.0.0.1/32` → `10.0.0.1`; other prefixes and bare addresses unchanged. */
export const stripHostPrefix = (s: string): string =>
  s.endsWith('/32') || s.endsWith('/128') ? s.slice(0, s.lastIndexOf('/')) : s;

/**
 * Longest-prefix lookup over a set of prefixes, built once per node when exact matching was not
 * enough: one Map per prefix length, probed from the longest length down (≤ 33 / 129 probes).
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
    const bits = c.family === 'inet' ? 32 : 128;
    const offset = c.family === 'inet6' ? 1000 : 0;
    for (const key of this.lengths) {
      const prefix = key - offset;
      if (prefix < 0 || prefix > bits || key >= 1000 !== (offset === 1000)) continue;
      if (prefix > c.prefix || prefix < minPrefix) continue;
      const hostBits = BigInt(bits - prefix);
      const start = (c.start >> hostBits) << hostBits;
      const v = this.byLength.get(key)?.get(start);
      if (v !== undefined) return { value: v, prefix };
    }
    return undefined;
  }
}
