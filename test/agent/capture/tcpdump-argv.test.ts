import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePcap } from '../../../agent/parsers/pcap.js';
import { describe, expect, it } from 'vitest';
import { CaptureRequest } from '../../../contract/capture.js';
import { buildBpfFilter, buildTcpdumpArgv, headerSnaplen } from '../../../agent/capture/tcpdump-argv.js';
import { mulberry32 as prng } from '../../../bench/prng.js';


const META = [';', '|', '&', '$', '`', '(', ')', '<', '>', '\n', ' ', '"', "'", '\\', '*', '?', '[', ']', '{', '}', '~', '!', '#', '%', '\t', '\0'];
const SAFE_ARG = /^[A-Za-z0-9._@/=:-]+$/;

describe('buildBpfFilter', () => {
  it('composes match kinds OR-ed and peers as hosts, re-serialising IPs from their parsed form', () => {
    const req = CaptureRequest.parse({
      interfaces: ['eth0'],
      peers: ['10.213.0.12', '2001:DB8:0:0:0:0:0:1'],
      match: [{ kind: 'vxlan' }, { kind: 'icmp' }],
      durationSeconds: 5,
      maxPackets: 100,
    });
    expect(buildBpfFilter(req)).toBe('(udp dst port 4789 or (icmp or icmp6)) and (host 10.213.0.12 or host 2001:db8::1)');
    expect(buildBpfFilter({ match: [{ kind: 'ipip' }], peers: [] })).toBe('ip proto 4');
    expect(buildBpfFilter({ match: [{ kind: 'tcp', port: 8080 }, { kind: 'vxlan', port: 4790 }], peers: ['10.0.0.1'] })).toBe(
      '(tcp port 8080 or udp dst port 4790) and (host 10.0.0.1)',
    );
  });

  it('refuses unvalidated values that slipped past the schema', () => {
    expect(buildBpfFilter({ match: [{ kind: 'tcp', port: '22 or 1' as unknown as number }], peers: [] })).toBeNull();
    expect(buildBpfFilter({ match: [{ kind: 'tcp', port: 0 }], peers: [] })).toBeNull();
    expect(buildBpfFilter({ match: [{ kind: 'icmp' }], peers: ['10.0.0.1 or 1=1'] })).toBeNull();
    expect(buildBpfFilter({ match: [{ kind: 'bogus' } as never], peers: [] })).toBeNull();
    expect(buildBpfFilter({ match: [], peers: [] })).toBeNull();
  });

  it('property: for 5000 random requests with metacharacters, either the schema refuses or argv is clean', () => {
    const rnd = prng(7);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
    const noisy = (base: string) => {
      const m = pick(META);
      const at = Math.floor(rnd() * (base.length + 1));
      return rnd() < 0.5 ? base.slice(0, at) + m + base.slice(at) : base;
    };
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const raw = {
        interfaces: [noisy(pick(['eth0', 'vxlan.calico', 'cali1234abcd567', 'any', 'ens5', 'tunl0']))],
        peers: [noisy(pick(['10.213.0.12', 'fd00::1', '192.168.1.1', '::ffff:10.0.0.1']))],
        match: [pick([{ kind: 'vxlan' }, { kind: 'icmp' }, { kind: 'ipip' }, { kind: 'tcp', port: Math.floor(rnd() * 70000) }])],
        durationSeconds: pick([1, 5, 30, 31, 3600, -1, 2.5]),
        maxPackets: pick([1, 100, 10000, 10001, 0]),
      };
      const v = CaptureRequest.safeParse(raw);
      if (!v.success) {
        refused++;
        continue;
      }
      const filter = buildBpfFilter(v.data);
      expect(filter).not.toBeNull();
      const argv = buildTcpdumpArgv({
        iface: v.data.interfaces[0] as string,
        file: '/var/lib/calico-diag/captures/cap-1/x.pcap',
        maxPackets: v.data.maxPackets,
        durationSeconds: v.data.durationSeconds,
        filter: filter as string,
        user: 'root',
        snaplen: headerSnaplen(v.data),
      });
      expect(argv.ok).toBe(true);
      if (!argv.ok) continue;
      accepted++;
      // every argument but the filter is a single safe token; the filter only has the BPF alphabet
      const filterArg = argv.argv[argv.argv.length - 1] as string;
      for (const a of argv.argv.slice(0, -1)) expect(a).toMatch(SAFE_ARG);
      expect(filterArg).toMatch(/^[a-z0-9 ().:]+$/);
      for (const m of META.filter((c) => c !== ' ' && c !== '(' && c !== ')')) expect(argv.argv.join('\u0001')).not.toContain(m);
    }
    expect(accepted).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });
});

