/**
 * Where bin/calico-diag.js keeps Node's compile cache (#17: cold start): the user's own cache
 * directory, because the default one in the OS temp directory is shared by all users and, once
 * another user has created it, refuses everyone else's cache. Runs a copy of the bin beside a
 * stand-in bundle that prints the directory Node caches in.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'cdl-compile-cache-'));
mkdirSync(join(dir, 'bin'));
mkdirSync(join(dir, 'dist/cli'), { recursive: true });
copyFileSync(join(root, 'bin/calico-diag.js'), join(dir, 'bin/calico-diag.js'));
copyFileSync(join(root, 'bin/package.json'), join(dir, 'bin/package.json'));
writeFileSync(join(dir, 'dist/cli/calico-diag.cjs'), "process.stdout.write(String(require('node:module').getCompileCacheDir()));\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The compile cache directory of the bin run with `env` (and nothing of this process's environment that chooses it). */
const cacheDirWith = (env: Record<string, string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const { HOME: _h, XDG_CACHE_HOME: _x, NODE_COMPILE_CACHE: _n, NODE_DISABLE_COMPILE_CACHE: _d, TMPDIR: _t, ...rest } = process.env;
    execFile(process.execPath, [join(dir, 'bin/calico-diag.js')], { env: { ...rest, ...env } }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

describe('the compile cache of bin/calico-diag.js', () => {
  it("is in the user's cache directory: $XDG_CACHE_HOME, else ~/.cache", async () => {
    const home = join(dir, 'home');
    mkdirSync(home);
    expect(await cacheDirWith({ HOME: home, TMPDIR: join(dir, 'tmp') })).toContain(join(home, '.cache/calico-diag/compile-cache/'));
    expect(await cacheDirWith({ HOME: home, XDG_CACHE_HOME: join(dir, 'xdg') })).toContain(join(dir, 'xdg/calico-diag/compile-cache/'));
  });

  it("is Node's default in the temp directory where the home cannot be written, and NODE_COMPILE_CACHE's when set", async () => {
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    expect(await cacheDirWith({ HOME: notADir, TMPDIR: tmp })).toContain(join(tmp, 'node-compile-cache/'));
    expect(await cacheDirWith({ TMPDIR: tmp })).toContain(join(tmp, 'node-compile-cache/'));
    expect(await cacheDirWith({ HOME: join(dir, 'home2'), NODE_COMPILE_CACHE: join(dir, 'own') })).toContain(join(dir, 'own/'));
  });
});
