/**
 * The aggregator's cold correlation pass in-process (not a test; issue #17 goal 5):
 * `npm run bench:aggregator-cold -- --nodes N [--root DIR] [--passes P] [--cpu-prof] [--heap-prof]`
 * (`--cpu-prof`, `--heap-prof`: a CPU profile or an allocation sampling profile of the first pass,
 * written to the current directory).
 *
 * Starts the real aggregator (startAggregator, periodic passes off, as bench/aggregator.ts's server
 * does) and gives its store the first, full report of every node of the VXLAN mesh with the
 * benchmark's three faults (bench/aggregator.ts MeshReports: the same report text the benchmark
 * posts, parsed with the contract's Report schema as the HTTP route does), without HTTP. Then runs
 * P passes (default 1) through the engine, as POST /v1/bench/pass does, and prints per pass its
 * process CPU and wall time, the CPU of each thread by name (`threadsMs`, from /proc, 10 ms ticks:
 * `main` is the JavaScript thread, the others V8's GC/compile helpers and libuv's) and whether the faults were found and nothing else. The first pass is
 * the benchmark's "cold pass": the first correlation pass the process ever runs.
 *
 * `--root DIR`: load the aggregator from another worktree's build (DIR/dist/…), to compare an old
 * build with this one, alternating processes. Ingest costs minutes at 5000 nodes (N full reports
 * of N-sized lists); the measured pass is what follows it.
 */
import { Session } from 'node:inspector/promises';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, buildRoot, loadBuild, type Finding } from './in-process-build.js';


const n = Number(arg('nodes', '2500'));
const passes = Number(arg('passes', '1'));
const root = buildRoot();
const profile = process.argv.includes('--cpu-prof');
const heapProfile = process.argv.includes('--heap-prof');

const { startAggregator, Report, MeshReports, faults, expected } = await loadBuild(root);
const pino = (await import('pino')).default;


/**
 * CPU ticks (1/100 s) of each thread of this process by thread name (/proc/self/task/<tid>/stat:
 * utime + stime), summed per name: the main thread ("node") against V8's helper threads (GC and
 * compile jobs) and libuv's; empty where /proc is not there.
 */
const threadTicks = (): Map<string, number> => {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const name = tid === String(process.pid) ? 'main' : stat.slice(open + 1, close);
    const f = stat.slice(close + 2).split(' ');
    out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
  }
  return out;
};
const ticksSince = (before: Map<string, number>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [name, t] of threadTicks()) {
    const d = (t - (before.get(name) ?? 0)) * 10;
    if (d > 0) out[name] = d;
  }
  return out;
};

const dir = mkdtempSync(join(tmpdir(), 'calico-diag-cold-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'bench-token-not-secret');
const handle = await startAggregator({
  config: { listen: { host: '127.0.0.1', port: 0 }, tokenFile, staleIntervals: 10_000, bodyLimit: 256 * 1024 * 1024, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' },
  token: 'bench-token-not-secret',
  logger: pino({ level: 'warn' }, pino.destination(2)),
  processMetrics: false,
  debounceMs: 1e9,
  periodicMs: 1e9,
});
try {
  const mesh = new MeshReports(n, faults);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const raw = JSON.parse(mesh.body(i, 1, { full: true }).text) as { sections: unknown };
    const r = handle.store.ingest(Report.parse(raw), new Date().toISOString(), raw.sections);
    if (r.kind !== 'accepted') throw new Error(`node ${i}: ${r.kind}`);
  }
  process.stderr.write(`[cold n=${n}] ${root}: ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  let session: Session | undefined;
  for (let p = 0; p < passes; p++) {
    if ((profile || heapProfile) && p === 0) {
      session = new Session();
      session.connect();
      if (profile) {
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      } else await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    }
    const threads0 = threadTicks();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    await handle.engine.trigger();
    const wall = performance.now() - w0;
    const cpu = process.cpuUsage(cpu0);
    const threadsMs = ticksSince(threads0);
    if (session !== undefined && p === 0) {
      const prof = profile ? (await session.post('Profiler.stop')).profile : (await session.post('HeapProfiler.stopSampling')).profile;
      const out = join(process.cwd(), `cold-${n}-${Date.now()}.${profile ? 'cpuprofile' : 'heapprofile'}`);
      writeFileSync(out, JSON.stringify(prof));
      process.stderr.write(`[cold n=${n}] profile: ${out}\n`);
    }
    const findings = handle.engine.findings() as readonly Finding[];
    const found = expected.filter((e) => findings.some((f) => f.rule === e.rule && f.node === e.node && f.peer === e.peer)).length;
    const other = findings.filter((f) => !expected.some((e) => e.rule === f.rule && e.node === f.node && e.peer === f.peer));
    process.stdout.write(
      `${JSON.stringify({ root, nodes: n, pass: p + 1, cpuMs: Math.round((cpu.user + cpu.system) / 1000), wallMs: Math.round(wall), threadsMs, found: `${found}/${expected.length}`, other: other.length, otherRules: [...new Set(other.map((f) => f.rule))] })}\n`,
    );
  }
} finally {
  await handle.stop();
  rmSync(dir, { recursive: true, force: true });
}
