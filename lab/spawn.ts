/**
 * Long-running lab daemons (Felix stand-in, agents, aggregator) inside network namespaces.
 *
 * Design: the project's runner (agent/exec/runner.ts) waits for a command to finish, so it cannot
 * hold a daemon; daemons are spawned here with node:child_process as `ip netns exec <ns> node ...`,
 * in their own process group (detached) with stdout+stderr appended to a log file, and stopped by
 * signalling the whole group. Each Daemon object owns exactly one child; no module-level state.
 * Whatever escapes (a crashed test run) is still found by teardown through `ip netns pids`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
/** True when running from TypeScript sources (tsx / vitest), false from dist/. */
const fromSources = here.endsWith('.ts');

/** The repository root (holds package.json), whether we run from lab/*.ts or dist/lab/*.js. */
export const repoRoot = (): string => {
  let dir = dirname(here);
  for (let i = 0; i < 5; i += 1) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  return resolve(dirname(here), fromSources ? '..' : '../..');
};

/**
 * argv that runs a repository entry point (path without extension, e.g. 'cli/main') with node:
 * from sources through tsx (no build needed), from dist/ the compiled .js.
 */
export const nodeEntry = (relNoExt: string): string[] =>
  fromSources
    ? [process.execPath, '--import', 'tsx', join(repoRoot(), `${relNoExt}.ts`)]
    : [process.execPath, join(repoRoot(), 'dist', `${relNoExt}.js`)];

export interface Daemon {
  readonly name: string;
  readonly ns: string;
  readonly logFile: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** SIGTERM the process group, SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL the process group at once (a crashed agent). */
  kill(): Promise<void>;
}

export interface SpawnInNsOptions {
  name: string;
  ns: string;
  argv: readonly string[];
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
}

const signalGroup = (pid: number, sig: NodeJS.Signals): void => {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
};

export const spawnInNs = (opts: SpawnInNsOptions): Daemon => {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('ip', ['netns', 'exec', opts.ns, ...opts.argv], {
      cwd: opts.cwd ?? repoRoot(),
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root', ...opts.env },
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${opts.name} in ${opts.ns}`);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      running = false;
      res({ code, signal });
    });
    child.once('error', () => {
      running = false;
      res({ code: null, signal: null });
    });
  });
  // The lab must never keep the test/demo process alive on its own.
  child.unref();
  const stop = async (graceMs = 3000): Promise<void> => {
    if (!running) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name: opts.name,
    ns: opts.ns,
    logFile: opts.logFile,
    pid,
    exited,
    isRunning: () => running,
    stop,
    kill: async () => {
      if (!running) return;
      signalGroup(pid, 'SIGKILL');
      await exited;
    },
  };
};
