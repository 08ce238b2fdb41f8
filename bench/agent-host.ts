/**
 * Agent resource figures on this host (not a test: it measures, it does not assert).
 *
 *   npm run bench:agent-host               # build, then: node dist/bench/agent-host.js
 *   node dist/bench/agent-host.js [--snapshots 5] [--daemon-seconds 30] [--interval 2]
 *
 * Run as root, so every collector reads what it reads on a node (iptables, ipsets, /proc/sys).
 * 1. `--snapshots` one-shot snapshots through the real host, as `calico-diag snapshot` takes them:
 *    the time of each, and the size of the report the agent pushes for it — the first report
 *    (every section with its data) and the next one (data only for the sections whose hash
 *    changed since the previous snapshot: the steady-state report).
 * 2. The agent daemon (`cli/main.js agent`, listening on 127.0.0.1 with a throw-away token, no
 *    aggregator) for `--daemon-seconds` at `--interval`: its RSS sampled every second from
 *    /proc/PID/status once the first snapshot is served, its peak (VmHWM), and the CPU it and the
 *    commands it ran used (/proc/PID/stat utime+stime+cutime+cstime) per second of the window.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLocalChecks } from '../agent/checks/index.js';
import { DEFAULT_BIRD_SOCKET, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_FELIX_HEALTH_URL } from '../agent/config.js';
import { realHost } from '../agent/exec/host.js';
import { execRunner } from '../agent/exec/runner.js';
import { buildReport } from '../agent/push.js';
import { takeSnapshot } from '../agent/snapshot.js';
import { systemClock } from '../common/clock.js';
import { packageVersion } from '../common/config.js';
import { hashSection } from '../contract/hash.js';
import { SECTION_NAMES, type SectionName, type Snapshot } from '../contract/snapshot.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (line: string) => process.stdout.write(`${line}\n`);

const reportBytes = (snapshot: Snapshot, previous: Snapshot | undefined, seq: number, acked: ReadonlyMap<SectionName, string>): number => {
  const { checks, findings } = runLocalChecks({ snapshot, previous, now: snapshot.takenAt });
  const report = buildReport(
    { snapshot, checks, findings },
    { agentId: 'bench', seq, agentVersion: snapshot.agentVersion, intervalSeconds: 30, sentAt: snapshot.takenAt },
    acked,
    acked.size === 0 ? 'all' : new Set(),
  );
  return Buffer.byteLength(JSON.stringify(report));
};

const snapshots = async (count: number): Promise<void> => {
  const node = hostname().trim().toLowerCase() || 'bench';
  const take = () =>
    takeSnapshot({
      host: realHost(execRunner),
      config: { timeoutMs: DEFAULT_COMMAND_TIMEOUT_MS, felixHealthUrl: DEFAULT_FELIX_HEALTH_URL, birdSocket: DEFAULT_BIRD_SOCKET },
      node,
      clock: systemClock,
      agentVersion: packageVersion(),
    });
  const durations: number[] = [];
  const full: number[] = [];
  const steady: number[] = [];
  let previous: Snapshot | undefined;
  for (let i = 0; i < count; i++) {
    const s = await take();
    durations.push(s.durationMs);
    full.push(reportBytes(s, previous, 1, new Map()));
    if (previous !== undefined) {
      const prev = previous;
      const acked = new Map(SECTION_NAMES.map((n) => [n, hashSection(prev.sections[n])] as const));
      steady.push(reportBytes(s, previous, 2, acked));
    }
    previous = s;
  }
  const unavailable = SECTION_NAMES.filter((n) => previous?.sections[n].status !== 'ok');
  out(`snapshots of ${node}: ${count}`);
  out(`  duration ms: ${durations.map((d) => d.toFixed(0)).join(', ')} (median ${median(durations).toFixed(0)})`);
  out(`  first report (every section with data): median ${kib(median(full))}`);
  if (steady.length > 0) out(`  next report (data only for changed sections): median ${kib(median(steady))}`);
  out(`  sections unavailable on this host: ${unavailable.length === 0 ? 'none' : unavailable.join(', ')}`);
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });

/** VmRSS and VmHWM in KiB, or null once the process is gone. */
const memory = (pid: number): { rss: number; hwm: number } | null => {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
};

/** CPU seconds of the process and its waited-for children (USER_HZ is 100 on Linux). */
const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after the command: state(3) … utime(14) stime(15) cutime(16) cstime(17), 1-based
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0) / 100;
};

const daemon = async (seconds: number, interval: number): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'calico-diag-bench-agent-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'bench-token\n', { mode: 0o600 });
  const port = await freePort();
  const here = fileURLToPath(import.meta.url);
  const main = join(dirname(here), '../cli', here.endsWith('.ts') ? 'main.ts' : 'main.js');
  const nodeArgs = here.endsWith('.ts') ? ['--import', 'tsx', main] : [main];
  const child = spawn(process.execPath, [...nodeArgs, 'agent', '--node', 'bench-agent', '--listen', `127.0.0.1:${port}`, '--token-file', tokenFile, '--interval', String(interval)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pid = child.pid;
  try {
    if (pid === undefined) throw new Error('the agent did not start');
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('the agent served no snapshot within 60 s');
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await sleep(250);
    }
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const rss: number[] = [];
    for (let i = 0; i < seconds; i++) {
      await sleep(1000);
      const m = memory(pid);
      if (m === null) throw new Error('the agent exited during the window');
      rss.push(m.rss);
    }
    const cores = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
    const hwm = memory(pid)?.hwm ?? NaN;
    const mib = (k: number) => (k / 1024).toFixed(0);
    out(`agent daemon, ${seconds} s at a ${interval} s interval (pid ${pid}):`);
    out(`  RSS ${mib(Math.min(...rss))}–${mib(Math.max(...rss))} MiB (median ${mib(median(rss))}), peak (VmHWM) ${mib(hwm)} MiB`);
    out(`  CPU ${cores.toFixed(3)} cores (the daemon and the commands it ran)`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
};

const main = async (): Promise<void> => {
  if (process.getuid?.() !== 0) out('note: not root — collectors that need root report unavailable, so the figures are low');
  await snapshots(arg('--snapshots', 5));
  await daemon(arg('--daemon-seconds', 30), arg('--interval', 2));
};

main().catch((err: unknown) => {
  process.stderr.write(`bench/agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
