/**
 * #13: `npm ci` must accept package-lock.json with npm 10 and npm 11 on every platform. npm ci
 * refuses a lock in which a package's optional dependency has no entry ("Missing:
 * @rollup/rollup-android-arm-eabi@... from lock file"): a lock written on one platform that kept only
 * that platform's binaries. These checks read the lock statically, the way npm resolves it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const read = <T>(f: string): T => JSON.parse(readFileSync(join(root, f), 'utf8')) as T;

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines?: Record<string, string>;
}
interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}
interface Manifest {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/** npm's lookup: node_modules/<name> beside `from`, then in each enclosing node_modules up to the root. */
const resolveIn = (packages: Record<string, LockEntry>, from: string, name: string): string | null => {
  let dir = from;
  for (;;) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return null;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
};

/** Optional dependencies with no lock entry, as "<package> → <dependency>". */
const missingOptional = (lock: Lock): string[] =>
  Object.entries(lock.packages).flatMap(([key, entry]) =>
    Object.keys(entry.optionalDependencies ?? {})
      .filter((dep) => resolveIn(lock.packages, key, dep) === null)
      .map((dep) => `${key} → ${dep}`),
  );

describe('package-lock.json', () => {
  const lock = read<Lock>('package-lock.json');
  const pkg = read<Manifest>('package.json');

  it('is a version 3 lock whose root entry lists exactly package.json\'s dependencies', () => {
    expect(lock.lockfileVersion).toBe(3);
    const rootEntry = lock.packages[''];
    expect(rootEntry?.dependencies).toEqual(pkg.dependencies);
    expect(rootEntry?.devDependencies).toEqual(pkg.devDependencies);
  });

  it('holds every platform\'s optional dependencies (what npm ci checks on every platform)', () => {
    const withOptional = Object.values(lock.packages).filter((e) => e.optionalDependencies).length;
    expect(withOptional).toBeGreaterThan(0);
    expect(missingOptional(lock)).toEqual([]);
  });

  it('a lock that kept only one platform\'s binaries is caught', () => {
    const oneplatform: Lock = {
      lockfileVersion: 3,
      packages: {
        '': {},
        'node_modules/rollup': { version: '4.0.0', optionalDependencies: { '@rollup/rollup-linux-x64-gnu': '4.0.0', '@rollup/rollup-android-arm-eabi': '4.0.0' } },
        'node_modules/@rollup/rollup-linux-x64-gnu': { version: '4.0.0' },
      },
    };
    expect(missingOptional(oneplatform)).toEqual(['node_modules/rollup → @rollup/rollup-android-arm-eabi']);
    // a nested copy resolves from its own node_modules before the root's
    const nested: Lock = {
      lockfileVersion: 3,
      packages: {
        'node_modules/a': {},
        'node_modules/a/node_modules/b': { optionalDependencies: { c: '1' } },
        'node_modules/a/node_modules/c': {},
      },
    };
    expect(missingOptional(nested)).toEqual([]);
  });

  it('targets Node 24: engines, @types/node, the running Node and every locked package\'s engines', () => {
    expect(pkg.engines.node).toBe('>=24');
    expect(semver.minVersion(pkg.devDependencies['@types/node'] ?? '')?.major).toBe(24);
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
    // no locked package refuses the Node we run on (npm would warn, some would break)
    const refusing = Object.entries(lock.packages)
      .filter(([, e]) => e.engines?.node !== undefined && !semver.satisfies(process.versions.node, e.engines.node))
      .map(([k, e]) => `${k}: ${e.engines?.node}`);
    expect(refusing).toEqual([]);
  });
});
