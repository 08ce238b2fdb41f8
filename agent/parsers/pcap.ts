/**
 * Our own pcap decoder (pure): the classic libpcap file format as tcpdump writes it, both byte
 * orders, microsecond and nanosecond magic; link types Ethernet (1), Linux cooked SLL (113), SLL2
 * (276, what `tcpdump -i any` writes since libpcap 1.10) and RAW (101, e.g. `-i tunl0`). Decodes
 * IPv4/IPv6 → UDP → VXLAN → inner Ethernet → IPv4/IPv6, IPIP (protocol 4), ICMP/ICMPv6 echo,
 * TCP and UDP ports.
 *
 * Never throws: a file that is not pcap is a ParseError; a capture cut mid-record (tcpdump killed)
 * keeps the records before the cut and says so in `warnings`; a packet cut by the snap length is a
 * record flagged `truncated` with the fields that were present.
 */
import type { CaptureRecord } from '../../contract/capture.js';
import { parsed, parseError, type Parsed } from '../../contract/result.js';

export const LINKTYPE = { ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

export interface PcapOptions {
  /** name for records of single-interface captures (Ethernet, SLL, RAW) */
  interface?: string;
  /** SLL2 carries an interface index: name it when known */
  ifindexNames?: Readonly<Record<number, string>>;
  /** UDP destination ports decoded as VXLAN (default [4789]) */
  vxlanPorts?: readonly number[];
}

export interface PcapDecoded {
  linkType: number;
  linkTypeName: string;
  precision: 'micro' | 'nano';
  snaplen: number;
  /** packets in the file (decoded or not) */
  packets: number;
  records: CaptureRecord[];
  warnings: string[];
}

const LINK_NAMES: Record<number, string> = { 1: 'EN10MB', 101: 'RAW', 113: 'LINUX_SLL', 276: 'LINUX_SLL2' };

/** Bounds-checked big-endian reads over a packet slice; out-of-range reads return null. */
class Bytes {
  constructor(
    readonly buf: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {}
  get length(): number {
    return this.end - this.start;
  }
  has(off: number, n: number): boolean {
    return off >= 0 && n >= 0 && this.start + off + n <= this.end;
  }
  u8(off: number): number | null {
    return this.has(off, 1) ? (this.buf[this.start + off] as number) : null;
  }
  u16(off: number): number | null {
    if (!this.has(off, 2)) return null;
    const i = this.start + off;
    return ((this.buf[i] as number) << 8) | (this.buf[i + 1] as number);
  }
  u32(off: number): number | null {
    if (!this.has(off, 4)) return null;
    const i = this.start + off;
    return (((this.buf[i] as number) << 24) >>> 0) + (((this.buf[i + 1] as number) << 16) | ((this.buf[i + 2] as number) << 8) | (this.buf[i + 3] as number));
  }
  slice(off: number, n?: number): Bytes {
    const s = Math.min(this.end, this.start + Math.max(0, off));
    const e = n === undefined ? this.end : Math.min(this.end, s + Math.max(0, n));
    return new Bytes(this.buf, s, e);
  }
  raw(off: number, n: number): Uint8Array | null {
    return this.has(off, n) ? this.buf.subarray(this.start + off, this.start + off + n) : null;
  }
}

/** Two-digit hex for every byte value (a constant table, built once). */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hx = (b: Uint8Array, i: number): string => HEX[b[i] as number] as string;
export const formatMac = (b: Uint8Array): string => `${hx(b, 0)}:${hx(b, 1)}:${hx(b, 2)}:${hx(b, 3)}:${hx(b, 4)}:${hx(b, 5)}`;
export const formatIPv4 = (b: Uint8Array): string => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;

/** RFC 5952 text for 16 bytes. */
export const formatIPv6 = (b: Uint8Array): string => {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] as number) << 8) | (b[i + 1] as number));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const part = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return part(g);
  return `${part(g.slice(0, bestStart))}::${part(g.slice(bestStart + bestLen))}`;
};

const TCP_FLAGS: Array<[number, string]> = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
];
/** tcpdump's notation: `S`, `S.`, `R.`, `P.`, `.` (ACK alone), `none` */
const tcpFlags = (f: number): string => {
  const s = TCP_FLAGS.filter(([bit]) => f & bit)
    .map(([, c]) => c)
    .join('');
  const ack = f & 0x10 ? '.' : '';
  return s + ack || 'none';
};

