import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that need root: they create network namespaces, veths and ipsets, load iptables rules or run
 * tcpdump (the kernel lab, `*.netns.test.ts` in a throw-away namespace, `*.real.test.ts` against the
 * real tools). They form the `root` project; everything else is the `unit` project, which runs as any
 * user. `npm run test:unit` / `npm run test:root` run one each; `npx vitest run` runs both, unit first.
 */
const ROOT_TESTS = ['test/lab/**/*.test.ts', 'test/**/*.netns.test.ts', 'test/**/*.real.test.ts'];
// The corpus suite reads ../shared/corpus in place and has its own config (vitest.corpus.config.ts,
// `npm run test:corpus`): `npm test` needs nothing beside the repository (#13).
const CORPUS_TESTS = 'test/corpus/**';
// Files that run inside user-mode-linux (vitest.uml.config.ts, `npm run test:uml -- <file>`); the root
// project boots it for them from test/lab/*.test.ts.
const UML_TESTS = 'test/**/*.uml.test.ts';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        // groupOrder 1 and 2 (not 0): vitest moves a single-worker project of group 0 to the end
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, CORPUS_TESTS, UML_TESTS, ...ROOT_TESTS], sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        // The root tests share one kernel: their files run one at a time, after the unit project.
        test: { name: 'root', include: ROOT_TESTS, exclude: [...configDefaults.exclude, CORPUS_TESTS, UML_TESTS], fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
