/**
 * runInUml (lab/uml.ts) boots user-mode-linux for real: a test file of test/lab/uml/ passes inside
 * (the kernel smoke file: ipip, ipset matches, an IPIP ping), a failing command brings back its exit
 * code and output, what it writes to /tmp, /var/tmp, /run and /dev/shm stays off the host, a
 * hanging or aborted run is killed with every host process of its UML and its run directory gone,
 * and so is the kernel of a run whose owner died. Each case boots once (2-3 s each, the test file
 * ~15 s).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/spawn.js';
import { runInUml, sweepUmlLeftovers, umlLockFile, umlPids, type UmlRunResult } from '../../lab/uml.js';

/**
 * One UML runs at a time on the machine (lab/uml.ts's flock): another checkout's run may hold it for
 * minutes, so each case may first wait up to this long; its timing checks use durationMs, which
 * starts after the lock.
 */
const LOCK_WAIT_MS = 15 * 60_000;
const within = (runMs: number): number => LOCK_WAIT_MS + runMs;

/** Nothing of the run is left: no host process with its init in argv, no run directory. */
const expectGone = (r: UmlRunResult): void => {
  expect(umlPids(join(r.runDir, 'init'))).toEqual([]);
  expect(existsSync(r.runDir)).toBe(false);
};

describe('runInUml', () => {
  it('runs the kernel smoke file inside user-mode-linux and returns its passing result', async () => {
    const r = await runInUml({ testFile: 'test/lab/uml/kernel.uml.test.ts', timeoutMs: 300_000, lockWaitMs: LOCK_WAIT_MS });
    expect(r.exitCode, r.output + r.console).toBe(0);
    expect(r.output).toContain('vitest: 4 passed, 0 failed');
    expect(r.output).not.toContain('\u001b['); // plain text: not a tty inside, NO_COLOR
    expect(r.modulesFailed).toEqual([]);
    expect(r.release).toMatch(/^6\.1\./);
    expect(r.bootMs).toBeGreaterThan(0);
    expect(r.commandMs).toBeGreaterThan(0);
    expectGone(r);
  }, within(320_000));

  it('returns a failing command\'s exit code and its output, stderr included', async () => {
    const r = await runInUml({ command: 'echo "out $GREETING"; echo to-stderr >&2; exit 3', env: { GREETING: 'from uml' }, timeoutMs: 60_000, lockWaitMs: LOCK_WAIT_MS });
    expect(r.exitCode).toBe(3);
    expect(r.timedOut).toBe(false);
    expect(r.output).toBe('out from uml\nto-stderr\n');
    expectGone(r);
  }, within(70_000));

  it('keeps what the command writes to /tmp, /var/tmp, /run and /dev/shm and the namespaces it makes off the host', async () => {
    const name = `cdu-probe-${randomBytes(4).toString('hex')}`;
    const r = await runInUml({ command: `echo x > /tmp/${name} && echo x > /var/tmp/${name} && echo x > /run/${name} && echo x > /dev/shm/${name} && ip netns add ${name} && ls /run/netns`, timeoutMs: 60_000, lockWaitMs: LOCK_WAIT_MS });
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toBe(`${name}\n`);
    for (const path of [`/tmp/${name}`, `/var/tmp/${name}`, `/run/${name}`, `/dev/shm/${name}`, `/run/netns/${name}`]) expect(existsSync(path), path).toBe(false);
    expectGone(r);
  }, within(70_000));

  it('kills a hanging command at the timeout with every host process of its kernel', async () => {
    const r = await runInUml({ command: 'echo started; sleep 600', timeoutMs: 10_000, lockWaitMs: LOCK_WAIT_MS });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.output).toBe('started\n');
    expect(r.durationMs).toBeGreaterThanOrEqual(10_000);
    expect(r.durationMs).toBeLessThan(20_000);
    expectGone(r);
  }, within(40_000));

  it('kills the kernel when the caller aborts', async () => {
    const ac = new AbortController();
    const r = await runInUml({ command: 'echo started; sleep 600', timeoutMs: 120_000, lockWaitMs: LOCK_WAIT_MS, signal: ac.signal, onOutput: (c) => c.includes('started') && ac.abort() });
    expect(r.aborted).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBeNull();
    expect(r.durationMs).toBeLessThan(60_000);
    expectGone(r);
  }, within(130_000));

  it('leaves the kernel of a run whose owner was SIGKILLed to the next sweep, which kills it and removes its directory', async () => {
    const owner = spawn(process.execPath, ['--import', 'tsx', '-e', `import('./lab/uml.ts').then((m) => m.runInUml({ command: 'sleep 600', timeoutMs: 600000, lockWaitMs: ${LOCK_WAIT_MS} }))`], {
      cwd: repoRoot(),
      stdio: 'ignore',
    });
    const ownerExit = new Promise((res) => owner.once('exit', res));
    const base = join(repoRoot(), '.lab-uml');
    let runDir: string | undefined;
    const until = Date.now() + within(60_000);
    while (Date.now() < until) {
      runDir = readdirSync(base)
        .filter((d) => d.startsWith('run-'))
        .map((d) => join(base, d))
        .find((d) => existsSync(join(d, 'owner.pid')) && readFileSync(join(d, 'owner.pid'), 'utf8').trim() === String(owner.pid));
      if (runDir !== undefined && umlPids(join(runDir, 'init')).length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(runDir).toBeDefined();
    const init = join(runDir ?? '', 'init');
    owner.kill('SIGKILL');
    await ownerExit;
    expect(umlPids(init).length).toBeGreaterThan(0); // the orphan kernel still runs
    expect(await sweepUmlLeftovers()).toContain(runDir);
    expect(umlPids(init)).toEqual([]);
    expect(existsSync(runDir ?? '')).toBe(false);
  }, within(90_000));

  it('waits while another run holds the machine\'s UML lock', async () => {
    const holder = spawn('flock', [umlLockFile(), 'sh', '-c', 'echo held; sleep 4'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((res) => holder.stdout.once('data', () => res()));
    const r = await runInUml({ command: 'true', timeoutMs: 60_000, lockWaitMs: LOCK_WAIT_MS });
    expect(r.exitCode).toBe(0);
    expect(r.lockWaitMs).toBeGreaterThanOrEqual(2500);
    expectGone(r);
  }, within(90_000));
});