/** ISO 8601 with the capture's precision; `cache` keeps the last second's text (per parse call). */
const isoTime = (sec: number, frac: number, nano: boolean, cache: { sec: number; text: string }): string => {
  if (cache.sec !== sec) {
    const d = new Date(sec * 1000);
    cache.sec = sec;
    cache.text = (Number.isNaN(d.getTime()) ? new Date(0) : d).toISOString().slice(0, 19);
  }
  const digits = nano ? String(frac).padStart(9, '0') : String(frac).padStart(6, '0');
  return `${cache.text}.${digits}Z`;
};

interface DecodeState {
  truncated: boolean;
}

type IpLayer = {
  src: string;
  dst: string;
  proto: number;
  payload: Bytes;
  /** non-first fragment: no transport header */
  fragment: boolean;
};

const ip = (b: Bytes, state: DecodeState): IpLayer | null => {
  const v = b.u8(0);
  if (v === null) {
    state.truncated = true;
    return null;
  }
  const version = v >> 4;
  if (version === 4) {
    const ihl = (v & 0x0f) * 4;
    const src = b.raw(12, 4);
    const dst = b.raw(16, 4);
    const proto = b.u8(9);
    if (!src || !dst || proto === null) {
      state.truncated = true;
      return null;
    }
    if (ihl < 20) return null;
    const total = b.u16(2) ?? 0;
    const frag = b.u16(6) ?? 0;
    const payloadLen = total >= ihl ? total - ihl : b.length - ihl;
    if (!b.has(ihl, 0)) state.truncated = true;
    const payload = b.slice(ihl, payloadLen);
    if (payload.length < payloadLen) state.truncated = true;
    return { src: formatIPv4(src), dst: formatIPv4(dst), proto, payload, fragment: (frag & 0x1fff) !== 0 };
  }
  if (version === 6) {
    const src = b.raw(8, 16);
    const dst = b.raw(24, 16);
    let next = b.u8(6);
    const plen = b.u16(4);
    if (!src || !dst || next === null || plen === null) {
      state.truncated = true;
      return null;
    }
    let off = 40;
    let fragment = false;
    // Skip extension headers: hop-by-hop, routing, fragment, destination options.
    for (let guard = 0; guard < 8 && (next === 0 || next === 43 || next === 44 || next === 60); guard++) {
      const nh = b.u8(off);
      const len = next === 44 ? 8 : ((b.u8(off + 1) ?? 0) + 1) * 8;
      if (nh === null || !b.has(off, len)) {
        state.truncated = true;
        return { src: formatIPv6(src), dst: formatIPv6(dst), proto: next, payload: b.slice(b.length), fragment };
      }
      if (next === 44 && ((b.u16(off + 2) ?? 0) & 0xfff8) !== 0) fragment = true;
      next = nh;
      off += len;
    }
    const end = 40 + plen;
    const payload = b.slice(off, Math.max(0, end - off));
    if (b.length < end) state.truncated = true;
    return { src: formatIPv6(src), dst: formatIPv6(dst), proto: next, payload, fragment };
  }
  return null;
};

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 4: 'ipip', 41: 'ipv6' };

/** Transport fields of a (possibly inner) IP packet into the record. */
const transport = (l: IpLayer, rec: CaptureRecord, state: DecodeState): void => {
  rec.protocol = PROTO_NAMES[l.proto] ?? String(l.proto);
  if (l.fragment) return;
  const p = l.payload;
  if (l.proto === 1 || l.proto === 58) {
    const type = p.u8(0);
    const code = p.u8(1);
    if (type === null || code === null) {
      state.truncated = true;
      return;
    }
    const echo = l.proto === 1 ? type === 8 || type === 0 : type === 128 || type === 129;
    rec.icmp = { type, code };
    if (echo) {
      const id = p.u16(4);
      const seq = p.u16(6);
      if (id === null || seq === null) state.truncated = true;
      else rec.icmp = { type, code, id, seq };
    }
  } else if (l.proto === 6) {
    const sp = p.u16(0);
    const dp = p.u16(2);
    const seq = p.u32(4);
    const flags = p.u8(13);
    if (sp === null || dp === null || seq === null || flags === null) {
      state.truncated = true;
      return;
    }
    rec.tcp = { srcPort: sp, dstPort: dp, flags: tcpFlags(flags), seq };
  } else if (l.proto === 17) {
    const sp = p.u16(0);
    const dp = p.u16(2);
    if (sp === null || dp === null) {
      state.truncated = true;
      return;
    }
    rec.udp = { srcPort: sp, dstPort: dp };
  }
};