describe('buildTcpdumpArgv', () => {
  it('bounds tcpdump by -c and a SIGINT at the duration, writes with -U, never uses a shell', () => {
    const r = buildTcpdumpArgv({ iface: 'eth0', file: '/tmp/cd/cap-1/eth0.pcap', maxPackets: 50, durationSeconds: 4, filter: 'udp dst port 4789', user: 'root', snaplen: 256 });
    expect(r).toEqual({
      ok: true,
      filter: 'udp dst port 4789',
      argv: ['timeout', '--signal=INT', '--kill-after=2', '4', 'tcpdump', '-i', 'eth0', '-nn', '-U', '-s', '256', '-c', '50', '-w', '/tmp/cd/cap-1/eth0.pcap', '-Z', 'root', 'udp dst port 4789'],
    });
  });

  it('refuses bad interface names, counts, durations, paths and filters', () => {
    const base = { iface: 'eth0', file: '/tmp/x.pcap', maxPackets: 5, durationSeconds: 5, filter: 'icmp', snaplen: 128 };
    expect(buildTcpdumpArgv({ ...base, iface: '-w/etc/passwd' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, iface: 'eth0;reboot' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, maxPackets: 0 }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, durationSeconds: 3600 }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, file: '/tmp/../etc/x' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, filter: 'icmp; rm -rf /' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, user: 'root;id' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, snaplen: 0 }).ok).toBe(false);
  });
});

describe('headers-only snap length', () => {
  // #16: captures read pod traffic payload on any node
  it('keeps the headers the decoder reads for each kind and family, and no more', () => {
    expect(headerSnaplen({ match: [{ kind: 'icmp' }], peers: ['10.0.0.2'] })).toBe(20 + 20 + 20);
    expect(headerSnaplen({ match: [{ kind: 'icmp' }, { kind: 'vxlan', port: 4789 }], peers: ['10.0.0.2'] })).toBe(20 + 20 + 8 + 8 + 14 + 20 + 20);
    expect(headerSnaplen({ match: [{ kind: 'ipip' }], peers: [] })).toBe(20 + 20 + 20 + 20);
    expect(headerSnaplen({ match: [{ kind: 'vxlan', port: 4789 }], peers: ['fd00::2'] })).toBe(20 + 40 + 8 + 8 + 14 + 40 + 20);
  });

  it('is enough for the decoder: every recorded capture cut to it decodes to the same records', () => {
    for (const name of readdirSync(PCAPS).filter((f) => f.endsWith('.pcap'))) {
      const whole = new Uint8Array(readFileSync(join(PCAPS, name)));
      const full = parsePcap(whole);
      expect(full.ok, name).toBe(true);
      if (!full.ok) continue;
      const v6 = full.value.records.some((r) => r.outerSrc.includes(':'));
      const snap = headerSnaplen({ match: [{ kind: 'icmp' }, { kind: 'vxlan', port: 4789 }, { kind: 'tcp', port: 80 }], peers: v6 ? ['fd00::1'] : ['10.0.0.1'] });
      const cut = parsePcap(truncatePcap(whole, snap));
      expect(cut.ok, name).toBe(true);
      if (cut.ok) expect(cut.value.records.map(stripLengths), name).toEqual(full.value.records.map(stripLengths));
    }
  });
});

const PCAPS = join(import.meta.dirname, '../../fixtures/pcap');

/** the records without what a shorter capture length changes (captured bytes) */
const stripLengths = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => !/caplen|captured|truncated/i.test(k)));

/** A classic pcap file whose packets are cut to `snap` bytes, as tcpdump -s would have written them. */
const truncatePcap = (file: Uint8Array, snap: number): Uint8Array => {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = dv.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const out: Uint8Array[] = [file.slice(0, 24)];
  const header = new DataView(out[0]!.buffer);
  header.setUint32(16, Math.min(snap, header.getUint32(16, le)), le);
  for (let off = 24; off + 16 <= file.length; ) {
    const incl = dv.getUint32(off + 8, le);
    const keep = Math.min(incl, snap);
    const rec = file.slice(off, off + 16 + keep);
    new DataView(rec.buffer).setUint32(8, keep, le);
    out.push(rec);
    off += 16 + incl;
  }
  const all = new Uint8Array(out.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of out) {
    all.set(b, at);
    at += b.length;
  }
  return all;
};
