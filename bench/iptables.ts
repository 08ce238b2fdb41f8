/**
 * Benchmark of the iptables-save parser (not a test: it measures, it does not assert).
 *
 *   npm run bench                      # build, then: node dist/bench/iptables.js
 *   node dist/bench/iptables.js --rules 100000 --runs 31
 *   node dist/bench/iptables.js --snapshot-rss [--rules 100000] [--no-hint]
 *       (root) loads the dump into a namespace `cdB-bench` with ipset restore + iptables-legacy-restore,
 *       adds kubelet's KUBE-IPTABLES-HINT chain to the legacy mangle table (as on every kube node;
 *       --no-hint leaves it out so backend detection reads full dumps), then runs
 *       `/usr/bin/time -f %M ip netns exec cdB-bench bin/calico-diag.js snapshot --json` three
 *       times and reports the peak RSS (the namespace is deleted afterwards, also on failure).
 *
 * Generates a deterministic Calico-like `iptables-save -c` dump (bench/gen-iptables.ts), then in
 * the same process, alternating, times (a) a bare line split (`text.split('\n')` and touching each
 * line) and (b) `parseIptablesSave` (wall and process CPU time: CPU time is steadier on a busy
 * machine), then separately (c) parse + deriving every rule's fields (tokens, target, comments,
 * ipset matches) as a consumer reading all rules would. Reports medians, MB/s, the parse/split
 * ratios, heap and RSS.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIptablesSave } from './gen-iptables.js';
import { iptablesTotals, parseIptablesSave } from '../agent/parsers/iptables-save.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

const WARMUP = 6;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

function main(): void {
  const rules = arg('--rules', 100_000);
  const runs = arg('--runs', 31);
  const text = generateIptablesSave({ rules, seed: 42 });
  const mb = Buffer.byteLength(text) / 1e6;

  const splitMs: number[] = [];
  const parseMs: number[] = [];
  const fullMs: number[] = [];
  const splitCpuMs: number[] = [];
  const parseCpuMs: number[] = [];
  let sink = 0;
  const rssBefore = process.memoryUsage().rss;
  let heapAfterParse = 0;
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  // phase 1: bare split and parse, alternating; the first WARMUP rounds warm up the JIT
  for (let r = 0; r < runs + WARMUP; r++) {
    let c = process.cpuUsage();
    let t = performance.now();
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) sink += (lines[i] as string).charCodeAt(0) | 0;
    const s = performance.now() - t;
    const sc = cpuMs(process.cpuUsage(c));

    c = process.cpuUsage();
    t = performance.now();
    const res = parseIptablesSave(text);
    const p = performance.now() - t;
    const pc = cpuMs(process.cpuUsage(c));
    if (!res.ok) throw new Error(`benchmark input did not parse: ${res.error.message}`);

    if (r >= WARMUP) {
      splitMs.push(s);
      parseMs.push(p);
      splitCpuMs.push(sc);
      parseCpuMs.push(pc);
    }
    if (r === runs + WARMUP - 1) {
      heapAfterParse = process.memoryUsage().heapUsed;
      const totals = iptablesTotals(res.value);
      if (totals.rules !== rules) throw new Error(`expected ${rules} rules, parsed ${totals.rules}`);
    }
  }
  // phase 2: parse and materialise every rule's derived fields, as a consumer reading all rules
  for (let r = 0; r < Math.max(3, runs >> 2) + 1; r++) {
    const t = performance.now();
    const res = parseIptablesSave(text);
    if (!res.ok) throw new Error(res.error.message);
    for (const table of res.value.tables) {
      for (const chain of table.chains) {
        for (const rule of chain.rules) {
          sink += rule.tokens.length + rule.comments.length + rule.matchSets.length + (rule.target === null ? 0 : 1);
        }
      }
    }
    if (r >= 1) fullMs.push(performance.now() - t);
  }
  const split = median(splitMs);
  const parse = median(parseMs);
  const full = median(fullMs);
  const mem = process.memoryUsage();
  const out = {
    rules,
    megabytes: Number(mb.toFixed(2)),
    runs,
    node: process.version,
    splitMsMedian: Number(split.toFixed(1)),
    parseMsMedian: Number(parse.toFixed(1)),
    parseMBps: Number((mb / (parse / 1000)).toFixed(0)),
    ratioParseToSplit: Number((parse / split).toFixed(2)),
    splitCpuMsMedian: Number(median(splitCpuMs).toFixed(1)),
    parseCpuMsMedian: Number(median(parseCpuMs).toFixed(1)),
    ratioParseToSplitCpu: Number((median(parseCpuMs) / median(splitCpuMs)).toFixed(2)),
    parseAndDeriveAllMsMedian: Number(full.toFixed(1)),
    ratioParseAndDeriveAllToSplit: Number((full / split).toFixed(2)),
    heapUsedAfterParseMiB: Number(mib(heapAfterParse)),
    rssBeforeMiB: Number(mib(rssBefore)),
    rssPeakishMiB: Number(mib(mem.rss)),
    sink: sink & 1,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

const NS = 'cdB-bench';

const must = (argv: string[], input?: string): string => {
  const r = spawnSync(argv[0] as string, argv.slice(1), { input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').split('\n')[0]}`);
  return r.stdout;
};

function snapshotRss(): void {
  const rules = arg('--rules', 100_000);
  const hint = !process.argv.includes('--no-hint');
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const text = generateIptablesSave({ rules, seed: 42 });
  const sets = [...new Set([...text.matchAll(/--match-set (\S+)/g)].map((m) => m[1] as string))];
  spawnSync('ip', ['netns', 'del', NS]);
  try {
    must(['ip', 'netns', 'add', NS]);
    must(['ip', 'netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
    must(['ip', 'netns', 'exec', NS, 'ipset', 'restore'], sets.map((s) => `create ${s} hash:net\n`).join(''));
    must(['ip', 'netns', 'exec', NS, 'iptables-legacy-restore', '-c'], text);
    if (hint) must(['ip', 'netns', 'exec', NS, 'iptables-legacy', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);
    const peaks: number[] = [];
    let outBytes = 0;
    let iptablesMs = 0;
    for (let i = 0; i < 3; i++) {
      const r = spawnSync('/usr/bin/time', ['-f', 'cdB-maxrss-kib %M', 'ip', 'netns', 'exec', NS, join(root, 'bin/calico-diag.js'), 'snapshot', '--json'], {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 512 * 1024 * 1024,
      });
      const m = /cdB-maxrss-kib (\d+)/.exec(r.stderr ?? '');
      if (r.status !== 0 || !m) throw new Error(`snapshot failed: exit ${r.status}: ${(r.stderr ?? '').slice(0, 300)}`);
      peaks.push(Number(m[1]) / 1024);
      outBytes = r.stdout.length;
      const snap = JSON.parse(r.stdout) as { snapshot: { timings: Record<string, number>; sections: { iptables: { status: string } } } };
      if (snap.snapshot.sections.iptables.status !== 'ok') throw new Error('iptables section not ok');
      iptablesMs = snap.snapshot.timings.iptables ?? 0;
    }
    const out = {
      rules,
      kubeHint: hint,
      command: `/usr/bin/time -f %M ip netns exec ${NS} bin/calico-diag.js snapshot --json`,
      peakRssMiB: peaks.map((p) => Number(p.toFixed(1))),
      peakRssMiBMedian: Number(median(peaks).toFixed(1)),
      jsonOutputMB: Number((outBytes / 1e6).toFixed(1)),
      iptablesCollectorMs: iptablesMs,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
}

if (process.argv.includes('--snapshot-rss')) snapshotRss();
else main();
