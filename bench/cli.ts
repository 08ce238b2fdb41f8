/**
 * CLI cold start benchmark (#17; not a test: it measures, it does not assert).
 *
 *   npm run bench:cli                          # build, then node dist/bench/cli.js
 *   node dist/bench/cli.js [--runs 20] [--root DIR] [--base DIR]
 *
 * Starts a local aggregator (`calico-diag aggregator --kube off` on 127.0.0.1, a temporary token
 * file, no nodes: `findings` prints "No active findings"), then runs, interleaved, `--runs` times
 * after 3 warm-up rounds: a bare `node -e 0`, `bin/calico-diag.js --help` and
 * `bin/calico-diag.js findings --aggregator URL --token-file F`, the bin executed directly as a
 * user runs it (its shebang: `node --max-semi-space-size=2`). Each run under `/usr/bin/time`:
 * wall time measured here (performance.now around the spawn), CPU (user+sys, 10 ms resolution per
 * run, so reported as the mean over the runs). Reports medians and the ratios to `node -e 0` of the
 * same rounds (and of the 10th percentiles of wall time: on a machine others load, the runs they
 * slowed least), and floors of `findings`: `node` loading node:http, `node` doing one node:http GET
 * of the aggregator (what `findings` does), and, what it did before #17, one fetch and importing zod.
 * `--root DIR`: the calico-diag checkout to run (e.g. an older build, for before/after).
 * `--base DIR`: another built checkout (e.g. the main branch's) whose `--help` and `findings` run in
 * the same rounds as `base: …` cases, against the same aggregator: before/after alternated, on a
 * machine whose load moves the figures between runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argNum = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const argStr = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
/** the 10th percentile (nearest rank): on a loaded machine, the runs least slowed by others */
const p10 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length / 10) - 1)] as number;
const r1 = (n: number): number => Math.round(n * 10) / 10;
const r2 = (n: number): number => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ROOT = argStr('--root', join(dirname(fileURLToPath(import.meta.url)), '../..'));
const BASE = argStr('--base', '');

const run = (argv: string[]): { wallMs: number; cpuMs: number } => {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'cdl-time %U %S', ...argv], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const wallMs = performance.now() - t;
  const m = /cdl-time ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').slice(0, 300)}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 };
};

async function main(): Promise<void> {
  const runs = argNum('--runs', 20);
  const tmp = mkdtempSync(join(tmpdir(), 'cdl-cli-'));
  const token = join(tmp, 'token');
  writeFileSync(token, 'cdl-bench-cli-token\n');
  const bin = join(ROOT, 'bin/calico-diag.js');
  // a port of our own (the aggregator takes 1..65535, not 0): free now, by a probe listener
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const agg = spawn(process.execPath, [bin, 'aggregator', '--kube', 'off', '--listen', `127.0.0.1:${port}`, '--token-file', token], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = `http://127.0.0.1:${port}`;
    agg.stdout?.resume();
    agg.stderr?.resume();
    const t0 = Date.now();
    for (;;) {
      const up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (up) break;
      if (Date.now() - t0 > 60_000) throw new Error('the aggregator did not start in 60 s');
      await sleep(200);
    }
    const cases: Record<string, string[]> = {
      'node -e 0': [process.execPath, '-e', '0'],
      'calico-diag --help': [bin, '--help'],
      'calico-diag findings': [bin, 'findings', '--aggregator', url, '--token-file', token],
      // floors of what `findings` has to do: load node:http and ask the aggregator once (what it
      // does since #17), and what it did before: one fetch (undici loads on first use) and zod
      ...(BASE
        ? {
            'base: calico-diag --help': [join(BASE, 'bin/calico-diag.js'), '--help'],
            'base: calico-diag findings': [join(BASE, 'bin/calico-diag.js'), 'findings', '--aggregator', url, '--token-file', token],
          }
        : {}),
      'floor: node + require node:http': [process.execPath, '-e', "require('node:http')"],
      'floor: node + one node:http GET': [process.execPath, '-e', `require('node:http').get(${JSON.stringify(`${url}/healthz`)}, (r) => r.resume())`],
      'floor: node + one fetch': [process.execPath, '--input-type=module', '-e', `await fetch(${JSON.stringify(`${url}/healthz`)})`],
      'floor: node + import zod': [process.execPath, '--input-type=module', '-e', "await import('zod')"],
    };
    const probe = spawnSync(bin, ['findings', '--aggregator', url, '--token-file', token], { encoding: 'utf8' });
    if (probe.status !== 0) throw new Error(`findings failed: ${probe.stderr}`);
    const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const wall: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    for (let r = 0; r < runs + 3; r++) {
      for (const [name, argv] of Object.entries(cases)) {
        const x = run(argv);
        if (r < 3) continue;
        (wall[name] ??= []).push(x.wallMs);
        (cpu[name] ??= []).push(x.cpuMs);
      }
    }
    const base = median(wall['node -e 0'] as number[]);
    const baseP10 = p10(wall['node -e 0'] as number[]);
    const baseCpu = mean(cpu['node -e 0'] as number[]);
    const out: Record<string, unknown> = {
      runs,
      node: process.version,
      ...(BASE ? { base: BASE } : {}),
      loadavg: { before: loadBefore, after: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') },
      findingsOutput: probe.stdout.trim(),
    };
    for (const name of Object.keys(cases)) {
      const w = wall[name] as number[];
      const c = cpu[name] as number[];
      out[name] = {
        wallMsMedian: r1(median(w)),
        cpuMsMean: r1(mean(c)),
        ratioWall: r2(median(w) / base),
        wallMsP10: r1(p10(w)),
        ratioWallP10: r2(p10(w) / baseP10),
        ratioCpu: r2(mean(c) / baseCpu),
      };
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    agg.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
