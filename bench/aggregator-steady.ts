/**
 * The aggregator's steady round in-process (not a test; issue #17 goal 5):
 * `npm run bench:aggregator-steady -- --nodes N [--root DIR] [--rounds R] [--cpu-prof | --pass-prof |
 * --heap-prof] [--prof-interval µs]` (with the aggregator image's node flags; set its GLIBC_TUNABLES
 * in the environment to match it fully).
 *
 * Starts the real aggregator (startAggregator, periodic passes off, as bench/aggregator.ts's server
 * does), gives its store the first, full report of every node of the benchmark's VXLAN mesh
 * directly (no HTTP: the full round is not what is measured), runs the cold pass, then R steady
 * rounds: every node posts its next report (links, iptables and sysctls with data, the rest as
 * hashes: bench/aggregator.ts MeshReports, the benchmark's own bodies) through the fastify app's
 * `inject` (the route, its hooks, the validator, the store; no sockets), then one correlation pass.
 * Bodies are built before each round's clock starts. Printed per round: process CPU of the N
 * reports (µs per report) and the garbage collector's main-thread pauses in them (by kind), the
 * pass's CPU, the round as cores over a 30 s interval, and whether the faults were found and
 * nothing else.
 *
 * `--root DIR`: load the aggregator from another worktree's build (DIR/dist/…), to compare an old
 * build with this one, alternating processes. `--cpu-prof` / `--pass-prof`: a CPU profile of the
 * last round's reports / of its pass, written to the current directory (sampled every
 * `--prof-interval` µs, default 1000: a finer interval inflates the profile several times);
 * `--heap-prof`: an allocation sampling profile of the last round's reports.
 */
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { arg, buildRoot, loadBuild, type Finding } from './in-process-build.js';


const n = Number(arg('nodes', '1000'));
const rounds = Number(arg('rounds', '5'));
const root = buildRoot();
const profile = process.argv.includes('--cpu-prof') ? 'reports' : process.argv.includes('--pass-prof') ? 'pass' : null;
const heapProfile = process.argv.includes('--heap-prof');

const { startAggregator, Report, MeshReports, faults, expected } = await loadBuild(root);
const pino = (await import('pino')).default;

const TOKEN = 'bench-token-not-secret';

const dir = mkdtempSync(join(tmpdir(), 'calico-diag-steady-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, TOKEN);
let app: FastifyInstance | undefined;
const handle = await startAggregator({
  config: { listen: { host: '127.0.0.1', port: 0 }, tokenFile, staleIntervals: 10_000, bodyLimit: 256 * 1024 * 1024, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' },
  token: TOKEN,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  processMetrics: false,
  debounceMs: 1e9,
  periodicMs: 1e9,
  // the extension runs in the authenticated scope: its parent's parent is the app
  extensions: [
    (scope) => {
      app = scope;
    },
  ],
});
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
/** garbage collection pauses on the main thread, ms, since the last read */
let gcMs = 0;
/** the same by kind (minor: scavenges; major: mark-compact; incremental: marking steps; weakcb) */
let gcByKind: Record<string, number> = {};
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    const kind = GC_KINDS[(e as { detail?: { kind?: number } | null }).detail?.kind ?? 0] ?? 'other';
    gcByKind[kind] = (gcByKind[kind] ?? 0) + Math.round(e.duration);
  }
}).observe({ entryTypes: ['gc'] });
const judge = () => {
  const findings = handle.engine.findings() as readonly Finding[];
  const found = expected.filter((e) => findings.some((f) => f.rule === e.rule && f.node === e.node && f.peer === e.peer)).length;
  const other = findings.filter((f) => !expected.some((e) => e.rule === f.rule && e.node === f.node && e.peer === f.peer));
  return { found: `${found}/${expected.length}`, other: other.length };
};
try {
  const mesh = new MeshReports(n, faults);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const b = mesh.body(i, 1, { full: true });
    const raw = JSON.parse(b.text) as { sections: unknown };
    const r = handle.store.ingest(Report.parse(raw), new Date().toISOString(), raw.sections);
    if (r.kind !== 'accepted') throw new Error(`node ${i}: ${r.kind}`);
    mesh.ack(i, b.hashes);
  }
  const c0 = process.cpuUsage();
  await handle.engine.trigger();
  process.stderr.write(`[steady n=${n}] ${root}: ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s; cold pass ${cpuMs(process.cpuUsage(c0)).toFixed(0)} ms CPU ${JSON.stringify(judge())}\n`);
  if (app === undefined) throw new Error('no app scope');
  const inject = app.inject.bind(app);
  for (let r = 0; r < rounds; r++) {
    const bodies = Array.from({ length: n }, (_, i) => mesh.body(i, 2 + r));
    let session: Session | undefined;
    const startProfile = async () => {
      session = new Session();
      session.connect();
      if (heapProfile) {
        await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        return;
      }
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: Number(arg('prof-interval', '1000')) });
      await session.post('Profiler.start');
    };
    const stopProfile = async (what: string) => {
      if (session === undefined) return;
      const prof = heapProfile ? (await session.post('HeapProfiler.stopSampling')).profile : (await session.post('Profiler.stop')).profile;
      session.disconnect();
      session = undefined;
      const out = join(process.cwd(), `steady-${what}-${n}-${Date.now()}.${heapProfile ? 'heapprofile' : 'cpuprofile'}`);
      writeFileSync(out, JSON.stringify(prof));
      process.stderr.write(`[steady n=${n}] profile: ${out}\n`);
    };
    if ((profile === 'reports' || heapProfile) && r === rounds - 1) await startProfile();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    gcMs = 0;
    gcByKind = {};
    for (let i = 0; i < n; i++) {
      const res = await inject({ method: 'POST', url: '/v1/reports', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, payload: bodies[i]!.text });
      if (res.statusCode !== 200) throw new Error(`node ${i} round ${r}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      mesh.ack(i, bodies[i]!.hashes);
    }
    const reportsCpu = cpuMs(process.cpuUsage(cpu0));
    const reportsWall = performance.now() - w0;
    // the observer is called asynchronously: let it see the round's entries
    await new Promise((resolve) => setImmediate(resolve));
    const reportsGc = gcMs;
    await stopProfile('reports');
    if (profile === 'pass' && r === rounds - 1) await startProfile();
    const p0 = process.cpuUsage();
    await handle.engine.trigger();
    const passCpu = cpuMs(process.cpuUsage(p0));
    await stopProfile('pass');
    process.stdout.write(
      `${JSON.stringify({ root, nodes: n, round: r + 1, usPerReport: Math.round((reportsCpu * 1000) / n), reportsCpuMs: Math.round(reportsCpu), reportsWallMs: Math.round(reportsWall), reportsGcMs: Math.round(reportsGc), gc: gcByKind, passCpuMs: Math.round(passCpu), core: Number(((reportsCpu + passCpu) / 30_000).toFixed(4)), ...judge() })}\n`,
    );
  }
} finally {
  await handle.stop();
  rmSync(dir, { recursive: true, force: true });
}
