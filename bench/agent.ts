/**
 * Agent cost benchmark (#17; not a test: it measures, it does not assert). Root only.
 *
 *   npm run bench:agent                       # build, then node dist/bench/agent.js
 *   node dist/bench/agent.js [--rules 100000] [--backend legacy|nft|nftables] [--family 4|6] [--no-hint] [--runs 3]
 *                            [--daemon-seconds 120] [--interval 30] [--churn] [--skip-snapshot] [--skip-daemon] [--root DIR]
 *                            [--compare DIR]
 *
 * Loads the generated Calico-like dump (bench/gen-iptables.ts, `--rules` rules, seed 42) with
 * `ipset restore` + `iptables-<backend>-restore -c` into a throw-away namespace `cdlB<pid>`
 * (deleted afterwards, also on failure), with kubelet's KUBE-IPTABLES-HINT chain in that backend's
 * mangle table unless `--no-hint` (then backend detection counts the rules of full dumps, as Felix).
 * `--backend nftables`: Calico's native nftables dataplane instead: the filter table of the same dump
 * as Felix's `table ip calico` (bench/gen-nftables.ts) loaded with `nft -f`, no ipsets, no iptables;
 * the bare read is then `nft -j list ruleset`, what the agent reads on such a node.
 * `--family 6`: the same ruleset as IPv6 (each a.b.c.d/len as fd00::a:b:c:d/(96+len), inet6 sets),
 * loaded and read with the ip6tables tools.
 *
 * 1. One snapshot: alternating `--runs` times, a bare `ip netns exec NS iptables-<backend>-save -c`
 *    (output to /dev/null) and `ip netns exec NS node --max-semi-space-size=2 bin/calico-diag.js
 *    snapshot --json` (as the shebang runs it), each under `/usr/bin/time` (user+sys CPU including
 *    the waited-for children, wall, peak RSS of the largest process); medians and their ratios.
 *    Also a bare `node -e 0` in the namespace, the floor any snapshot pays, and a floor for the
 *    ruleset: `node` running the same save through child_process.execFile and holding its output as
 *    one string (what any Node agent must do before it parses a byte), with its ratios to the save.
 *    `--compare DIR`: each run also times the snapshot of another checkout's build (e.g. main's, for
 *    before/after in the same run and namespace: the order alternates from run to run), reported as
 *    `compare`.
 * 2. The daemon: `calico-diag agent --interval <interval>` in the namespace for `--daemon-seconds`
 *    after its first snapshot; CPU share of one core = Δ(utime+stime+cutime+cstime) of the agent
 *    process (its children's CPU is counted once they are reaped) / wall time, from /proc/PID/stat;
 *    RSS from /proc/PID/status every 2 s (median and max after the first snapshot). The daemon runs
 *    with the node flags and allocator environment of ROOT's agent image (Dockerfile.agent). With `--churn`,
 *    every 5 s a Felix-like update rewrites one policy chain (`iptables-<backend>-restore --noflush`).
 *    The share over a window of whole intervals is the share over any longer run at a steady state
 *    (each interval repeats the same work), which is the projection to 10 minutes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIptablesSave } from './gen-iptables.js';
import { nftablesFromIptablesSave } from './gen-nftables.js';

const argNum = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const argStr = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const flag = (name: string): boolean => process.argv.includes(name);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const r2 = (n: number): number => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const NS = `cdlB${process.pid}`;
/** the calico-diag checkout whose bin/calico-diag.js runs (`--root DIR`: e.g. an older build, for before/after) */
const ROOT = argStr('--root', join(dirname(fileURLToPath(import.meta.url)), '../..'));
/** another checkout whose snapshot is timed in the same runs (`--compare DIR`), or null */
const COMPARE = process.argv.includes('--compare') ? argStr('--compare', '') : null;
const CLK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const must = (argv: string[], input?: string): string => {
  const r = spawnSync(argv[0] as string, argv.slice(1), { input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').split('\n')[0]}`);
  return r.stdout;
};

interface Timed {
  cpuS: number;
  wallS: number;
  maxRssMiB: number;
}
/** Runs argv under /usr/bin/time, stdout to /dev/null; CPU includes the waited-for children. */
const timed = (argv: string[]): Timed => {
  const r = spawnSync('/usr/bin/time', ['-f', 'cdlB-time %U %S %e %M', ...argv], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const m = /cdlB-time ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').slice(0, 300)}`);
  return { cpuS: Number(m[1]) + Number(m[2]), wallS: Number(m[3]), maxRssMiB: Number(m[4]) / 1024 };
};

const procCpuS = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14-17 (utime stime cutime cstime) are at 11..14 after the state field
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK;
};
const procRssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

/**
 * How the agent image runs the daemon (ROOT's Dockerfile.agent): the node flags of its ENTRYPOINT
 * (`node <flags> /app/bin/calico-diag.js`) and its allocator environment (`ENV GLIBC_TUNABLES=…` /
 * `MALLOC_…`), so the daemon runs here as in its pod, and `--root` of an older build runs with that
 * build's. Without a Dockerfile.agent: `--max-semi-space-size=2` (the bin's shebang), no env.
 */
const agentImage = (root: string): { nodeFlags: string[]; env: Record<string, string> } => {
  let text: string;
  try {
    text = readFileSync(join(root, 'Dockerfile.agent'), 'utf8');
  } catch {
    return { nodeFlags: ['--max-semi-space-size=2'], env: {} };
  }
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^ENV\s+((?:GLIBC_TUNABLES|MALLOC_[A-Z_]+)=\S+)\s*$/gm)) {
    const [k, v] = (m[1] as string).split(/=(.*)/s) as [string, string];
    env[k] = v;
  }
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text);
  const argv = entry ? (JSON.parse(entry[1] as string) as string[]) : [];
  const node = argv.indexOf('node');
  const script = argv.findIndex((a) => a.endsWith('calico-diag.js'));
  const nodeFlags = node >= 0 && script > node ? argv.slice(node + 1, script) : ['--max-semi-space-size=2'];
  return { nodeFlags, env };
};