/** Ethernet: returns the ethertype and payload after VLAN tags, with the MACs. */
const ethernet = (b: Bytes): { type: number; payload: Bytes; dst: Uint8Array; src: Uint8Array } | null => {
  const dst = b.raw(0, 6);
  const src = b.raw(6, 6);
  let type = b.u16(12);
  let off = 14;
  if (!dst || !src || type === null) return null;
  for (let i = 0; i < 2 && (type === 0x8100 || type === 0x88a8); i++) {
    const t: number | null = b.u16(off + 2);
    if (t === null) return null;
    type = t;
    off += 4;
  }
  return { type, payload: b.slice(off), dst, src };
};

/**
 * The encapsulated IP packet (VXLAN's inner frame payload, IPIP's payload) and its transport.
 * Cut inside the inner IP header: the inner addresses are unknown and the record is truncated.
 */
const decodeInner = (payload: Bytes, rec: CaptureRecord, state: DecodeState, protocolWhenCut: string): void => {
  const inner = ip(payload, state);
  if (!inner) {
    rec.protocol = protocolWhenCut;
    rec.innerSrc = '';
    rec.innerDst = '';
    state.truncated = true;
    return;
  }
  rec.innerSrc = inner.src;
  rec.innerDst = inner.dst;
  transport(inner, rec, state);
};

const decodeIpPacket = (b: Bytes, rec: CaptureRecord, state: DecodeState, vxlanPorts: readonly number[]): boolean => {
  const outer = ip(b, state);
  if (!outer) return false;
  rec.outerSrc = outer.src;
  rec.outerDst = outer.dst;
  rec.innerSrc = outer.src;
  rec.innerDst = outer.dst;
  if (outer.fragment) {
    rec.protocol = PROTO_NAMES[outer.proto] ?? String(outer.proto);
    return true;
  }
  // VXLAN: UDP to a VXLAN port, flags with the I bit, then an inner Ethernet frame.
  const dport = outer.proto === 17 ? outer.payload.u16(2) : null;
  if (dport !== null && vxlanPorts.includes(dport)) {
    const vx = outer.payload.slice(8);
    const flags = vx.u8(0);
    const vniHi = vx.u16(4);
    const vniLo = vx.u8(6);
    if (flags === null || vniHi === null || vniLo === null) {
      transport(outer, rec, state);
      state.truncated = true;
      return true;
    }
    if ((flags & 0x08) === 0) {
      // not VXLAN (no valid-VNI flag): keep as plain UDP
      transport(outer, rec, state);
      return true;
    }
    rec.encapsulation = 'vxlan';
    rec.vni = (vniHi << 8) | vniLo;
    const eth = ethernet(vx.slice(8));
    if (!eth) {
      rec.protocol = 'unknown';
      rec.innerSrc = '';
      rec.innerDst = '';
      state.truncated = true;
      return true;
    }
    rec.innerSrcMac = formatMac(eth.src);
    rec.innerDstMac = formatMac(eth.dst);
    if (eth.type !== 0x0800 && eth.type !== 0x86dd) {
      rec.protocol = `ethertype-0x${eth.type.toString(16).padStart(4, '0')}`;
      return true;
    }
    decodeInner(eth.payload, rec, state, 'unknown');
    return true;
  }
  if (outer.proto === 4) {
    rec.encapsulation = 'ipip';
    decodeInner(outer.payload, rec, state, 'ipip');
    return true;
  }
  transport(outer, rec, state);
  return true;
};

const SLL_DIRECTION = (pkttype: number | null): 'in' | 'out' | 'other' => (pkttype === 0 ? 'in' : pkttype === 4 ? 'out' : 'other');

