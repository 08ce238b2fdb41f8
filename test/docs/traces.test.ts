/**
 * The code says what it does, not how it was written (house rules 10 and 12, docs/architecture.md):
 * test titles name the behaviour they check (a regression test cites its issue in a comment above
 * it), no people in the sources, and no citations of design notes the repository does not have.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_DIRS = ['agent', 'aggregator', 'contract', 'common', 'cli', 'lab', 'bench', 'scripts', 'test', 'docs', 'manifests'];

const files = (dir: string, keep: (name: string) => boolean): string[] =>
  !existsSync(join(repo, dir))
    ? []
    : readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((e) => {
        const path = join(dir, e.name);
        if (e.isDirectory()) return e.name === 'node_modules' ? [] : files(path, keep);
        return keep(e.name) ? [path] : [];
      });

const TITLE = /^\s*(?:describe|it|test)(?:\.(?:each\([^)]*\)|skip|only|todo|concurrent|sequential))?\(\s*(['`"])(.*?)\1/gm;
const ISSUE_REF = /(?:^|[\s(])#\d+\b|\bissue\s*#?\d+/i;

/** The titles of describe/it/test calls whose title is a literal on the call's line. */
const titlesOf = (source: string): string[] => [...source.matchAll(TITLE)].map((m) => m[2] as string);

describe('traces of how the code was written', () => {
  it('reads the titles of describe, it, test and their .each forms', () => {
    const src = ["describe('a', () => {", "  it('b #2', () => {});", '  it.each([1])(`c %i`, () => {});', "  test('d', () => {});", '});'].join('\n');
    expect(titlesOf(src)).toEqual(['a', 'b #2', 'c %i', 'd']);
    expect(['issue #2: x', 'x (issue #3)', '#15 x', 'x (#13 y)', 'issue 12: x'].every((t) => ISSUE_REF.test(t))).toBe(true);
    expect(['nodes 1..#', 'a 100% b', 'x#2y'].some((t) => ISSUE_REF.test(t))).toBe(false);
  });

  it('no test title cites an issue: the behaviour is the title, the issue goes in a comment above', () => {
    const bad = files('test', (n) => n.endsWith('.test.ts')).flatMap((f) =>
      titlesOf(readFileSync(join(repo, f), 'utf8'))
        .filter((t) => ISSUE_REF.test(t))
        .map((t) => `${f}: ${t}`),
    );
    expect(bad).toEqual([]);
  });

  it('no people in the sources, docs or benchmark notes', () => {
    const text = (n: string) => /\.(ts|js|mjs|md|yaml|yml|json|sh)$/.test(n) && n !== 'package-lock.json';
    const bad = [...SOURCE_DIRS.flatMap((d) => files(d, text)), 'README.md']
      .filter((f) => f !== join('test', 'docs', 'traces.test.ts'))
      .filter((f) => /\bengineers?\b/i.test(readFileSync(join(repo, f), 'utf8')));
    expect(bad).toEqual([]);
  });

  it('cites only design notes the repository has', () => {
    const citing = SOURCE_DIRS.flatMap((d) => files(d, (n) => /\.(ts|js|mjs|md)$/.test(n)))
      .filter((f) => f !== join('test', 'docs', 'traces.test.ts'))
      .filter((f) => readFileSync(join(repo, f), 'utf8').includes('DESIGN.md'));
    expect(existsSync(join(repo, 'DESIGN.md')) ? [] : citing).toEqual([]);
  });
});
