/**
 * Runs one command (usually one vitest file of test/lab/uml/) inside user-mode-linux: a Linux 6.1
 * kernel that runs as an ordinary host process and has the modules this host's kernel lacks (ipip).
 *
 * How: linux.uml boots on the host's root filesystem through hostfs (`root=/dev/root
 * rootfstype=hostfs hostfs=/`) with a generated shell script as init. The init mounts tmpfs over
 * /run, /tmp, /var/tmp and /dev/shm before anything else (hostfs writes go to the host's real
 * files: namespaces, sockets and lock files must not land there), binds the package's module tree
 * at <UML_MODULE_ROOT>/lib/modules/<release> and points modprobe there (the init's own, and the one
 * the kernel runs to load a module on demand): the host's /lib/modules, when it has one, holds its
 * own kernel's modules, and a host without one could not take a mount there. It loads the modules,
 * runs the command in the repository with its output in a file of the run directory, writes the
 * exit code there and powers off. The run directory is <repo>/.lab-uml/run-<id>/ (not under /tmp,
 * which is a tmpfs inside), gitignored, removed after every run. linux.uml runs with the xstate shim
 * preloaded (lab/uml/xstate-shim.c says why).
 *
 * State and concurrency: one UML at a time on the machine (each takes `memMiB` of memory and a
 * core): runInUml holds an flock(1) on <tmpdir>/calico-diag-uml.lock through a holder process whose
 * stdin is our pipe, so the lock goes with our process however it dies. UML is spawned detached (its
 * own process group: it forks a host process per UML process); a timeout or an abort SIGKILLs the
 * group, and every run ends by killing whatever host process still carries its init path in its
 * argv. A run directory whose owner process is gone (a crashed run) is swept, with its processes, by
 * the next run. Everything else is per call.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { repoRoot } from './spawn.js';

export const UML_BINARY = '/usr/bin/linux.uml';
export const UML_MODULES_DIR = '/usr/lib/uml/modules';
/** Where the init makes the module tree visible inside UML (under its /run tmpfs), for `modprobe -d`. */
export const UML_MODULE_ROOT = '/run/calico-diag-modules';
/** The modprobe the kernel inside UML runs to load a module on demand (a script the init writes). */
export const UML_MODPROBE = '/run/calico-diag-modprobe';
/** Loaded in this order by the init; one that fails is reported (UmlRunResult.modulesFailed), not fatal. */
export const UML_MODULES: readonly string[] = [
  'ipip', 'vxlan', 'veth', 'bridge', 'br_netfilter', 'tun', 'af_packet', 'nf_conntrack',
  'ip_tables', 'iptable_filter', 'iptable_mangle', 'iptable_nat', 'iptable_raw',
  'ip6_tables', 'ip6table_filter', 'ip6table_mangle', 'ip6table_nat', 'ip6table_raw', 'ipt_REJECT', 'ip6t_REJECT',
  'ip_set', 'ip_set_hash_net', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_netport', 'ip_set_bitmap_port', 'ip_set_list_set',
  'xt_set', 'xt_comment', 'xt_conntrack', 'xt_state', 'xt_mark', 'xt_connmark', 'xt_addrtype', 'xt_multiport', 'xt_limit', 'xt_physdev', 'xt_mac',
  'xt_nat', 'xt_MASQUERADE', 'xt_tcpudp', 'xt_LOG', 'xt_NFLOG', 'nfnetlink_log', 'nf_conntrack_netlink',
];
/** glibc inside UML must not use AVX-512: the xstate shim carries only the first 832 bytes of FP state. */
export const UML_GLIBC_TUNABLES = 'glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD';
/** The vitest config of the files that run inside UML (test/lab/uml/*.uml.test.ts). */
export const UML_VITEST_CONFIG = 'vitest.uml.config.ts';
/** Prefix of the lines the init writes on the console. */
export const UML_MARK = 'calico-diag-uml:';

export type UmlProblemKind = 'no-uml-binary' | 'no-modules' | 'no-shim' | 'no-flock' | 'bad-test-file' | 'bad-options';

/** Why a run could not start (nothing was booted). */
export class UmlUnavailableError extends Error {
  constructor(
    readonly kind: UmlProblemKind,
    detail: string,
  ) {
    super(`user-mode-linux run cannot start (${kind}): ${detail}`);
    this.name = 'UmlUnavailableError';
  }
}

