import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureRecord } from '../../../contract/capture.js';
import { formatIPv6, parsePcap, type PcapDecoded } from '../../../agent/parsers/pcap.js';

const FIX = join(import.meta.dirname, '../../fixtures/pcap');
const load = (name: string) => readFileSync(join(FIX, name));
const decode = (name: string, opts = {}): PcapDecoded => {
  const r = parsePcap(load(name), { interface: 'cdFvb', ...opts });
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.value;
};

/** Rewrites a little-endian pcap into big-endian (the same packets as a big-endian writer would store them). */
const toBigEndian = (le: Uint8Array): Uint8Array => {
  const out = new Uint8Array(le);
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const dst = new DataView(out.buffer);
  dst.setUint32(0, src.getUint32(0, true), false);
  dst.setUint16(4, src.getUint16(4, true), false);
  dst.setUint16(6, src.getUint16(6, true), false);
  for (const o of [8, 12, 16, 20]) dst.setUint32(o, src.getUint32(o, true), false);
  let off = 24;
  while (off + 16 <= le.length) {
    const caplen = src.getUint32(off + 8, true);
    for (let i = 0; i < 16; i += 4) dst.setUint32(off + i, src.getUint32(off + i, true), false);
    off += 16 + caplen;
  }
  return out;
};

/** A minimal little-endian pcap writer for synthetic packets (link type RAW or Ethernet). */
export const writePcap = (linkType: number, packets: Uint8Array[]): Uint8Array => {
  const parts: number[] = [];
  const u32 = (n: number) => parts.push(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255);
  const u16 = (n: number) => parts.push(n & 255, (n >>> 8) & 255);
  u32(0xa1b2c3d4);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(262144);
  u32(linkType);
  packets.forEach((p, i) => {
    u32(1_763_700_000 + i);
    u32(5);
    u32(p.length);
    u32(p.length);
    parts.push(...p);
  });
  return Uint8Array.from(parts);
};

const ipv4 = (proto: number, src: number[], dst: number[], payload: number[]): number[] => {
  const total = 20 + payload.length;
  return [0x45, 0, total >> 8, total & 255, 0, 1, 0, 0, 64, proto, 0, 0, ...src, ...dst, ...payload];
};
const icmpEcho = (type: number, id: number, seq: number) => [type, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255, 1, 2, 3, 4];

const echoes = (recs: CaptureRecord[]) =>
  recs.map((r) => `${r.innerSrc}>${r.innerDst} ${r.icmp?.type}/${r.icmp?.seq}`);

