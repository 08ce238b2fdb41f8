/**
 * ICMP echo probes from this node (iputils ping through the command runner).
 *
 * Matching: the probe's id is the ICMP echo identifier (`ping -e id`) and sequences run 1..count,
 * so the captures on both nodes find exactly these packets by (identifier, sequence) — no payload
 * pattern is needed and nothing else on the node shares the identifier during the window.
 * Stateless apart from what is passed in.
 */
import { randomInt } from 'node:crypto';
import { canonicalIp, type ProbeRequest, type ProbeResult } from '../../contract/capture.js';
import type { Identity } from '../../contract/snapshot.js';
import type { CommandRunner } from '../exec/runner.js';
import { enterArgv, findPodNetns, NETNS_NAME } from './pod-netns.js';

export interface ProbeSource {
  identity: Identity;
  /** every address configured on this node (snapshot addresses section) */
  addresses: string[];
}

export type ResolvedSource = { ok: true; ip: string } | { ok: false; message: string };

/** Resolves `tunnel` / `node` / an explicit address to one of this node's IPs of the target's family. */
export const resolveProbeSource = (req: Pick<ProbeRequest, 'source' | 'target'>, src: ProbeSource): ResolvedSource => {
  const target = canonicalIp(req.target);
  if (!target) return { ok: false, message: 'target is not an IP address' };
  const sameFamily = (ip: string | null | undefined) => (ip ? canonicalIp(ip)?.family === target.family : false);
  if (req.source === 'tunnel') {
    const t = src.identity.tunnels.find((x) => sameFamily(x.ip) && x.kind !== 'wireguard') ?? src.identity.tunnels.find((x) => sameFamily(x.ip));
    return t?.ip ? { ok: true, ip: canonicalIp(t.ip)?.text ?? t.ip } : { ok: false, message: `this node has no IPv${target.family} tunnel address` };
  }
  if (req.source === 'node') {
    const n = src.identity.nodeIPs.find((x) => sameFamily(x));
    return n ? { ok: true, ip: canonicalIp(n)?.text ?? n } : { ok: false, message: `this node has no IPv${target.family} node address` };
  }
  const wanted = canonicalIp(req.source);
  if (!wanted) return { ok: false, message: 'source is not an IP address' };
  if (wanted.family !== target.family) return { ok: false, message: 'source and target are of different families' };
  const mine = src.addresses.map((a) => canonicalIp(a)?.text);
  return mine.includes(wanted.text) ? { ok: true, ip: wanted.text } : { ok: false, message: `${wanted.text} is not an address of this node` };
};

/**
 * `ping -n -c N -i S -W 1 -e ID [-M do -s SIZE] -I SRC TARGET`, every element from a validated
 * value; with a size the probes carry that many payload bytes and must not be fragmented.
 */
export const buildPingArgv = (o: { source: string; target: string; count: number; intervalMs: number; id: number; size?: number | undefined }): [string, ...string[]] | null => {
  const s = canonicalIp(o.source);
  const t = canonicalIp(o.target);
  if (!s || !t || s.family !== t.family) return null;
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > 20) return null;
  if (!Number.isInteger(o.intervalMs) || o.intervalMs < 200 || o.intervalMs > 1000) return null;
  if (!Number.isInteger(o.id) || o.id < 1 || o.id > 65535) return null;
  if (o.size !== undefined && (!Number.isInteger(o.size) || o.size < 16 || o.size > 8952)) return null;
  const size = o.size === undefined ? [] : ['-M', 'do', '-s', String(o.size)];
  return ['ping', ...(t.family === 6 ? ['-6'] : ['-4']), '-n', '-c', String(o.count), '-i', (o.intervalMs / 1000).toFixed(3), '-W', '1', '-e', String(o.id), ...size, '-I', s.text, t.text];
};

/** Parses iputils ping output: replies per sequence and the transmitted/received summary (pure). */
export const parsePingOutput = (stdout: string): { sent: number | null; received: number | null; rtts: Array<{ seq: number; ms: number }> } => {
  const rtts: Array<{ seq: number; ms: number }> = [];
  for (const line of stdout.split('\n')) {
    const m = /icmp_seq=(\d+)\b.*\btime[=<]([\d.]+) ms/.exec(line);
    if (m && !/DUP!/.test(line)) rtts.push({ seq: Number(m[1]), ms: Number(m[2]) });
  }
  const s = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  return { sent: s ? Number(s[1]) : null, received: s ? Number(s[2]) : null, rtts };
};

export interface SendProbeDeps {
  runner: CommandRunner;
  node: string;
  now: () => number;
  source: () => ProbeSource | null;
}

export type ProbeOutcome = { ok: true; result: ProbeResult } | { ok: false; code: 'no-snapshot' | 'bad-source' | 'failed'; message: string };

export const sendProbe = async (req: ProbeRequest, deps: SendProbeDeps): Promise<ProbeOutcome> => {
  const src = deps.source();
  if (!src) return { ok: false, code: 'no-snapshot', message: 'no snapshot yet: this node’s addresses are unknown' };
  // From a pod: its own network namespace, its own address (#18)
  let netns: { name: string } | { pid: number } | null = null;
  let resolved: ResolvedSource;
  if (req.pod !== undefined) {
    const pod = canonicalIp(req.pod);
    const w = pod ? src.identity.workloads.find((x) => canonicalIp(x.ip)?.text === pod.text) : undefined;
    if (!pod || !w) return { ok: false, code: 'bad-source', message: `${req.pod} is not a pod of this node` };
    const ns = await findPodNetns(w.dev, deps.runner);
    if (!ns.ok) return { ok: false, code: 'bad-source', message: `cannot enter the network namespace of pod ${pod.text}: ${ns.message}` };
    netns = 'name' in ns ? { name: ns.name } : { pid: ns.pid };
    resolved = { ok: true, ip: pod.text };
  } else resolved = resolveProbeSource(req, src);
  if (!resolved.ok) return { ok: false, code: 'bad-source', message: resolved.message };
  const id = req.id ?? randomInt(1, 65536);
  const count = req.count ?? 3;
  const intervalMs = req.intervalMs ?? 200;
  const ping = buildPingArgv({ source: resolved.ip, target: req.target, count, intervalMs, id, size: req.size });
  if (!ping || (netns !== null && ('name' in netns ? !NETNS_NAME.test(netns.name) : !(Number.isInteger(netns.pid) && netns.pid > 0)))) return { ok: false, code: 'bad-source', message: 'invalid probe parameters' };
  const argv: [string, ...string[]] = netns === null ? ping : [...enterArgv(netns), ...ping];
  const startedAt = new Date(deps.now()).toISOString();
  const run = await deps.runner({ argv, timeoutMs: count * intervalMs + 3000, maxOutputBytes: 64 * 1024 });
  if (!run.ok) return { ok: false, code: 'failed', message: run.message };
  const out = parsePingOutput(run.stdout);
  const target = canonicalIp(req.target)?.text ?? req.target;
  const base = { id, node: deps.node, source: resolved.ip, target, startedAt, rtts: out.rtts };
  if (out.sent === null) {
    // exit 2: ping could not send (bad source address, no route): no statistics printed
    return { ok: true, result: { ...base, sent: 0, received: 0, error: (run.stderr.trim().split('\n')[0] ?? 'ping failed').slice(0, 300) } };
  }
  return { ok: true, result: { ...base, sent: out.sent, received: out.received ?? out.rtts.length } };
};