/** Another run held the machine's UML lock for longer than lockWaitMs. */
export class UmlLockTimeoutError extends Error {
  constructor(readonly lockFile: string, readonly waitedMs: number) {
    super(`user-mode-linux lock ${lockFile} still held by another run after ${waitedMs} ms`);
    this.name = 'UmlLockTimeoutError';
  }
}

export interface UmlRunOptions {
  /** A test file (repository-relative or absolute, inside the repository) run with vitest.uml.config.ts. */
  testFile?: string;
  /** Extra vitest arguments for testFile (e.g. ['-t', 'a test name pattern']). */
  vitestArgs?: readonly string[];
  /** Or a shell command (sh -c) run in the repository root. Exactly one of testFile, command. */
  command?: string;
  /** The whole run, boot included (default 10 minutes). */
  timeoutMs?: number;
  /** UML's memory (default 2048). */
  memMiB?: number;
  /** Extra environment for the command inside. */
  env?: Record<string, string>;
  /** Aborting kills the UML at once (the result says aborted). */
  signal?: AbortSignal;
  /** The command's output as it comes (polled from the output file). */
  onOutput?: (chunk: string) => void;
  /** The kernel console as it comes (boot messages, module load report, the init's marks). */
  onConsole?: (chunk: string) => void;
  /** How long to wait for another run's UML to finish (default 20 minutes). */
  lockWaitMs?: number;
}

export interface UmlRunResult {
  /** The command's exit code; null when it did not finish (timeout, abort, UML died first). */
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  /** The command's stdout+stderr (not a tty inside: no colours, no cursor moves). */
  output: string;
  /** The kernel console: boot messages and the init's `calico-diag-uml:` lines. */
  console: string;
  /** Modules whose modprobe failed; null when the init did not get that far. */
  modulesFailed: string[] | null;
  /** Set when the init stopped before running the command (a mount or cd failed). */
  setupError: string | null;
  /** linux.uml spawned → the init's first line; null when it never ran. */
  bootMs: number | null;
  /** The command's run time as seen from the host; null when it did not start. */
  commandMs: number | null;
  /** The whole run (after the lock): spawn → UML gone. */
  durationMs: number;
  /** Time spent waiting for another run's UML. */
  lockWaitMs: number;
  /** The kernel release (the module directory's name). */
  release: string;
  /** How linux.uml itself ended. */
  umlExit: { code: number | null; signal: NodeJS.Signals | null };
  /** The run's directory (init, output, exit code), already removed when the result is returned. */
  runDir: string;
}

export interface UmlHost {
  binary: string;
  modulesDir: string;
  release: string;
  shim: string;
}

// ---------------------------------------------------------------------------------------------
// Pure parts

/** A shell word that sh reads back as exactly `s`. */
export const shellQuote = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The command that runs one test file inside (argv, repository-relative file). */
export const vitestArgv = (testFile: string, extra: readonly string[] = []): string[] => ['node', 'node_modules/vitest/vitest.mjs', 'run', '--config', UML_VITEST_CONFIG, ...extra, testFile];

export interface InitScriptParams {
  runDir: string;
  cwd: string;
  release: string;
  modulesDir: string;
  modules: readonly string[];
  command: string;
  env: Record<string, string>;
}

/**
 * The init (PID 1) inside UML. Every mount that keeps writes off the host's files comes first and is
 * checked: if one fails, the init stops there (`setup-failed`) without running anything.
 */