describe('parsePcap on real tcpdump 4.99.3 captures', () => {
  it('Ethernet underlay capture: VXLAN VNI 4096, inner MACs, ICMP echo id/seq, both directions', () => {
    const d = decode('vxlan-underlay-eth.pcap');
    expect(d.linkTypeName).toBe('EN10MB');
    expect(d.precision).toBe('micro');
    expect(d.packets).toBe(6);
    expect(d.warnings).toEqual([]);
    const [req, rep] = d.records;
    expect(req).toMatchObject({
      interface: 'cdFvb',
      outerSrc: '192.168.77.1',
      outerDst: '192.168.77.2',
      encapsulation: 'vxlan',
      vni: 4096,
      innerSrcMac: '66:aa:00:00:00:01',
      innerDstMac: '66:bb:00:00:00:02',
      innerSrc: '10.77.0.1',
      innerDst: '10.77.1.1',
      protocol: 'icmp',
      icmp: { type: 8, code: 0, id: 7646, seq: 1 },
    });
    expect(req?.time).toBe('2026-11-21T14:54:45.434003Z');
    expect(rep).toMatchObject({ outerSrc: '192.168.77.2', innerSrc: '10.77.1.1', icmp: { type: 0, id: 7646, seq: 1 } });
    expect(echoes(d.records)).toEqual([
      '10.77.0.1>10.77.1.1 8/1',
      '10.77.1.1>10.77.0.1 0/1',
      '10.77.0.1>10.77.1.1 8/2',
      '10.77.1.1>10.77.0.1 0/2',
      '10.77.0.1>10.77.1.1 8/3',
      '10.77.1.1>10.77.0.1 0/3',
    ]);
    for (const r of d.records) expect(CaptureRecord.safeParse(r).success).toBe(true);
  });

  it('-i any on tcpdump 4.99 writes SLL2: interface index named by the caller, in/out direction', () => {
    const d = decode('vxlan-any-sll2.pcap', { ifindexNames: { 2: 'eth0' } });
    expect(d.linkType).toBe(276);
    expect(d.records.map((r) => `${r.interface} ${r.direction} ${r.icmp?.type}`)).toEqual([
      'eth0 in 8',
      'eth0 out 0',
      'eth0 in 8',
      'eth0 out 0',
      'eth0 in 8',
      'eth0 out 0',
    ]);
    const unnamed = decode('vxlan-any-sll2.pcap');
    expect(unnamed.records[0]?.interface).toBe('ifindex-2');
  });

  it('SLL (v1, -y LINUX_SLL): direction from the packet type', () => {
    const d = decode('vxlan-any-sll.pcap');
    expect(d.linkType).toBe(113);
    expect(d.records.map((r) => r.direction)).toEqual(['in', 'out', 'in', 'out', 'in', 'out']);
    expect(d.records[0]).toMatchObject({ encapsulation: 'vxlan', innerDst: '10.77.1.1', icmp: { type: 8, seq: 1 } });
  });

  it('capture on the tunnel device: plain inner frames, encapsulation none', () => {
    const d = decode('vxlan-tunnel-dev.pcap', { interface: 'vxlan.calico' });
    expect(d.records).toHaveLength(6);
    expect(d.records[0]).toMatchObject({ interface: 'vxlan.calico', encapsulation: 'none', outerSrc: '10.77.0.1', innerSrc: '10.77.0.1', icmp: { type: 8, seq: 1 } });
    expect(d.records[0]?.vni).toBeUndefined();
  });

  it('nanosecond magic, IPv6 underlay and ICMPv6 echo inside VXLAN', () => {
    const d = decode('vxlan6-underlay-nano.pcap');
    expect(d.precision).toBe('nano');
    expect(d.records[0]?.time).toBe('2026-11-21T14:55:09.512463729Z');
    expect(d.records[0]).toMatchObject({
      outerSrc: 'fd77::1',
      outerDst: 'fd77::2',
      innerSrc: 'fd00:77::1',
      innerDst: 'fd00:77:1::1',
      protocol: 'icmp6',
      icmp: { type: 128, seq: 1 },
      innerDstMac: '66:bb:00:00:06:02',
    });
    expect(d.records[1]).toMatchObject({ protocol: 'icmp6', icmp: { type: 129, seq: 1 } });
  });

  it('TCP inside VXLAN: ports, flags in tcpdump notation, sequence number', () => {
    const d = decode('vxlan-tcp-rst.pcap');
    expect(d.records.map((r) => r.tcp?.flags)).toEqual(['S', 'R.', 'S', 'R.']);
    expect(d.records[0]?.tcp).toEqual({ srcPort: 44544, dstPort: 8080, flags: 'S', seq: 611162565 });
  });

  it('keeps the inner destination MAC that the gap analysis checks against the VTEP MAC', () => {
    const d = decode('vxlan-wrong-inner-mac.pcap');
    expect(d.records.map((r) => r.innerDstMac)).toEqual(['66:bb:00:00:00:99', '66:bb:00:00:00:99', '66:bb:00:00:00:99']);
    expect(d.records.every((r) => r.icmp?.type === 8)).toBe(true);
  });

  it('snap length 80: records flagged truncated, outer fields kept, inner addresses unknown', () => {
    const d = decode('vxlan-snaplen-80.pcap');
    expect(d.snaplen).toBe(80);
    expect(d.records).toHaveLength(4);
    for (const r of d.records) {
      expect(r.truncated).toBe(true);
      expect(r.encapsulation).toBe('vxlan');
      expect(r.innerSrc).toBe('');
      expect(r.icmp).toBeUndefined();
    }
    expect(d.records[0]).toMatchObject({ outerSrc: '192.168.77.1', innerDstMac: '66:bb:00:00:00:02' });
  });

  it('big-endian files decode to the same records', () => {
    const le = load('vxlan-underlay-eth.pcap');
    const be = parsePcap(toBigEndian(le), { interface: 'cdFvb' });
    const orig = parsePcap(le, { interface: 'cdFvb' });
    expect(be.ok && orig.ok).toBe(true);
    if (be.ok && orig.ok) expect(be.value.records).toEqual(orig.value.records);
  });
});

