/**
 * The restart round of bench/aggregator.ts alone, old and new builds alternating (issue #17
 * goal 5; a benchmark, not a test): `npm run bench:aggregator-restart -- --nodes N
 * [--concurrency C] [--pairs P] [--old DIST] [--new DIST]`.
 *
 * bench/aggregator.ts measures the restart round after a full round and steady rounds, ~400 s of
 * server CPU at 5000 nodes before the round of interest. Here the load generator (this build's
 * MeshReports and restartRound, so both servers meet the same agents) sets each simulated agent's
 * acknowledged hashes to those of its full-round report, as the full round would, then starts a
 * fresh aggregator child (the restarted one) and runs the restart round against it: every node
 * re-reports as an agent with chunks does (hashes only → 409, per-peer lists as chunk hashes → 409
 * naming the lacking chunks → their data). The child is the `--serve` mode of the bench/aggregator.js
 * of the dist tree given (`--old`, `--new`; default: this build for both), with Dockerfile.aggregator's
 * node flags and allocator environment. Measured per run: the server's CPU for the round (as in
 * bench/aggregator.ts), its first correlation pass, and the injected faults found after it.
 * Printed: one JSON line per run, then medians and the new/old ratio of each pair.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOCATOR_ENV, client, MeshReports, restartRound, shippedImage } from './aggregator.js';
import { nodeName } from './aggregator-mesh.js';

const TOKEN = 'bench-token-not-secret';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const run = async (dist: string, n: number, concurrency: number) => {
  const faults = { wrongNeighbourMac: [{ at: 1, peer: 2 }], missingRoute: [{ at: 3, peer: 4 }], missingFromIpset: [{ at: 5, peer: 6 }] };
  const expected = [
    { rule: 'vxlan-neighbor-mac-mismatch', node: nodeName(1), peer: nodeName(2) },
    { rule: 'route-missing', node: nodeName(3), peer: nodeName(4) },
    { rule: 'host-not-in-allowed-set', node: nodeName(5), peer: nodeName(6) },
  ];
  const mesh = new MeshReports(n, faults);
  // what the full round leaves with the agents: the hashes of their full reports, acknowledged
  for (const i of mesh.present) {
    const b = mesh.body(i, 1, { full: true });
    mesh.ack(i, b.hashes, b.version);
  }
  const image = shippedImage();
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !ALLOCATOR_ENV.test(k))), ...image.env };
  const proc = spawn(process.execPath, [...image.flags, '--expose-gc', join(dist, 'bench/aggregator.js'), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'], env });
  try {
    const at = await new Promise<string>((ok, fail) => {
      let buf = '';
      proc.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        const line = buf.split('\n').find((l) => l.includes('"address"'));
        if (line) ok((JSON.parse(line) as { address: string }).address);
      });
      proc.on('exit', (code) => fail(new Error(`server exited ${code}`)));
    });
    const c = client(at);
    const usage = async () => ((await c.get('/v1/bench/usage')) as { cpuSeconds: number }).cpuSeconds;
    const before = await usage();
    const res = await restartRound(c, mesh, 2, concurrency);
    const mid = await usage();
    await fetch(`${at}/v1/bench/pass`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    const after = await usage();
    const findings = ((await c.get('/v1/findings')) as { findings: { rule: string; node: string; peer?: string }[] }).findings;
    const found = expected.filter((e) => findings.some((f) => f.rule === e.rule && f.node === e.node && f.peer === e.peer)).length;
    const other = findings.filter((f) => !expected.some((e) => e.rule === f.rule && e.node === f.node && e.peer === f.peer)).length;
    return { dist, n, cpuSeconds: mid - before, passCpuMs: (after - mid) * 1000, wallMs: res.wallMs, requests: res.requests, chunksSent: res.chunksSent, statuses: [...res.statuses], found, other, load: loadavg()[0]! };
  } finally {
    proc.kill('SIGTERM');
  }
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = Number(arg('nodes', '1500'));
  const concurrency = Number(arg('concurrency', '8'));
  const pairs = Number(arg('pairs', '3'));
  const oldDist = resolve(arg('old', join(here)));
  const newDist = resolve(arg('new', join(here)));
  if (!Number.isInteger(n) || n < 8) throw new Error('--nodes must be an integer ≥ 8');
  const quiet = process.stderr.write.bind(process.stderr);
  // restartRound's progress lines
  process.stderr.write = ((s: string | Uint8Array, ...rest: never[]) => (String(s).includes('…') ? true : quiet(s, ...rest))) as typeof process.stderr.write;
  const runs: { old: number[]; new: number[]; ratio: number[] } = { old: [], new: [], ratio: [] };
  for (let p = 0; p < pairs; p++) {
    const a = await run(oldDist, n, concurrency);
    process.stdout.write(`${JSON.stringify({ build: 'old', ...a })}\n`);
    const b = await run(newDist, n, concurrency);
    process.stdout.write(`${JSON.stringify({ build: 'new', ...b })}\n`);
    runs.old.push(a.cpuSeconds);
    runs.new.push(b.cpuSeconds);
    runs.ratio.push(b.cpuSeconds / a.cpuSeconds);
    if (a.found !== 3 || b.found !== 3 || a.other !== 0 || b.other !== 0) process.exitCode = 2;
  }
  process.stdout.write(
    `restart round at ${n} nodes: old median ${median(runs.old).toFixed(2)} s CPU, new median ${median(runs.new).toFixed(2)} s CPU; new/old per pair ${runs.ratio.map((r) => r.toFixed(3)).join(', ')} (median ${median(runs.ratio).toFixed(3)}); load ${loadavg()[0]!.toFixed(1)}\n`,
  );
}