export const umlInitScript = (p: InitScriptParams): string => {
  for (const k of Object.keys(p.env)) if (!ENV_NAME.test(k)) throw new UmlUnavailableError('bad-options', `environment variable name ${JSON.stringify(k)}`);
  const q = shellQuote;
  const rel = q(p.release);
  const env = Object.entries(p.env).map(([k, v]) => `export ${k}=${q(v)}`);
  return [
    '#!/bin/sh',
    '# PID 1 inside user-mode-linux, written by lab/uml.ts for one run (removed with its directory).',
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8',
    `export GLIBC_TUNABLES=${q(UML_GLIBC_TUNABLES)}`,
    `export CALICO_DIAG_UML=${rel}`,
    ...env,
    `RUN=${q(p.runDir)}`,
    `say() { echo "${UML_MARK} $*"; }`,
    `stop() { sync; poweroff -f; echo o > /proc/sysrq-trigger; sleep 5; }`,
    `fail() { say "setup-failed $*"; stop; }`,
    'say init',
    'mount -t proc proc /proc || fail mount /proc',
    'mount -t sysfs sys /sys || fail mount /sys',
    // the checkout may itself lie under one of the directories the tmpfs mounts hide (a clone in
    // /tmp): keep a view of it in UML's own devtmpfs and put it back in place after the mounts
    `REPO=${q(p.cwd)}`,
    'mkdir -p /dev/.calico-diag-repo && mount --bind "$REPO" /dev/.calico-diag-repo || fail bind checkout',
    // hostfs writes reach the host's files: these tmpfs mounts come before anything that writes
    'for d in /run /tmp /var/tmp; do mount -t tmpfs tmpfs "$d" || fail mount "$d"; done',
    'case "$REPO" in /run|/run/*|/tmp|/tmp/*|/var/tmp|/var/tmp/*) mkdir -p "$REPO" && mount --bind /dev/.calico-diag-repo "$REPO" || fail rebind checkout ;; esac',
    // /dev is UML's own devtmpfs (no shm directory in it)
    'mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm || fail mount /dev/shm',
    `mkdir -p /run/netns /run/lock ${UML_MODULE_ROOT}/lib/modules/${rel} || fail mkdir`,
    `mount --bind ${q(`${p.modulesDir}/${p.release}`)} ${UML_MODULE_ROOT}/lib/modules/${rel} || fail bind modules`,
    // every modprobe reads that tree: the init's (this function) and the kernel's on-demand loads
    `modprobe() { command modprobe -d ${UML_MODULE_ROOT} "$@"; }`,
    `printf '#!/bin/sh\\nexec modprobe -d ${UML_MODULE_ROOT} "$@"\\n' > ${UML_MODPROBE} && chmod 755 ${UML_MODPROBE} || fail modprobe helper`,
    `echo ${UML_MODPROBE} > /proc/sys/kernel/modprobe || fail modprobe helper`,
    'failed=""',
    // one modprobe for all (each process costs in UML); only when it fails, one each to name the failures
    `mods=${q(p.modules.join(' '))}`,
    'modprobe -a $mods 2>/dev/null || for m in $mods; do modprobe "$m" 2>/dev/null || failed="$failed $m"; done',
    'say "modules-failed:$failed"',
    'cd "$REPO" || fail cd',
    'say command-start',
    `sh -c ${q(p.command)} > "$RUN/output" 2>&1 < /dev/null`,
    'rc=$?',
    'echo "$rc" > "$RUN/rc"',
    'say "command-exit $rc"',
    'stop',
    '',
  ].join('\n');
};

/** linux.uml's argv (after the binary). */
export const umlArgv = (p: { initPath: string; memMiB: number; umlDir: string; umid: string }): string[] => [
  `mem=${p.memMiB}M`,
  'root=/dev/root',
  'rootfstype=hostfs',
  'hostfs=/',
  'rw',
  `init=${p.initPath}`,
  `uml_dir=${p.umlDir}`,
  `umid=${p.umid}`,
  'con=null',
  'con0=fd:0,fd:1',
  'quiet',
];

export interface ConsoleMarks {
  init: boolean;
  modulesFailed: string[] | null;
  setupError: string | null;
  commandStarted: boolean;
  commandExit: number | null;
}

/** The init's marks in the console text (carriage returns allowed). */
export const parseConsole = (text: string): ConsoleMarks => {
  const marks: ConsoleMarks = { init: false, modulesFailed: null, setupError: null, commandStarted: false, commandExit: null };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r/g, '').trim();
    const at = line.indexOf(UML_MARK);
    if (at < 0) continue;
    const rest = line.slice(at + UML_MARK.length).trim();
    if (rest === 'init') marks.init = true;
    else if (rest.startsWith('modules-failed:')) marks.modulesFailed = rest.slice('modules-failed:'.length).split(/\s+/).filter((m) => m !== '');
    else if (rest.startsWith('setup-failed')) marks.setupError ??= rest.slice('setup-failed'.length).trim();
    else if (rest === 'command-start') marks.commandStarted = true;
    else if (rest.startsWith('command-exit ')) {
      const n = Number(rest.slice('command-exit '.length));
      if (Number.isInteger(n)) marks.commandExit = n;
    }
  }
  return marks;
};

