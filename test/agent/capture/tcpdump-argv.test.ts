import { describe, expect, it } from 'vitest';
import { CaptureRequest } from '../../../contract/capture.js';
import { buildBpfFilter, buildTcpdumpArgv } from '../../../agent/capture/tcpdump-argv.js';

/** mulberry32 */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

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
    const r = buildTcpdumpArgv({ iface: 'eth0', file: '/tmp/cd/cap-1/eth0.pcap', maxPackets: 50, durationSeconds: 4, filter: 'udp dst port 4789', user: 'root' });
    expect(r).toEqual({
      ok: true,
      filter: 'udp dst port 4789',
      argv: ['timeout', '--signal=INT', '--kill-after=2', '4', 'tcpdump', '-i', 'eth0', '-nn', '-U', '-s', '256', '-c', '50', '-w', '/tmp/cd/cap-1/eth0.pcap', '-Z', 'root', 'udp dst port 4789'],
    });
  });

  it('refuses bad interface names, counts, durations, paths and filters', () => {
    const base = { iface: 'eth0', file: '/tmp/x.pcap', maxPackets: 5, durationSeconds: 5, filter: 'icmp' };
    expect(buildTcpdumpArgv({ ...base, iface: '-w/etc/passwd' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, iface: 'eth0;reboot' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, maxPackets: 0 }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, durationSeconds: 3600 }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, file: '/tmp/../etc/x' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, filter: 'icmp; rm -rf /' }).ok).toBe(false);
    expect(buildTcpdumpArgv({ ...base, user: 'root;id' }).ok).toBe(false);
  });
});
