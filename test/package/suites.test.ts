/**
 * #13: `npm test` passes in a fresh clone with nothing beside the repository, and runs every test it
 * names. Tests that read the shared corpus (../shared/corpus, most of it not copyable) live in
 * test/corpus, which only the corpus suite (vitest.corpus.config.ts) includes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import unitConfig from '../../vitest.config.js';
import corpusConfig from '../../vitest.corpus.config.js';
import umlConfig, { UML_TESTS } from '../../vitest.uml.config.js';

const root = resolve(import.meta.dirname, '../..');
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
const sources = (dir: string): string[] =>
  walk(join(root, dir)).filter((f) => /\.(ts|js|mjs|sh)$/.test(f) && !f.includes('/fixtures/')).map((f) => relative(root, f));
const self = relative(root, import.meta.filename);

/**
 * Whether code (comments aside) in `file` names the shared corpus or, in a test (run from its
 * source; lab/ and bench/ run from dist/), a relative path that leaves the repository.
 */
const readsOutside = (file: string, text: string): boolean => {
  const code = text.replace(/^\s*(\/\/|\*|#).*$/gm, '');
  if (/shared\/corpus|\/work\/shared|CALICO_DIAG_CORPUS/.test(code)) return true;
  return file.startsWith('test/') && [...code.matchAll(/['"`]((?:\.\.\/?)+[^'"`]*)['"`]/g)].some((m) => {
    const to = resolve(dirname(join(root, file)), m[1] ?? '');
    return to !== root && !to.startsWith(`${root}/`);
  });
};
/** it.skip / describe.only / test.todo / skipIf / runIf / a test's own ctx.skip(). */
const skipsOrFocuses = (text: string): boolean => /\b(it|test|describe|bench)\s*\.\s*(skip|only|todo|skipIf|runIf)\b|\.\s*skip\s*\(/.test(text);

describe('the default suite', () => {
  const files = [...sources('test'), ...sources('lab'), ...sources('bench')].filter((f) => !f.startsWith('test/corpus/') && f !== self);

  it('excludes test/corpus, which only the corpus suite includes', () => {
    // vitest.config.ts has two projects (unit, and root for the tests that need root): each excludes it
    const projects = (unitConfig.test?.projects ?? []) as { test?: { name?: string; exclude?: string[] } }[];
    expect(projects.map((p) => p.test?.name)).toEqual(['unit', 'root']);
    for (const p of projects) expect(p.test?.exclude, p.test?.name).toContain('test/corpus/**');
    expect(corpusConfig.test?.include).toEqual(['test/corpus/**/*.test.ts']);
  });

  it('runs the user-mode-linux files only through vitest.uml.config.ts, each booted by a root-project test', () => {
    const projects = (unitConfig.test?.projects ?? []) as { test?: { name?: string; exclude?: string[] } }[];
    for (const p of projects) expect(p.test?.exclude, p.test?.name).toContain(UML_TESTS);
    expect(umlConfig.test?.include).toEqual([UML_TESTS]);
    const umlFiles = files.filter((f) => f.endsWith('.uml.test.ts'));
    expect(umlFiles).toContain('test/lab/uml/kernel.uml.test.ts');
    // npm test runs them: a test of the root project (test/lab/*.test.ts) names each file it boots
    const booters = files.filter((f) => /^test\/lab\/[^/]+\.test\.ts$/.test(f)).map((f) => readFileSync(join(root, f), 'utf8'));
    expect(umlFiles.filter((f) => !booters.some((text) => text.includes(f)))).toEqual([]);
  });

  it('reads nothing beside the repository (no shared corpus path outside test/corpus)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => readsOutside(f, readFileSync(join(root, f), 'utf8')))).toEqual([]);
    expect(sources('test/corpus').filter((f) => readsOutside(f, readFileSync(join(root, f), 'utf8'))).length).toBeGreaterThan(0);
  });

  it('skips and focuses no test', () => {
    expect(files.filter((f) => skipsOrFocuses(readFileSync(join(root, f), 'utf8')))).toEqual([]);
  });

  it('the checks can fail', () => {
    expect(readsOutside('test/agent/parsers/x.test.ts', "const C = join(import.meta.dirname, '../../../../other/dir');")).toBe(true);
    expect(readsOutside('test/agent/parsers/x.test.ts', "const C = join(root, '../shared/corpus');")).toBe(true);
    expect(readsOutside('test/agent/parsers/x.test.ts', "import { f } from '../../../agent/parsers/f.js';")).toBe(false);
    expect(readsOutside('test/x.test.ts', '// the corpus sits in ../shared/corpus')).toBe(false);
    for (const s of ['it.skip(', 'describe.only(', 'it.skipIf(x)(', 'test.todo(', 'ctx.skip()', 'describe.runIf(root)(']) expect(skipsOrFocuses(s), s).toBe(true);
    expect(skipsOrFocuses("it('skips nothing', () => {})")).toBe(false);
  });
});
