/**
 * Builds tcpdump's argv and BPF filter from a validated CaptureRequest (pure).
 *
 * Only structured values reach the filter: protocol kinds from a closed enum, port numbers that are
 * integers in range, and IP addresses re-serialised from their parsed form (canonicalIp). The
 * finished filter is checked once more against a tiny alphabet, so even a bug upstream cannot put a
 * shell or BPF metacharacter into the argv. The argv is an array for the runner; there is no shell.
 */
import { canonicalIp, InterfaceName, type CaptureRequest, type MatchSpec } from '../../contract/capture.js';

export type ArgvResult = { ok: true; argv: [string, ...string[]]; filter: string } | { ok: false; message: string };

/** Characters a composed filter may contain: words, digits, dots, colons, parentheses, spaces. */
const FILTER_ALPHABET = /^[a-z0-9 ().:]+$/;

const port = (p: unknown): number | null => (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535 ? p : null);

const matchExpr = (m: MatchSpec): string | null => {
  switch (m.kind) {
    case 'vxlan': {
      const p = port(m.port ?? 4789);
      return p === null ? null : `udp dst port ${p}`;
    }
    case 'ipip':
      return 'ip proto 4';
    case 'icmp':
      return '(icmp or icmp6)';
    case 'tcp': {
      const p = port(m.port);
      return p === null ? null : `tcp port ${p}`;
    }
    default:
      return null;
  }
};

/** The BPF filter for a request, or null when any part is not a valid structured value. */
export const buildBpfFilter = (req: Pick<CaptureRequest, 'match' | 'peers'>): string | null => {
  if (!Array.isArray(req.match) || req.match.length === 0 || req.match.length > 4) return null;
  const matches: string[] = [];
  for (const m of req.match) {
    const e = matchExpr(m);
    if (e === null) return null;
    if (!matches.includes(e)) matches.push(e);
  }
  const hosts: string[] = [];
  for (const p of req.peers ?? []) {
    const ip = canonicalIp(p);
    if (ip === null) return null;
    const h = `host ${ip.text}`;
    if (!hosts.includes(h)) hosts.push(h);
  }
  if (hosts.length > 8) return null;
  const proto = matches.length === 1 ? (matches[0] as string) : `(${matches.join(' or ')})`;
  const filter = hosts.length === 0 ? proto : `${proto} and (${hosts.join(' or ')})`;
  return FILTER_ALPHABET.test(filter) ? filter : null;
};

/**
 * Bytes per packet that hold every header the decoder reads and no payload (#16: captures on any
 * node read pod traffic): the link header (up to 20, Linux cooked v2 on `any`), then for each kind
 * the request matches — ICMP: IP + 20; TCP: IP + the 20-byte TCP header; IPIP: outer IP + inner
 * IP + 20; VXLAN: outer IP + UDP 8 + VXLAN 8 + inner Ethernet 14 + inner IP + 20 — with IPv6
 * headers (40) when a peer is IPv6, IPv4 (20) otherwise. 20 bytes of the innermost transport header
 * hold TCP's flags (a reset is a finding); past a UDP or ICMP header that leaves at most 12 bytes.
 */
export const headerSnaplen = (req: Pick<CaptureRequest, 'match' | 'peers'>): number => {
  const ip = req.peers.some((p) => p.includes(':')) ? 40 : 20;
  const link = 20;
  const l4 = 20;
  const sizes = req.match.map((m) => (m.kind === 'vxlan' ? ip + 8 + 8 + 14 + ip + l4 : m.kind === 'ipip' ? ip + ip + l4 : ip + l4));
  return link + Math.max(...sizes);
};

/** With the agent's --capture-payload: whole packets. */
export const FULL_SNAPLEN = 262_144;

export interface TcpdumpArgvOptions {
  iface: string;
  file: string;
  maxPackets: number;
  durationSeconds: number;
  filter: string;
  /** `-Z user`: the user tcpdump runs as after opening the device (it must be able to write `file`) */
  user?: string;
  /** bytes kept per packet (headerSnaplen, or FULL_SNAPLEN with --capture-payload) */
  snaplen: number;
}

/**
 * `timeout --signal=INT D tcpdump -i IF -nn -U -s S -c N -w FILE [-Z U] FILTER`: tcpdump stops after N
 * packets or, at D seconds, on SIGINT from coreutils `timeout`, which lets it flush and close the file
 * cleanly (tcpdump's own -G only rotates when a packet arrives, so an idle link would never end).
 */
export const buildTcpdumpArgv = (o: TcpdumpArgvOptions): ArgvResult => {
  if (!InterfaceName.safeParse(o.iface).success) return { ok: false, message: 'invalid interface name' };
  if (!Number.isInteger(o.maxPackets) || o.maxPackets < 1 || o.maxPackets > 10_000) return { ok: false, message: 'invalid packet count' };
  if (!Number.isInteger(o.durationSeconds) || o.durationSeconds < 1 || o.durationSeconds > 30) return { ok: false, message: 'invalid duration' };
  if (!FILTER_ALPHABET.test(o.filter)) return { ok: false, message: 'invalid filter' };
  if (!/^\/[A-Za-z0-9._/-]+$/.test(o.file) || o.file.includes('..')) return { ok: false, message: 'invalid capture file path' };
  if (o.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) return { ok: false, message: 'invalid user' };
  if (!Number.isInteger(o.snaplen) || o.snaplen < 1 || o.snaplen > FULL_SNAPLEN) return { ok: false, message: 'invalid snap length' };
  const snaplen = o.snaplen;
  const argv: [string, ...string[]] = [
    'timeout',
    '--signal=INT',
    '--kill-after=2',
    String(o.durationSeconds),
    'tcpdump',
    '-i',
    o.iface,
    '-nn',
    '-U',
    '-s',
    String(snaplen),
    '-c',
    String(o.maxPackets),
    '-w',
    o.file,
  ];
  if (o.user !== undefined) argv.push('-Z', o.user);
  argv.push(o.filter);
  return { ok: true, argv, filter: o.filter };
};
