import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerDiagnoseCommand, renderDiagnosis } from '../../cli/diagnose.js';
import { CliError, memoryIo } from '../../cli/io.js';
import type { Diagnosis } from '../../contract/diagnosis.js';

const GAP: Diagnosis = {
  id: 'diag-1',
  at: '2026-11-21T15:00:00.000Z',
  from: { input: 'node1', node: 'node1', ip: '10.244.1.0', kind: 'node' },
  to: { input: '10.244.2.1', node: 'node2', ip: '10.244.2.1', kind: 'pod' },
  verdict: 'one-way-gap',
  gap: { node: 'node2', hop: 'destination-tunnel-in', direction: 'forward' },
  hops: [
    { hop: 'source-tunnel-out', direction: 'forward', node: 'node1', device: 'vxlan.calico', status: 'seen', seqs: [1, 2, 3], expected: 3 },
    { hop: 'source-uplink-out', direction: 'forward', node: 'node1', device: 'eth0', status: 'seen', seqs: [1, 2, 3], expected: 3 },
    { hop: 'destination-uplink-in', direction: 'forward', node: 'node2', device: 'eth0', status: 'seen', seqs: [1, 2, 3], expected: 3 },
    { hop: 'destination-tunnel-in', direction: 'forward', node: 'node2', device: 'vxlan.calico', status: 'missing', seqs: [], expected: 3 },
    { hop: 'destination-workload-in', direction: 'forward', node: 'node2', device: null, status: 'not-captured', seqs: [], expected: 3, note: 'agent unreachable' },
  ],
  causes: [{ rule: 'host-not-in-allowed-set', node: 'node2', detail: "node2's all-hosts ipset lacks node1", fromCapture: true }],
  findings: [],
  probe: { id: 7, source: '10.244.1.0', target: '10.244.2.1', sent: 3, received: 0 },
  summary: 'node node1 → pod 10.244.2.1 on node2: one-way gap on the forward path.',
  remedy: 'add node1 to the ipset',
  durationMs: 4400,
  warnings: [],
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cdF-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = async (args: string[], answer: { status: number; body: unknown }) => {
  const io = memoryIo();
  const seen: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetchImpl = (async (url: URL | string | Request, init?: RequestInit) => {
    seen.push({ url: String(url), init });
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  }) as typeof fetch;
  const program = new Command('calico-diag').exitOverride();
  registerDiagnoseCommand(program, io, { env: {}, fetch: fetchImpl, tickMs: 5 });
  let code = 0;
  try {
    await program.parseAsync(['diagnose', ...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CliError) {
      code = err.exitCode;
      if (err.message) io.stderr(`calico-diag: ${err.message}\n`);
    } else throw err;
  }
  return { io, seen, code };
};

describe('calico-diag diagnose', () => {
  it('posts {from,to} with the token, prints the hop table with ✓/✗, the verdict and the runbook step; exit 2 on a gap', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'tok-123\n');
    const { io, seen, code } = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', '10.244.2.1', '--token-file', tokenFile], { status: 200, body: GAP });
    expect(code).toBe(2);
    expect(seen[0]?.url).toBe('http://agg:9478/v1/diagnose');
    expect(JSON.parse(String(seen[0]?.init?.body))).toEqual({ from: 'node1', to: '10.244.2.1' });
    expect((seen[0]?.init?.headers as Record<string, string>).authorization).toBe('Bearer tok-123');
    const out = io.out();
    expect(out).toMatch(/✓ +source-tunnel-out/);
    expect(out).toMatch(/✗ +destination-tunnel-in/);
    expect(out).toMatch(/· +destination-workload-in .*not captured: agent unreachable/);
    expect(out).toContain('Verdict: ONE-WAY GAP on the forward path at node2 (destination-tunnel-in)');
    expect(out).toContain('Cause: host-not-in-allowed-set on node2 (seen in the capture)');
    expect(out).toContain('Runbook: add node1 to the ipset');
    expect(io.err()).toMatch(/capturing on both nodes/);
  });

  // #18
  it('prints one Rule line per rule whose counter rose with the lost probes', async () => {
    const withRule = {
      ...GAP,
      rules: [{ node: 'node2', family: 'ipv4', table: 'filter', chain: 'cali-pi-_labdeny', index: 1, target: 'DROP', caliId: 'labdeny01', comments: [], rule: '-A cali-pi-_labdeny -j DROP', packets: 3, policy: { name: null, source: 'unknown', direction: 'ingress' } }],
    };
    const { io } = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', '10.244.2.1'], { status: 200, body: withRule });
    expect(io.out()).toContain('Rule: DROP in ipv4 filter/cali-pi-_labdeny rule 1 cali:labdeny01 (an ingress policy whose name Felix hashed into the chain name; not in the rule comments nor in the datastore\'s policies) counted 3 packet(s) on node2');
  });

  // #18: a policy named from the datastore shows its kind, namespace and tier
  it('a Rule line names the datastore policy behind a hashed chain', async () => {
    const named = {
      ...GAP,
      rules: [
        {
          node: 'node2', family: 'ipv4', table: 'filter', chain: 'cali-pi-_3CJ_GmvE9pcCktVJ2ep', index: 2, target: 'DROP', caliId: 'kZzWM4wu2A_MNzjD', comments: [], rule: '-A cali-pi-_3CJ_GmvE9pcCktVJ2ep -j DROP', packets: 3,
          policy: { name: 'allow-apiserver', source: 'datastore', direction: 'ingress', kind: 'KubernetesNetworkPolicy', namespace: 'calico-apiserver', tier: 'default' },
        },
      ],
    };
    const { io } = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', '10.244.2.1'], { status: 200, body: named });
    expect(io.out()).toContain('(policy calico-apiserver/allow-apiserver, KubernetesNetworkPolicy, tier default, ingress; name from the datastore) counted 3 packet(s) on node2');
  });

  it('--json prints the diagnosis; healthy exits 0', async () => {
    const healthy = { ...GAP, verdict: 'healthy', gap: undefined, causes: [] };
    const { io, code } = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', 'node2', '--json'], { status: 200, body: healthy });
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ id: 'diag-1', verdict: 'healthy' });
  });

  it('aggregator errors become one line; bad flags are refused before any request', async () => {
    const r = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', 'node9'], { status: 404, body: { code: 'UNKNOWN_ENDPOINT', message: 'to: no reporting node named node9' } });
    expect(r.code).toBe(1);
    expect(r.io.err()).toContain('calico-diag: the aggregator answered 404: to: no reporting node named node9');
    const bad = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', 'node2', '--count', '99'], { status: 200, body: GAP });
    expect(bad.code).toBe(1);
    expect(bad.seen).toHaveLength(0);
    const noAgg = await run(['--from', 'node1', '--to', 'node2'], { status: 200, body: GAP });
    expect(noAgg.io.err()).toContain('--aggregator / CALICO_DIAG_AGGREGATOR_URL is required');
  });

  it('-o wide adds the capture device and the sequence numbers seen; the short view has neither', async () => {
    const short = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', '10.244.2.1'], { status: 200, body: GAP });
    expect(short.io.out()).toMatch(/^\s+HOP\s+DIRECTION\s+NODE\s+PROBES$/m);
    expect(short.io.out()).not.toContain('vxlan.calico');
    const wide = await run(['--aggregator', 'http://agg:9478', '--from', 'node1', '--to', '10.244.2.1', '-o', 'wide'], { status: 200, body: GAP });
    expect(wide.io.out()).toMatch(/^\s+HOP\s+DIRECTION\s+NODE\s+DEVICE\s+PROBES\s+SEQS SEEN$/m);
    expect(wide.io.out()).toMatch(/✓ +source-tunnel-out +forward +node1 +vxlan\.calico +3\/3 +1,2,3/);
    expect(wide.code).toBe(2);
  });

  it('--duration takes whole seconds as a duration (10s, 1m is too long, 2500ms is not whole); a plain number is seconds', async () => {
    const healthy = { ...GAP, verdict: 'healthy', gap: undefined, causes: [] };
    const ten = await run(['--aggregator', 'http://agg:9478', '--from', 'a', '--to', 'b', '--duration', '10s', '-o', 'json'], { status: 200, body: healthy });
    expect(JSON.parse(String(ten.seen[0]?.init?.body))).toEqual({ from: 'a', to: 'b', durationSeconds: 10 });
    const plain = await run(['--aggregator', 'http://agg:9478', '--from', 'a', '--to', 'b', '--duration', '6'], { status: 200, body: healthy });
    expect(JSON.parse(String(plain.seen[0]?.init?.body))).toMatchObject({ durationSeconds: 6 });
    const long = await run(['--aggregator', 'http://agg:9478', '--from', 'a', '--to', 'b', '--duration', '1m'], { status: 200, body: healthy });
    expect(long.io.err()).toContain('calico-diag: invalid --duration "1m": must be between 2s and 30s');
    const frac = await run(['--aggregator', 'http://agg:9478', '--from', 'a', '--to', 'b', '--duration', '2500ms'], { status: 200, body: healthy });
    expect(frac.io.err()).toContain('calico-diag: invalid --duration "2500ms": must be whole seconds');
    expect([...long.seen, ...frac.seen]).toHaveLength(0);
  });

  it('renderDiagnosis shows inconclusive warnings', () => {
    const text = renderDiagnosis({ ...GAP, verdict: 'inconclusive', gap: undefined, causes: [], warnings: ['node2: capture not started'] });
    expect(text).toContain('Verdict: INCONCLUSIVE');
    expect(text).toContain('warning: node2: capture not started');
  });

  // #18: the gap hop carries the kernel's drop reasons; a down device and a late capture are named
  it('renderDiagnosis shows the gap node\'s kernel drop reasons, a device that is down and a capture that was not ready', () => {
    const hops = GAP.hops.map((h) =>
      h.hop === 'destination-tunnel-in'
        ? { ...h, deviceState: 'down' as const, drops: { available: true, total: 3, counts: [{ reason: 'NO_SOCKET', location: '__udp4_lib_rcv', count: 3 }] } }
        : h.hop === 'destination-workload-in'
          ? { ...h, status: 'not-ready' as const, note: 'its capture was not listening yet when the probes were sent' }
          : h,
    );
    const text = renderDiagnosis({ ...GAP, hops });
    expect(text).toContain('Kernel drops on node2 in the window: NO_SOCKET ×3 (__udp4_lib_rcv)');
    expect(text).toMatch(/destination-tunnel-in +forward +node2 +device down: 0\/3/);
    expect(text).toMatch(/destination-workload-in +forward +node2 +not ready: its capture was not listening yet/);
    const off = renderDiagnosis({ ...GAP, hops: hops.map((h) => (h.drops ? { ...h, drops: { available: false, total: 0, counts: [], why: 'tracefs not mounted' } } : h)) });
    expect(off).toContain('Kernel drops on node2: unavailable (tracefs not mounted)');
  });
});