/** Whether a /proc/<pid>/cmdline (NUL-separated) belongs to the UML booted with this init. */
export const cmdlineHasInit = (cmdline: string, initPath: string): boolean => cmdline.split('\0').includes(`init=${initPath}`);

/** The kernel release to use: the highest-sorting module directory. */
export const pickRelease = (dirs: readonly string[]): string | null =>
  [...dirs].filter((d) => /^\d+\.\d+/.test(d)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1) ?? null;

// ---------------------------------------------------------------------------------------------
// Host side

const UML_STATE_DIR = '.lab-uml';
const SHIM_SOURCE = 'lab/uml/xstate-shim.c';

const stateDir = (): string => join(repoRoot(), UML_STATE_DIR);

export interface ShimPaths {
  source: string;
  so: string;
  /** the compiler (a name on PATH or a path) */
  gcc: string;
}

const defaultShimPaths = (): ShimPaths => ({ source: join(repoRoot(), SHIM_SOURCE), so: join(stateDir(), 'xstate-shim.so'), gcc: 'gcc' });

/** The shim .so, compiled when missing or older than its source (atomically: a temp file renamed). */
export const ensureShim = (paths: ShimPaths = defaultShimPaths()): string => {
  const { source: src, so, gcc } = paths;
  const srcTime = existsSync(src) ? statSync(src).mtimeMs : null;
  const soTime = existsSync(so) ? statSync(so).mtimeMs : null;
  if (soTime !== null && (srcTime === null || soTime >= srcTime)) return so;
  if (srcTime === null) throw new UmlUnavailableError('no-shim', `${src} is missing and no built ${so}`);
  if (spawnSync(gcc, ['--version'], { stdio: 'ignore' }).status !== 0) {
    if (soTime !== null) return so;
    throw new UmlUnavailableError('no-shim', `gcc is not installed (apt-get install gcc libc6-dev, or run scripts/setup.sh) and no built ${so}`);
  }
  mkdirSync(dirname(so), { recursive: true });
  const tmp = `${so}.${process.pid}.${randomBytes(3).toString('hex')}`;
  const r = spawnSync(gcc, ['-O2', '-shared', '-fPIC', '-o', tmp, src, '-ldl'], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new UmlUnavailableError('no-shim', `gcc could not build ${src} (is libc6-dev installed?): ${(r.stderr ?? '').trim() || r.error?.message}`);
  }
  renameSync(tmp, so);
  return so;
};

/** Checks the machine and returns what a run needs; throws UmlUnavailableError naming what is missing. */
export const umlHost = (paths: { binary: string; modulesDir: string; shim?: ShimPaths } = { binary: UML_BINARY, modulesDir: UML_MODULES_DIR }): UmlHost => {
  if (!existsSync(paths.binary)) throw new UmlUnavailableError('no-uml-binary', `${paths.binary} not found (apt-get install user-mode-linux, or run scripts/setup.sh)`);
  let release: string | null = null;
  try {
    release = pickRelease(readdirSync(paths.modulesDir));
  } catch {
    // reported below
  }
  if (release === null) throw new UmlUnavailableError('no-modules', `no kernel module directory under ${paths.modulesDir} (the user-mode-linux package installs it)`);
  if (spawnSync('flock', ['--version'], { stdio: 'ignore' }).status !== 0) throw new UmlUnavailableError('no-flock', 'flock (util-linux) not found on PATH');
  return { binary: paths.binary, modulesDir: paths.modulesDir, release, shim: ensureShim(paths.shim) };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Host pids whose argv carries this init path (linux.uml and every process it forked). */
export const umlPids = (initPath: string): number[] => {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (cmdlineHasInit(readFileSync(`/proc/${d}/cmdline`, 'latin1'), initPath)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
};

/** SIGKILLs every host process of the UML booted with this init until none is left (or 5 s). */
const killUml = async (initPath: string, pgid: number | undefined): Promise<number[]> => {
  if (pgid !== undefined) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // group gone
    }
  }
  const until = Date.now() + 5000;
  let left = umlPids(initPath);
  while (left.length > 0 && Date.now() < until) {
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await sleep(50);
    left = umlPids(initPath);
  }
  return left;
};