describe('parsePcap errors and truncation', () => {
  it('empty, short, pcapng and foreign files are typed errors', () => {
    expect(parsePcap(new Uint8Array())).toMatchObject({ ok: false, error: { code: 'empty' } });
    expect(parsePcap(load('vxlan-underlay-eth.pcap').subarray(0, 10))).toMatchObject({ ok: false, error: { code: 'truncated' } });
    const ng = new Uint8Array(32);
    ng.set([0x0a, 0x0d, 0x0d, 0x0a]);
    expect(parsePcap(ng)).toMatchObject({ ok: false, error: { code: 'incompatible' } });
    expect(parsePcap(new TextEncoder().encode('this is not a capture file at all'))).toMatchObject({ ok: false, error: { code: 'syntax' } });
  });

  it('a file cut mid-record (tcpdump killed) keeps the complete records and warns', () => {
    const full = load('vxlan-underlay-eth.pcap');
    const r = parsePcap(full.subarray(0, full.length - 30));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.records).toHaveLength(5);
    expect(r.value.warnings.join()).toMatch(/capture truncated/);
  });

  it('a header-only file (no packets captured) is ok with zero records', () => {
    const r = parsePcap(load('vxlan-underlay-eth.pcap').subarray(0, 24));
    expect(r).toMatchObject({ ok: true, value: { packets: 0, records: [] } });
  });
});

describe('parsePcap synthetic packets', () => {
  it('IPIP (protocol 4) on a RAW link: outer node IPs, inner pod IPs, ICMP echo', () => {
    const inner = ipv4(1, [10, 244, 1, 5], [10, 244, 2, 7], icmpEcho(8, 0x1234, 9));
    const pkt = ipv4(4, [10, 213, 0, 11], [10, 213, 0, 12], inner);
    const r = parsePcap(writePcap(101, [Uint8Array.from(pkt)]), { interface: 'tunl0' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.records[0]).toEqual({
      time: '2025-11-21T04:40:00.000005Z',
      interface: 'tunl0',
      outerSrc: '10.213.0.11',
      outerDst: '10.213.0.12',
      encapsulation: 'ipip',
      innerSrc: '10.244.1.5',
      innerDst: '10.244.2.7',
      protocol: 'icmp',
      icmp: { type: 8, code: 0, id: 0x1234, seq: 9 },
    });
  });

  it('VLAN-tagged Ethernet, ARP skipped with a warning, non-echo ICMP without id/seq', () => {
    const mac = [2, 0, 0, 0, 0, 1];
    const unreach = ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], [3, 1, 0, 0, 0, 0, 0, 0]);
    const vlan = [...mac, ...mac, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, ...unreach];
    const arp = [...mac, ...mac, 0x08, 0x06, ...new Array(28).fill(0)];
    const r = parsePcap(writePcap(1, [Uint8Array.from(vlan), Uint8Array.from(arp)]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.packets).toBe(2);
    expect(r.value.records).toHaveLength(1);
    expect(r.value.records[0]?.icmp).toEqual({ type: 3, code: 1 });
    expect(r.value.warnings).toEqual(['1 packet(s) were not IP and were skipped']);
  });

  it('a configured VXLAN port other than 4789 is decoded; 4789 then is plain UDP', () => {
    const innerEth = [0x66, 0, 0, 0, 0, 2, 0x66, 0, 0, 0, 0, 1, 0x08, 0x00, ...ipv4(1, [10, 1, 0, 1], [10, 1, 1, 1], icmpEcho(8, 1, 1))];
    const vx = [0x08, 0, 0, 0, 0, 0x10, 0x00, 0, ...innerEth];
    const udp = [0x9c, 0x40, 0x12, 0xb6, (8 + vx.length) >> 8, (8 + vx.length) & 255, 0, 0, ...vx]; // dst 4790
    const pkt = Uint8Array.from(ipv4(17, [192, 168, 0, 1], [192, 168, 0, 2], udp));
    const on4790 = parsePcap(writePcap(101, [pkt]), { vxlanPorts: [4790] });
    const on4789 = parsePcap(writePcap(101, [pkt]));
    expect(on4790.ok && on4790.value.records[0]).toMatchObject({ encapsulation: 'vxlan', vni: 4096, innerDst: '10.1.1.1' });
    expect(on4789.ok && on4789.value.records[0]).toMatchObject({ encapsulation: 'none', protocol: 'udp', udp: { srcPort: 40000, dstPort: 4790 } });
  });

  it('formats IPv6 per RFC 5952', () => {
    const b = (s: number[]) => Uint8Array.from(s);
    expect(formatIPv6(b([0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe('fd00:77::1');
    expect(formatIPv6(b(new Array(16).fill(0)))).toBe('::');
    expect(formatIPv6(b([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0]))).toBe('2001:db8:0:1::1:0');
    expect(formatIPv6(b([0x20, 1, 0x0d, 0xb8, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]))).toBe('2001:db8:1:1:1:1:1:1');
  });
});
