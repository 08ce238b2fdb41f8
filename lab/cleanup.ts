/**
 * Removing lab namespaces: every process inside a namespace is killed (found with
 * `ip netns pids`, so nothing the lab started can outlive it) and the namespace is deleted.
 * Deleting the underlay namespace deletes the veth peers with it. Only names with the lab prefix
 * (`cdl` + 4 hex digits + `-`) are ever touched; the root namespace is never touched.
 *
 * Run as a script (`node dist/lab/cleanup.js [--force]`) it removes leftovers of crashed runs:
 * a lab whose owner process (recorded in /tmp/cdlXXXX-<random>/owner.pid) is still alive is kept unless
 * --force. It also removes the user-mode-linux runs (lab/uml.ts) whose owner is gone. Stateless.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSh, type Sh } from './sh.js';
import { sweepUmlLeftovers } from './uml.js';

export const LAB_NS_PATTERN = /^cdl[0-9a-f]{4}-[a-z0-9-]+$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pidsOf = (out: string): number[] =>
  out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);

const signal = (pid: number, sig: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
};

export const listNamespaces = async (sh: Sh): Promise<string[]> => {
  const res = await sh.try(['ip', 'netns', 'list']);
  return res.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
};

/** Kills every process in the given lab namespaces, then deletes them. Missing ones are skipped. */
export const teardownNamespaces = async (sh: Sh, namespaces: readonly string[]): Promise<void> => {
  const wanted = namespaces.filter((n) => LAB_NS_PATTERN.test(n));
  const existing = new Set(await listNamespaces(sh));
  const present = wanted.filter((n) => existing.has(n));
  const pids = new Set<number>();
  for (const ns of present) {
    const res = await sh.try(['ip', 'netns', 'pids', ns]);
    for (const p of pidsOf(res.stdout)) pids.add(p);
  }
  for (const p of pids) signal(p, 'SIGTERM');
  const until = Date.now() + 2000;
  while ([...pids].some((p) => signal(p, 0)) && Date.now() < until) await sleep(50);
  for (const p of pids) signal(p, 'SIGKILL');
  for (const ns of present) {
    await sh.try(['ip', 'netns', 'del', ns]);
  }
};

/** Synchronous variant for process 'exit' handlers. */
export const teardownSync = (namespaces: readonly string[]): void => {
  for (const ns of namespaces.filter((n) => LAB_NS_PATTERN.test(n))) {
    const res = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const p of pidsOf(res.stdout ?? '')) signal(p, 'SIGKILL');
  }
  for (const ns of namespaces.filter((n) => LAB_NS_PATTERN.test(n))) spawnSync('ip', ['netns', 'del', ns]);
};

const ownerAlive = (labId: string): boolean => {
  for (const d of readdirSync(tmpdir())) {
    if (!d.startsWith(`cdl${labId}-`)) continue;
    try {
      const pid = Number(readFileSync(join(tmpdir(), d, 'owner.pid'), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && signal(pid, 0)) return true;
    } catch {
      // no owner file: not alive
    }
  }
  return false;
};

/** Removes leftover lab namespaces (and their run directories). Returns the namespaces removed. */
export const cleanupLeftovers = async (opts: { force?: boolean; sh?: Sh } = {}): Promise<string[]> => {
  const sh = opts.sh ?? makeSh();
  const all = (await listNamespaces(sh)).filter((n) => LAB_NS_PATTERN.test(n));
  const byLab = new Map<string, string[]>();
  for (const ns of all) {
    const id = ns.slice(3, 7);
    byLab.set(id, [...(byLab.get(id) ?? []), ns]);
  }
  const removed: string[] = [];
  for (const [id, nss] of byLab) {
    if (!opts.force && ownerAlive(id)) continue;
    // underlay last so veth peers go with their namespaces first
    nss.sort((a, b) => Number(a.endsWith('-ul')) - Number(b.endsWith('-ul')));
    await teardownNamespaces(sh, nss);
    removed.push(...nss);
    for (const d of readdirSync(tmpdir())) {
      if (d.startsWith(`cdl${id}-`)) rmSync(join(tmpdir(), d), { recursive: true, force: true });
    }
  }
  return removed;
};

if (process.argv[1] && /lab\/cleanup\.(ts|js)$/.test(process.argv[1])) {
  const force = process.argv.includes('--force');
  Promise.all([cleanupLeftovers({ force }), sweepUmlLeftovers()]).then(
    ([removed, umlRuns]) => {
      process.stdout.write(removed.length ? `removed ${removed.length} namespaces: ${removed.join(' ')}\n` : 'no leftover lab namespaces\n');
      // user-mode-linux runs (lab/uml.ts) whose owner process is gone: their kernels and run directories
      if (umlRuns.length > 0) process.stdout.write(`removed ${umlRuns.length} user-mode-linux runs: ${umlRuns.join(' ')}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`cleanup failed: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