/** Kills the UMLs of crashed runs (owner process gone) and removes their run directories. */
export const sweepUmlLeftovers = async (): Promise<string[]> => {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(stateDir()).filter((d) => d.startsWith('run-'));
  } catch {
    return removed;
  }
  for (const d of entries) {
    const dir = join(stateDir(), d);
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8').trim());
    } catch {
      // no owner file: a crashed run between mkdir and write, or one being created right now
      let age: number;
      try {
        age = Date.now() - statSync(dir).mtimeMs;
      } catch {
        continue; // removed meanwhile
      }
      if (age < 60_000) continue;
    }
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
    await killUml(join(dir, 'init'), undefined);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
};

/** The machine-wide lock (flock) that lets one UML run at a time, whichever checkout starts it. */
export const umlLockFile = (): string => join(tmpdir(), 'calico-diag-uml.lock');

/** Waits for the machine-wide UML lock; the returned function releases it. */
const acquireLock = async (waitMs: number): Promise<() => void> => {
  const lockFile = umlLockFile();
  const holder = spawn('flock', ['-w', String(Math.max(1, Math.ceil(waitMs / 1000))), '-E', '75', lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const release = (): void => {
    holder.stdin?.end();
    if (holder.exitCode === null) holder.kill('SIGTERM');
  };
  const got = await new Promise<boolean>((res) => {
    holder.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('locked')) res(true);
    });
    holder.once('exit', () => res(false));
    holder.once('error', () => res(false));
  });
  if (!got) {
    release();
    throw new UmlLockTimeoutError(lockFile, waitMs);
  }
  holder.unref();
  return release;
};

/** Reads what was appended to a file since `offset` (the file may not exist yet). */
const readFrom = (file: string, offset: number): Buffer => {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const chunks: Buffer[] = [];
    let pos = offset;
    for (;;) {
      const buf = Buffer.alloc(65536);
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      pos += n;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
};

/** The repository-relative path of a test file; throws bad-test-file when it is not one. */
export const resolveTestFile = (root: string, file: string): string => {
  const abs = isAbsolute(file) ? file : resolve(root, file);
  const rel = relative(root, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UmlUnavailableError('bad-test-file', `${file} is outside the repository ${root}`);
  if (!existsSync(abs)) throw new UmlUnavailableError('bad-test-file', `${file} does not exist`);
  if (!rel.endsWith('.uml.test.ts')) throw new UmlUnavailableError('bad-test-file', `${file} is not a *.uml.test.ts file (${UML_VITEST_CONFIG} runs only those)`);
  return rel;
};

let inProcess: Promise<unknown> = Promise.resolve();

/**
 * Boots UML, runs the test file or command inside, returns its result. Never leaves a UML process or
 * the run directory behind. Throws only when the run cannot start (UmlUnavailableError,
 * UmlLockTimeoutError); a failing, hanging or crashing run is a result.
 */
export const runInUml = (opts: UmlRunOptions): Promise<UmlRunResult> => {
  // one at a time inside this process too (the flock would also serialise, but with a holder each)
  const run = inProcess.then(() => runOnce(opts));
  inProcess = run.catch(() => undefined);
  return run;
};

const runOnce = async (opts: UmlRunOptions): Promise<UmlRunResult> => {
  const root = repoRoot();
  if ((opts.testFile === undefined) === (opts.command === undefined)) throw new UmlUnavailableError('bad-options', 'give exactly one of testFile and command');
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const memMiB = opts.memMiB ?? 2048;
  if (!(timeoutMs > 0)) throw new UmlUnavailableError('bad-options', `timeoutMs ${timeoutMs}`);
  if (!Number.isInteger(memMiB) || memMiB < 128) throw new UmlUnavailableError('bad-options', `memMiB ${memMiB} (an integer, at least 128)`);
  const command = opts.testFile !== undefined ? vitestArgv(resolveTestFile(root, opts.testFile), opts.vitestArgs).map(shellQuote).join(' ') : (opts.command ?? '');
  const host = umlHost();
  if (opts.signal?.aborted) throw new UmlUnavailableError('bad-options', 'aborted before the start');

  const lockStart = Date.now();
  const unlock = await acquireLock(opts.lockWaitMs ?? 20 * 60_000);
  const lockWaitMs = Date.now() - lockStart;
  const id = randomBytes(4).toString('hex');
  const runDir = join(stateDir(), `run-${id}`);
  const initPath = join(runDir, 'init');
  try {
    await sweepUmlLeftovers();
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'owner.pid'), `${process.pid}\n`);
    writeFileSync(
      initPath,
      umlInitScript({ runDir, cwd: root, release: host.release, modulesDir: host.modulesDir, modules: UML_MODULES, command, env: { NO_COLOR: '1', ...opts.env } }),
      { mode: 0o755 },
    );
    return await boot({ opts, host, runDir, initPath, id, timeoutMs, memMiB, lockWaitMs });
  } finally {
    // boot() already killed everything; this is for a throw between mkdir and boot
    await killUml(initPath, undefined);
    rmSync(runDir, { recursive: true, force: true });
    unlock();
  }
};

