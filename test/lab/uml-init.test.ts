/**
 * The pure parts of lab/uml.ts and lab/uml-cli.ts, without booting: the init script (what it mounts
 * before it writes anything, how it quotes), linux.uml's argv, the console marks, the CLI's options
 * and exit codes. test/lab/uml.test.ts boots the kernel.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { repoRoot } from '../../lab/spawn.js';
import { EXIT_NOT_RUN, EXIT_TIMEOUT, summaryLine, umlCli } from '../../lab/uml-cli.js';
import {
  cmdlineHasInit, ensureShim, parseConsole, pickRelease, resolveTestFile, shellQuote, sweepUmlLeftovers, umlArgv, umlHost, umlInitScript, UmlUnavailableError, UML_MODULES, UML_MODULES_DIR, vitestArgv,
  type InitScriptParams, type UmlRunOptions, type UmlRunResult,
} from '../../lab/uml.js';

const params: InitScriptParams = {
  runDir: '/repo/.lab-uml/run-1a2b3c4d',
  cwd: '/repo',
  release: '6.1.176',
  modulesDir: '/usr/lib/uml/modules',
  modules: ['ipip', 'ip_set'],
  command: "node node_modules/vitest/vitest.mjs run --config vitest.uml.config.ts 'test/lab/uml/a b.uml.test.ts'",
  env: { LOG_LEVEL: 'debug', TRICKY: "it's $HOME `x`" },
};

const result = (over: Partial<UmlRunResult> = {}): UmlRunResult => ({
  exitCode: 0, timedOut: false, aborted: false, output: '', console: '', modulesFailed: [], setupError: null,
  bootMs: 2000, commandMs: 9000, durationMs: 12_000, lockWaitMs: 0, release: '6.1.176', umlExit: { code: 0, signal: null }, runDir: '/r/.lab-uml/run-1', ...over,
});

describe('the init script user-mode-linux runs as PID 1', () => {
  const script = umlInitScript(params);
  const lines = script.split('\n');
  const first = (re: RegExp): number => lines.findIndex((l) => re.test(l));

  it('is valid sh', () => {
    const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('mounts tmpfs over /run, /tmp, /var/tmp and /dev/shm before it loads a module, changes directory or runs the command', () => {
    const tmpfs = first(/for d in \/run \/tmp \/var\/tmp; do mount -t tmpfs tmpfs "\$d" \|\| fail/);
    const shm = first(/mount -t tmpfs tmpfs \/dev\/shm \|\| fail/);
    const bind = first(/^mount --bind \/usr\/lib\/uml\/modules\/6\.1\.176 \/run\/calico-diag-modules\/lib\/modules\/6\.1\.176 \|\| fail/);
    const modprobe = first(/modprobe/);
    expect(Math.min(tmpfs, shm, bind)).toBeGreaterThan(0);
    expect(Math.max(tmpfs, shm)).toBeLessThan(bind);
    expect(bind).toBeLessThan(modprobe);
    expect(modprobe).toBeLessThan(first(/^cd /));
    expect(first(/^cd /)).toBeLessThan(first(/^sh -c /));
    // a failed mount stops the init before anything else runs (fail powers off)
    expect(script).toMatch(/fail\(\) \{ say "setup-failed \$\*"; stop; \}/);
    expect(script).toMatch(/stop\(\) \{ sync; poweroff -f;/);
  });

  // #19: a checkout under /tmp (CI clones there) was hidden by the tmpfs and the init could not cd into it
  it('keeps the checkout visible when it lies under a directory the tmpfs mounts hide', () => {
    const stash = first(/mount --bind "\$REPO" \/dev\/\.calico-diag-repo \|\| fail/);
    const tmpfs = first(/for d in \/run \/tmp \/var\/tmp; do mount -t tmpfs/);
    const rebind = first(/^case "\$REPO" in .*\/tmp\/\*.*mount --bind \/dev\/\.calico-diag-repo "\$REPO" \|\| fail/);
    expect(stash).toBeGreaterThan(0);
    expect(stash).toBeLessThan(tmpfs);
    expect(tmpfs).toBeLessThan(rebind);
    expect(rebind).toBeLessThan(first(/^cd "\$REPO"/));
    // the case pattern matches a clone in /tmp and leaves a checkout elsewhere alone
    const pattern = /^case "\$REPO" in ([^)]*)\)/m.exec(script)?.[1] ?? '';
    const matches = (dir: string) => spawnSync('sh', ['-c', `case "$1" in ${pattern}) exit 0 ;; esac; exit 1`, 'sh', dir]).status === 0;
    expect(matches('/tmp/ci1/main')).toBe(true);
    expect(matches('/var/tmp/x')).toBe(true);
    expect(matches('/work/main')).toBe(false);
  });

  // a host without /lib/modules (this one's kernel has its modules built in) had no mount point for it: the init stopped there
  it('points every modprobe at the package module tree under its own /run, never at the host /lib/modules', () => {
    expect(script).not.toContain('/lib/modules ');
    expect(script).not.toMatch(/ \/lib\/modules/);
    const bind = first(/^mount --bind \S+ \/run\/calico-diag-modules\/lib\/modules\/6\.1\.176 \|\| fail/);
    const own = first(/^modprobe\(\) \{ command modprobe -d \/run\/calico-diag-modules "\$@"; \}$/);
    const kernels = first(/^echo \/run\/calico-diag-modprobe > \/proc\/sys\/kernel\/modprobe \|\| fail/);
    expect(bind).toBeGreaterThan(0);
    expect(bind).toBeLessThan(own);
    expect(own).toBeLessThan(kernels);
    expect(kernels).toBeLessThan(first(/^modprobe -a /));
    // the kernel's helper, as the init writes it: it runs modprobe on that tree with the kernel's arguments
    const helperLine = lines.find((l) => l.startsWith("printf '#!/bin/sh")) ?? '';
    const dir = mkdtempSync(join(tmpdir(), 'cdl-uml-helper-'));
    try {
      const made = spawnSync('sh', ['-c', helperLine.replaceAll('/run/calico-diag-modprobe', `${dir}/helper`).replace(/ \|\| fail.*$/, '')]);
      expect(made.status).toBe(0);
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'modprobe'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const r = spawnSync(join(dir, 'helper'), ['-q', '--', 'ipip'], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
      expect(r.stdout).toBe('-d /run/calico-diag-modules -q -- ipip\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps AVX-512 out of glibc and names the kernel release for the tests inside', () => {
    expect(script).toContain('export GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD\n');
    expect(script).toContain('export CALICO_DIAG_UML=6.1.176');
  });

  it('runs the command in the repository with its output and exit code in the run directory, then powers off', () => {
    const run = first(/^sh -c /);
    expect(lines[run]).toBe(`sh -c ${shellQuote(params.command)} > "$RUN/output" 2>&1 < /dev/null`);
    expect(lines.slice(run + 1, run + 5)).toEqual(['rc=$?', 'echo "$rc" > "$RUN/rc"', 'say "command-exit $rc"', 'stop']);
    expect(script).toContain("RUN=/repo/.lab-uml/run-1a2b3c4d\n");
    expect(script).toContain('REPO=/repo\n');
    expect(script).toContain('cd "$REPO" || fail cd');
  });

  it('exports the caller\'s environment and passes the command so that sh reads them back unchanged', () => {
    // run the script's export and sh -c lines on the host, with the command replaced by printing its args
    const probe = umlInitScript({ ...params, command: 'printf "%s|" "$TRICKY" "$LOG_LEVEL" "$0"' });
    const body = probe.split('\n').filter((l) => /^export (TRICKY|LOG_LEVEL)=/.test(l) || l.startsWith('sh -c ')).map((l) => l.replace(/ > "\$RUN\/output".*$/, ''));
    const r = spawnSync('sh', ['-c', body.join('\n')], { encoding: 'utf8' });
    expect(r.stdout).toBe("it's $HOME `x`|debug|sh|");
  });

  it('loads the modules and reports the ones that failed', () => {
    // the script's module lines on the host, with a modprobe that knows no module named "missing"
    const moduleLines = (mods: string[]): string => {
      const s = umlInitScript({ ...params, modules: mods }).split('\n');
      const from = s.findIndex((l) => l === 'failed=""');
      const to = s.findIndex((l) => l.startsWith('say "modules-failed'));
      return s.slice(from, to + 1).join('\n');
    };
    const fake = [
      `say() { echo "calico-diag-uml: $*"; }`,
      'modprobe() { [ "$1" = -a ] && shift; for m in "$@"; do echo "load $m"; [ "$m" = missing ] && return 1; done; return 0; }',
    ].join('\n');
    const run = (mods: string[]) => spawnSync('sh', ['-c', `${fake}\n${moduleLines(mods)}`], { encoding: 'utf8' });
    expect(parseConsole(run(['ipip', 'ip_set']).stdout).modulesFailed).toEqual([]);
    expect(parseConsole(run(['ipip', 'missing', 'ip_set']).stdout).modulesFailed).toEqual(['missing']);
    // all at once first: one process when nothing fails
    expect(run(['ipip', 'ip_set']).stdout.split('\n').filter((l) => l.startsWith('load'))).toEqual(['load ipip', 'load ip_set']);
    expect(UML_MODULES).toEqual(expect.arrayContaining(['ipip', 'vxlan', 'veth', 'bridge', 'ip_tables', 'ip_set', 'xt_set', 'af_packet', 'nf_conntrack']));
  });

  it('refuses an environment variable name sh cannot export', () => {
    expect(() => umlInitScript({ ...params, env: { 'A;rm -rf /': 'x' } })).toThrow(UmlUnavailableError);
  });
});

describe('linux.uml argv and the test command', () => {
  it('boots on the host root through hostfs with the init, a memory size, a private uml_dir and console on stdout', () => {
    expect(umlArgv({ initPath: '/r/.lab-uml/run-1/init', memMiB: 1024, umlDir: '/r/.lab-uml/run-1', umid: 'cdu-1' })).toEqual([
      'mem=1024M', 'root=/dev/root', 'rootfstype=hostfs', 'hostfs=/', 'rw', 'init=/r/.lab-uml/run-1/init', 'uml_dir=/r/.lab-uml/run-1', 'umid=cdu-1', 'con=null', 'con0=fd:0,fd:1', 'quiet',
    ]);
  });

  it('runs a test file with the repository\'s vitest and the UML config', () => {
    expect(vitestArgv('test/lab/uml/kernel.uml.test.ts')).toEqual(['node', 'node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.uml.config.ts', 'test/lab/uml/kernel.uml.test.ts']);
    expect(vitestArgv('test/lab/uml/kernel.uml.test.ts', ['-t', 'tunl0'])).toEqual(['node', 'node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.uml.config.ts', '-t', 'tunl0', 'test/lab/uml/kernel.uml.test.ts']);
  });

  it('takes a test file inside the repository only', () => {
    const root = repoRoot();
    expect(resolveTestFile(root, 'test/lab/uml/kernel.uml.test.ts')).toBe('test/lab/uml/kernel.uml.test.ts');
    expect(resolveTestFile(root, join(root, 'test/lab/uml/kernel.uml.test.ts'))).toBe('test/lab/uml/kernel.uml.test.ts');
    expect(() => resolveTestFile(root, '/etc/hostname')).toThrow(/outside the repository/);
    expect(() => resolveTestFile(root, 'test/lab/uml/missing.uml.test.ts')).toThrow(/does not exist/);
    expect(() => resolveTestFile(root, 'test/lab/uml-init.test.ts')).toThrow(/not a \*\.uml\.test\.ts file/);
  });

  it('quotes shell words only when they need it', () => {
    expect(shellQuote('test/lab/a.ts')).toBe('test/lab/a.ts');
    expect(shellQuote("a b'c")).toBe("'a b'\\''c'");
    expect(shellQuote('')).toBe("''");
  });

  it('picks the newest module directory', () => {
    expect(pickRelease(['6.1.176', '6.1.9', 'README'])).toBe('6.1.176');
    expect(pickRelease(['5.10.1', '6.1.2'])).toBe('6.1.2');
    expect(pickRelease(['README'])).toBeNull();
  });

  it('finds a UML host process by the init path in its argv', () => {
    const cmd = ['linux.uml', 'mem=2048M', 'init=/r/.lab-uml/run-1/init', 'quiet'].join('\0');
    expect(cmdlineHasInit(cmd, '/r/.lab-uml/run-1/init')).toBe(true);
    expect(cmdlineHasInit(cmd, '/r/.lab-uml/run-2/init')).toBe(false);
    expect(cmdlineHasInit(cmd, '/r/.lab-uml/run-1/ini')).toBe(false);
  });
});

describe('the console marks', () => {
  it('read the module report, the command start and its exit code through carriage returns and kernel lines', () => {
    const text = 'Failed to initialize ubd device 0\r\ncalico-diag-uml: init\r\ncalico-diag-uml: modules-failed: xt_LOG nfnetlink_log\r\n[   1.2] veth: x\ncalico-diag-uml: command-start\ncalico-diag-uml: command-exit 3\nPowering off.\n';
    expect(parseConsole(text)).toEqual({ init: true, modulesFailed: ['xt_LOG', 'nfnetlink_log'], setupError: null, commandStarted: true, commandExit: 3 });
  });

  it('say where the init stopped when a mount failed', () => {
    expect(parseConsole('calico-diag-uml: init\ncalico-diag-uml: setup-failed mount /dev/shm\n')).toEqual({ init: true, modulesFailed: null, setupError: 'mount /dev/shm', commandStarted: false, commandExit: null });
    expect(parseConsole('Kernel panic - not syncing: Attempted to kill init!\n')).toEqual({ init: false, modulesFailed: null, setupError: null, commandStarted: false, commandExit: null });
  });
});

describe('what a run needs from the machine', () => {
  const scratch = (): string => mkdtempSync(join(tmpdir(), 'cdu-shim-'));

  it('names a missing linux.uml and a missing module directory', () => {
    const err = (f: () => unknown): UmlUnavailableError | undefined => {
      try {
        f();
      } catch (e) {
        return e as UmlUnavailableError;
      }
      return undefined;
    };
    expect(err(() => umlHost({ binary: '/nonexistent/linux.uml', modulesDir: UML_MODULES_DIR }))?.kind).toBe('no-uml-binary');
    const empty = scratch();
    try {
      expect(err(() => umlHost({ binary: '/bin/sh', modulesDir: empty }))?.kind).toBe('no-modules');
      expect(err(() => umlHost({ binary: '/bin/sh', modulesDir: join(empty, 'none') }))?.message).toMatch(/no kernel module directory under .*none/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('builds the xstate shim once, again when its source is newer, and without gcc uses a built one or says what is missing', () => {
    const dir = scratch();
    try {
      const source = join(dir, 'shim.c');
      copyFileSync(join(repoRoot(), 'lab/uml/xstate-shim.c'), source);
      const paths = { source, so: join(dir, 'cache', 'shim.so'), gcc: 'gcc' };
      expect(ensureShim(paths)).toBe(paths.so);
      expect(readFileSync(paths.so).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      const built = statSync(paths.so).mtimeMs;
      expect(ensureShim(paths)).toBe(paths.so);
      expect(statSync(paths.so).mtimeMs).toBe(built);
      utimesSync(source, new Date(), new Date(built + 10_000));
      ensureShim(paths);
      expect(statSync(paths.so).mtimeMs).toBeGreaterThan(built);
      // no gcc: a built shim (even an older one) is used; none at all is a no-shim error
      utimesSync(source, new Date(), new Date(Date.now() + 60_000));
      expect(ensureShim({ ...paths, gcc: '/nonexistent/gcc' })).toBe(paths.so);
      rmSync(paths.so);
      expect(() => ensureShim({ ...paths, gcc: '/nonexistent/gcc' })).toThrow(/no-shim.*gcc is not installed/);
      // a source that does not compile
      writeFileSync(source, 'not C\n');
      expect(() => ensureShim(paths)).toThrow(/gcc could not build/);
      expect(readdirSync(join(dir, 'cache'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('leftovers of crashed runs', () => {
  it('removes a run directory whose owner process is gone and keeps one whose owner lives', async () => {
    const dead = spawnSync('true').pid;
    const base = join(repoRoot(), '.lab-uml');
    const gone = join(base, 'run-test0dead');
    const live = join(base, 'run-test0live');
    for (const [dir, pid] of [[gone, dead], [live, process.pid]] as const) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'owner.pid'), `${pid}\n`);
    }
    try {
      const removed = await sweepUmlLeftovers();
      expect(removed).toContain(gone);
      expect(existsSync(gone)).toBe(false);
      expect(readFileSync(join(live, 'owner.pid'), 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      spawnSync('rm', ['-rf', gone, live]);
    }
  });
});

describe('npm run test:uml', () => {
  const fakeRun = (r: UmlRunResult, seen: UmlRunOptions[] = []) => async (o: UmlRunOptions): Promise<UmlRunResult> => {
    seen.push(o);
    o.onOutput?.('inner output\n');
    return r;
  };

  it('runs a test file with the timeout and memory given, streams its output and exits with its exit code', async () => {
    const io = memoryIo();
    const seen: UmlRunOptions[] = [];
    expect(await umlCli(['test/lab/uml/kernel.uml.test.ts', '--timeout', '60', '--mem', '1024'], io, fakeRun(result({ exitCode: 1 }), seen))).toBe(1);
    expect(seen[0]).toMatchObject({ testFile: 'test/lab/uml/kernel.uml.test.ts', timeoutMs: 60_000, memMiB: 1024, vitestArgs: [] });
    await umlCli(['test/lab/uml/kernel.uml.test.ts', '-t', 'tunl0'], memoryIo(), fakeRun(result(), seen));
    expect(seen[1]).toMatchObject({ vitestArgs: ['-t', 'tunl0'] });
    expect(io.out()).toBe('inner output\n');
    expect(io.err()).toBe('uml 6.1.176: exit 1 — boot 2.0 s, command 9.0 s, total 12.0 s\n');
  });

  it('exits 124 on a timeout and 125 when the kernel stopped before the command ended, printing the console', async () => {
    expect(await umlCli(['-c', 'sleep 1000'], memoryIo(), fakeRun(result({ exitCode: null, timedOut: true })))).toBe(EXIT_TIMEOUT);
    const io = memoryIo();
    expect(await umlCli(['-c', 'true'], io, fakeRun(result({ exitCode: null, console: 'Kernel panic\n', setupError: 'mount /tmp' })))).toBe(EXIT_NOT_RUN);
    expect(io.err()).toContain('Kernel panic');
    expect(io.err()).toContain('setup failed: mount /tmp');
  });

  it('names a run that cannot start and rejects a file together with a command', async () => {
    const io = memoryIo();
    const missing = async (): Promise<UmlRunResult> => {
      throw new UmlUnavailableError('no-uml-binary', '/usr/bin/linux.uml not found');
    };
    expect(await umlCli(['test/x.uml.test.ts'], io, missing)).toBe(EXIT_NOT_RUN);
    expect(io.err()).toMatch(/cannot start \(no-uml-binary\)/);
    expect(await umlCli(['a.ts', '-c', 'true'], memoryIo(), fakeRun(result()))).toBe(2);
    expect(await umlCli([], memoryIo(), fakeRun(result()))).toBe(2);
    expect(await umlCli(['a.ts', '--timeout', '0'], memoryIo(), fakeRun(result()))).toBe(2);
  });

  it('summarises modules that failed to load', () => {
    expect(summaryLine(result({ modulesFailed: ['xt_LOG'] }))).toMatch(/modules that failed to load: xt_LOG$/);
  });
});