async function main(): Promise<void> {
  const rules = argNum('--rules', 100_000);
  const backend = argStr('--backend', 'legacy');
  if (backend !== 'legacy' && backend !== 'nft' && backend !== 'nftables') throw new Error('--backend legacy|nft|nftables');
  // Calico's own nftables dataplane: no iptables at all, so no kubelet hint either
  const native = backend === 'nftables';
  const hint = !flag('--no-hint') && !native;
  const runs = argNum('--runs', 3);
  const daemonSeconds = argNum('--daemon-seconds', 120);
  const interval = argNum('--interval', 30);
  const churn = flag('--churn');
  const family = argStr('--family', '4');
  if (family !== '4' && family !== '6') throw new Error('--family 4|6');
  const v = family === '6' ? '6' : '';
  const v4text = generateIptablesSave({ rules, seed: 42 });
  // IPv6: the same ruleset with each IPv4 address a.b.c.d/len as fd00::a:b:c:d/(96+len)
  const text = family === '4' ? v4text : v4text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?/g, (_m, a: string, b: string, c: string, d: string, len?: string) =>
    `fd00::${[a, b, c, d].map((x) => Number(x).toString(16)).join(':')}/${96 + Number(len ?? 32)}`);
  const sets = [...new Set([...text.matchAll(/--match-set (\S+)/g)].map((m) => m[1] as string))];
  const policyChains = [...new Set([...text.matchAll(/^:(cali-pi-\S+)/gm)].map((m) => m[1] as string))].slice(0, 50);
  const ip = family === '6' ? 'ip6' : 'ip';
  const nft = native ? nftablesFromIptablesSave(text, family === '6' ? 'ipv6' : 'ipv4') : null;
  /** the bare read the snapshot is compared with: the dump of the ruleset the agent parses */
  const bareRead = native ? ['nft', '-j', 'list', 'ruleset'] : [`ip${v}tables-${backend}-save`, '-c'];
  const tmp = mkdtempSync(join(tmpdir(), 'cdlB-'));
  spawnSync('ip', ['netns', 'del', NS]);
  const out: Record<string, unknown> = { rules, backend, family: `ipv${family}`, kubeHint: hint, node: process.version, loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };
  let agent: ReturnType<typeof spawn> | null = null;
  try {
    must(['ip', 'netns', 'add', NS]);
    must(['ip', 'netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
    if (nft !== null) {
      must(['ip', 'netns', 'exec', NS, 'nft', '-f', '-'], nft.script);
      out.nftables = { rules: nft.rules, leftOut: nft.skipped, sets: nft.sets, scriptBytes: nft.script.length };
    } else {
      must(['ip', 'netns', 'exec', NS, 'ipset', 'restore'], sets.map((s) => `create ${s} hash:net${family === '6' ? ' family inet6' : ''}\n`).join(''));
      must(['ip', 'netns', 'exec', NS, `ip${v}tables-${backend}-restore`, '-c'], text);
    }
    if (hint) must(['ip', 'netns', 'exec', NS, `ip${v}tables-${backend}`, '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);

    if (!flag('--skip-snapshot')) {
      const save: Timed[] = [];
      const snap: Timed[] = [];
      const bare: Timed[] = [];
      const reader: Timed[] = [];
      const other: Timed[] = [];
      // the least any Node agent pays for the ruleset: start, run the save, hold its output as one string
      const readSave = `require('node:child_process').execFile(${JSON.stringify(bareRead[0])}, ${JSON.stringify(bareRead.slice(1))}, { maxBuffer: 1 << 30 }, (e, out) => { if (e || out.length === 0) process.exit(1); })`;
      const cliOf = (root: string) => ['ip', 'netns', 'exec', NS, process.execPath, '--max-semi-space-size=2', join(root, 'bin/calico-diag.js'), 'snapshot', '--json'];
      const cli = cliOf(ROOT);
      for (let i = 0; i < runs; i++) {
        save.push(timed(['ip', 'netns', 'exec', NS, ...bareRead]));
        if (COMPARE !== null && i % 2 === 0) other.push(timed(cliOf(COMPARE)));
        snap.push(timed(cli));
        if (COMPARE !== null && i % 2 === 1) other.push(timed(cliOf(COMPARE)));
        bare.push(timed(['ip', 'netns', 'exec', NS, process.execPath, '-e', '0']));
        reader.push(timed(['ip', 'netns', 'exec', NS, process.execPath, '--max-semi-space-size=2', '-e', readSave]));
      }
      const med = (xs: Timed[], k: keyof Timed) => r2(median(xs.map((x) => x[k])));
      /** the median of `xs` over the median of the bare reads, for CPU or wall time */
      const vsSave = (xs: Timed[], k: 'cpuS' | 'wallS') => r2(median(xs.map((x) => x[k])) / median(save.map((x) => x[k])));
      // what the timed snapshots read: a ratio over a snapshot that could not read the ruleset means nothing
      const one = spawnSync(cli[0] as string, cli.slice(1), { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30 });
      const section = (JSON.parse(one.stdout) as { snapshot: { sections: { iptables: { status: string; reason?: string; detail?: string; data?: { backend: string; ipv4: { status: string; data?: { rules: number } }; ipv6: { status: string; data?: { rules: number } } } } } } }).snapshot.sections.iptables;
      out.iptablesSection = section.status === 'ok' && section.data
        ? { status: 'ok', backend: section.data.backend, rules: (section.data.ipv4.data?.rules ?? 0) + (section.data.ipv6.data?.rules ?? 0) }
        : { status: section.status, reason: section.reason, detail: section.detail?.slice(0, 200) };
      out.snapshot = {
        command: cli.slice(4).join(' ').replace(ROOT + '/', ''),
        runs,
        bareSaveCpuS: save.map((x) => r2(x.cpuS)),
        snapshotCpuS: snap.map((x) => r2(x.cpuS)),
        bareSaveCpuSMedian: med(save, 'cpuS'),
        snapshotCpuSMedian: med(snap, 'cpuS'),
        bareNodeCpuSMedian: med(bare, 'cpuS'),
        floorNodeReadsSave: {
          cpuSMedian: med(reader, 'cpuS'),
          wallSMedian: med(reader, 'wallS'),
          peakRssMiBMedian: med(reader, 'maxRssMiB'),
          ratioCpu: vsSave(reader, 'cpuS'),
          ratioWall: vsSave(reader, 'wallS'),
        },
        ratioCpu: vsSave(snap, 'cpuS'),
        bareSaveWallSMedian: med(save, 'wallS'),
        snapshotWallSMedian: med(snap, 'wallS'),
        ratioWall: vsSave(snap, 'wallS'),
        snapshotPeakRssMiB: snap.map((x) => r2(x.maxRssMiB)),
        snapshotPeakRssMiBMedian: med(snap, 'maxRssMiB'),
        bareSavePeakRssMiBMedian: med(save, 'maxRssMiB'),
        ...(COMPARE !== null
          ? {
              compare: {
                root: COMPARE,
                snapshotCpuS: other.map((x) => r2(x.cpuS)),
                snapshotCpuSMedian: med(other, 'cpuS'),
                snapshotWallSMedian: med(other, 'wallS'),
                snapshotPeakRssMiBMedian: med(other, 'maxRssMiB'),
                ratioCpu: vsSave(other, 'cpuS'),
                ratioWall: vsSave(other, 'wallS'),
              },
            }
          : {}),
      };
      process.stderr.write(`${JSON.stringify(out.snapshot)}\n`);
    }

    if (!flag('--skip-daemon')) {
      const token = join(tmp, 'token');
      writeFileSync(token, 'cdlB-bench-token\n');
      const image = agentImage(ROOT);
      out.daemonImage = image;
      const imageEnv = image.env;
      agent = spawn('ip', ['netns', 'exec', NS, process.execPath, ...image.nodeFlags, join(ROOT, 'bin/calico-diag.js'), 'agent', '--node', 'bench', '--token-file', token, '--listen', '127.0.0.1:9477' /* the namespace's own loopback */, '--interval', `${interval}s`], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...imageEnv },
      });
      const pid = agent.pid as number; // `ip netns exec` execs node: the same pid
      let snapshots = 0;
      const durations: number[] = [];
      let failed = '';
      createInterface({ input: agent.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const m = /"msg":"snapshot taken"/.test(line) ? /"durationMs":([\d.]+)/.exec(line) : null;
        if (m) {
          snapshots++;
          durations.push(Number(m[1]));
        }
      });
      agent.stderr?.setEncoding('utf8').on('data', (s: string) => void (failed += s));
      agent.once('exit', (code) => void (failed ||= `agent exited with ${code}`));
      const t0 = Date.now();
      while (snapshots < 1) {
        if (failed !== '' && agent.exitCode !== null) throw new Error(`agent failed: ${failed.slice(0, 300)}`);
        if (Date.now() - t0 > 300_000) throw new Error('agent took no snapshot in 5 minutes');
        await sleep(200);
      }
      const firstSnapshotS = (Date.now() - t0) / 1000;
      let churnTimer: NodeJS.Timeout | null = null;
      let churnUpdates = 0;
      if (churn) {
        churnTimer = setInterval(() => {
          const chain = policyChains[churnUpdates % policyChains.length] as string;
          const set = sets[churnUpdates % sets.length] as string;
          if (native) {
            const c = `${ip} calico filter-${chain}`;
            const update = `flush chain ${c}\nadd rule ${c} meta l4proto tcp ${ip} saddr @${set.replace(/:/g, '-')} tcp dport ${1000 + (churnUpdates % 5000)} counter meta mark set meta mark | 0x10000 comment "cali:churn${churnUpdates};"\nadd rule ${c} counter drop comment "cali:churnd${churnUpdates};"\n`;
            spawnSync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: update });
            churnUpdates++;
            return;
          }
          const update = `*filter\n-F ${chain}\n-A ${chain} -p tcp -m set --match-set ${set} src -m multiport --dports ${1000 + (churnUpdates % 5000)} -m comment --comment "cali:churn${churnUpdates}" -j MARK --set-xmark 0x10000/0x10000\n-A ${chain} -m comment --comment "cali:churnd${churnUpdates}" -j DROP\nCOMMIT\n`;
          spawnSync('ip', ['netns', 'exec', NS, `ip${v}tables-${backend}-restore`, '--noflush'], { input: update });
          churnUpdates++;
        }, 5000);
      }
      const cpu0 = procCpuS(pid);
      const w0 = Date.now();
      const rss: number[] = [];
      while (Date.now() - w0 < daemonSeconds * 1000) {
        await sleep(2000);
        rss.push(procRssMiB(pid));
      }
      const cpu1 = procCpuS(pid);
      const wallS = (Date.now() - w0) / 1000;
      if (churnTimer) clearInterval(churnTimer);
      out.daemon = {
        command: `calico-diag agent --interval ${interval}s (in the namespace)`,
        churn: churn ? `${churnUpdates} policy-chain rewrites (one per 5 s)` : 'none',
        firstSnapshotS: r2(firstSnapshotS),
        windowS: r2(wallS),
        snapshotsInWindow: snapshots - 1,
        snapshotDurationMs: durations.map((d) => Math.round(d)),
        cpuS: r2(cpu1 - cpu0),
        coreShare: Number(((cpu1 - cpu0) / wallS).toFixed(4)),
        rssMiBMedian: r2(median(rss)),
        rssMiBMax: r2(Math.max(...rss)),
      };
    }
  } finally {
    if (agent) {
      agent.kill('SIGTERM');
      await sleep(500);
    }
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