const boot = async (p: {
  opts: UmlRunOptions;
  host: UmlHost;
  runDir: string;
  initPath: string;
  id: string;
  timeoutMs: number;
  memMiB: number;
  lockWaitMs: number;
}): Promise<UmlRunResult> => {
  const { opts, runDir, initPath } = p;
  const outputFile = join(runDir, 'output');
  const start = Date.now();
  const child = spawn(p.host.binary, umlArgv({ initPath, memMiB: p.memMiB, umlDir: runDir, umid: `cdu-${p.id}` }), {
    cwd: runDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: runDir, ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}), LD_PRELOAD: p.host.shim },
  });
  const pgid = child.pid;
  // a parent that exits (vitest worker torn down) takes the UML with it
  const onExit = (): void => {
    if (pgid !== undefined) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', onExit);

  let consoleText = '';
  let bootMs: number | null = null;
  let commandStartAt: number | null = null;
  let commandEndAt: number | null = null;
  const onConsole = (b: Buffer): void => {
    const chunk = b.toString('utf8').replace(/\r/g, '');
    consoleText += chunk;
    opts.onConsole?.(chunk);
    const now = Date.now();
    if (bootMs === null && consoleText.includes(`${UML_MARK} init`)) bootMs = now - start;
    if (commandStartAt === null && consoleText.includes(`${UML_MARK} command-start`)) commandStartAt = now;
    if (commandEndAt === null && consoleText.includes(`${UML_MARK} command-exit`)) commandEndAt = now;
  };
  child.stdout?.on('data', onConsole);
  child.stderr?.on('data', onConsole);

  let outOffset = 0;
  const outChunks: Buffer[] = [];
  const pollOutput = (): void => {
    const b = readFrom(outputFile, outOffset);
    if (b.length === 0) return;
    outOffset += b.length;
    outChunks.push(b);
    opts.onOutput?.(b.toString('utf8'));
  };
  const poller = setInterval(pollOutput, 250);

  let timedOut = false;
  let aborted = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => res({ code, signal }));
    child.once('error', () => res({ code: null, signal: null }));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    onExit();
  }, p.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    onExit();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let umlExit: { code: number | null; signal: NodeJS.Signals | null };
  let left: number[];
  try {
    umlExit = await exited;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    clearInterval(poller);
    // UML's other host processes die with it, normally; make sure
    left = await killUml(initPath, pgid);
    process.removeListener('exit', onExit);
  }
  if (left.length > 0) throw new Error(`user-mode-linux processes ${left.join(' ')} survived SIGKILL`);
  pollOutput();
  const durationMs = Date.now() - start;
  let rc: number | null = null;
  try {
    const n = Number(readFileSync(join(runDir, 'rc'), 'utf8').trim());
    if (Number.isInteger(n)) rc = n;
  } catch {
    // the command did not finish
  }
  const marks = parseConsole(consoleText);
  return {
    exitCode: timedOut || aborted ? null : rc,
    timedOut,
    aborted,
    output: Buffer.concat(outChunks).toString('utf8'),
    console: consoleText,
    modulesFailed: marks.modulesFailed,
    setupError: marks.setupError,
    bootMs,
    commandMs: commandStartAt !== null ? (commandEndAt ?? start + durationMs) - commandStartAt : null,
    durationMs,
    lockWaitMs: p.lockWaitMs,
    release: p.host.release,
    umlExit,
    runDir,
  };
};
