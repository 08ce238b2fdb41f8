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

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, CORPUS_TESTS, ...ROOT_TESTS] },
      },
      {
        extends: true,
        // The root tests share one kernel: `npm run test:root` runs their files one at a time
        // (--no-file-parallelism), and after the unit project when both run together.
        test: { name: 'root', include: ROOT_TESTS, exclude: [...configDefaults.exclude, CORPUS_TESTS], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