/** Decodes one packet's bytes for a link type; null when it is not an IP packet. */
export const decodePacket = (
  data: Uint8Array,
  linkType: number,
  time: string,
  opts: PcapOptions = {},
): CaptureRecord | null => {
  const b = new Bytes(data, 0, data.length);
  const vxlanPorts = opts.vxlanPorts ?? [4789];
  const rec: CaptureRecord = {
    time,
    interface: opts.interface ?? 'unknown',
    outerSrc: '',
    outerDst: '',
    encapsulation: 'none',
    innerSrc: '',
    innerDst: '',
    protocol: 'unknown',
  };
  const state: DecodeState = { truncated: false };
  let l3: Bytes;
  let etherType: number | null;
  let frameMacs: { src: string; dst: string } | null = null;
  if (linkType === LINKTYPE.ETHERNET) {
    const eth = ethernet(b);
    if (!eth) return null;
    etherType = eth.type;
    l3 = eth.payload;
    frameMacs = { src: formatMac(eth.src), dst: formatMac(eth.dst) };
  } else if (linkType === LINKTYPE.LINUX_SLL) {
    rec.direction = SLL_DIRECTION(b.u16(0));
    etherType = b.u16(14);
    l3 = b.slice(16);
  } else if (linkType === LINKTYPE.LINUX_SLL2) {
    etherType = b.u16(0);
    const ifindex = b.u32(4);
    rec.direction = SLL_DIRECTION(b.u8(10));
    if (ifindex !== null) rec.interface = opts.ifindexNames?.[ifindex] ?? `ifindex-${ifindex}`;
    l3 = b.slice(20);
  } else if (linkType === LINKTYPE.RAW) {
    const v = b.u8(0);
    etherType = v === null ? null : v >> 4 === 6 ? 0x86dd : 0x0800;
    l3 = b;
  } else return null;
  if (etherType !== 0x0800 && etherType !== 0x86dd) return null;
  if (!decodeIpPacket(l3, rec, state, vxlanPorts)) return null;
  // Unencapsulated frames on an Ethernet-type device (a VXLAN device itself): the frame's own MACs,
  // i.e. what becomes the inner MACs once the device encapsulates it.
  if (rec.encapsulation === 'none' && frameMacs) {
    rec.innerSrcMac = frameMacs.src;
    rec.innerDstMac = frameMacs.dst;
  }
  if (state.truncated) rec.truncated = true;
  return rec;
};

/** Decodes a whole pcap file. */
export const parsePcap = (input: Uint8Array, opts: PcapOptions = {}): Parsed<PcapDecoded> => {
  if (input.length === 0) return parseError('empty', 'the capture file is empty');
  if (input.length < 24) return parseError('truncated', `pcap global header needs 24 bytes, got ${input.length}`);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const magicBE = view.getUint32(0, false);
  let little: boolean;
  let nano: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) {
    little = false;
    nano = magicBE === 0xa1b23c4d;
  } else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) {
    little = true;
    nano = magicBE === 0x4d3cb2a1;
  } else if (magicBE === 0x0a0d0d0a) {
    return parseError('incompatible', 'pcapng files are not supported (tcpdump -w writes classic pcap)');
  } else {
    return parseError('syntax', `not a pcap file (magic 0x${magicBE.toString(16).padStart(8, '0')})`);
  }
  const major = view.getUint16(4, little);
  if (major !== 2) return parseError('incompatible', `pcap version ${major} is not supported`);
  const snaplen = view.getUint32(16, little);
  const linkType = view.getUint32(20, little) & 0xffff;
  const linkTypeName = LINK_NAMES[linkType] ?? `LINKTYPE_${linkType}`;
  const warnings: string[] = [];
  if (!(linkType in LINK_NAMES)) warnings.push(`link type ${linkType} is not decoded; packets are counted only`);
  const records: CaptureRecord[] = [];
  let packets = 0;
  let notIp = 0;
  let off = 24;
  const timeCache = { sec: -1, text: '' };
  while (off < input.length) {
    if (off + 16 > input.length) {
      warnings.push(`capture truncated: ${input.length - off} bytes of a record header at the end`);
      break;
    }
    const sec = view.getUint32(off, little);
    const frac = view.getUint32(off + 4, little);
    const caplen = view.getUint32(off + 8, little);
    const origlen = view.getUint32(off + 12, little);
    if (caplen > 262144 || (nano ? frac > 999_999_999 : frac > 999_999)) {
      warnings.push(`corrupt record header at byte ${off} (caplen ${caplen}); rest of the file skipped`);
      break;
    }
    if (off + 16 + caplen > input.length) {
      warnings.push(`capture truncated: record ${packets + 1} needs ${caplen} bytes, ${input.length - off - 16} present`);
      break;
    }
    packets++;
    const data = input.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (!(linkType in LINK_NAMES)) continue;
    const rec = decodePacket(data, linkType, isoTime(sec, frac, nano, timeCache), opts);
    if (rec) {
      if (caplen < origlen && !rec.truncated && rec.protocol === 'unknown') rec.truncated = true;
      records.push(rec);
    } else notIp++;
  }
  if (notIp > 0) warnings.push(`${notIp} packet(s) were not IP and were skipped`);
  return parsed({ linkType, linkTypeName, precision: nano ? 'nano' : 'micro', snaplen, packets, records, warnings });
};
