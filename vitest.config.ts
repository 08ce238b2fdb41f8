import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The corpus suite reads ../shared/corpus in place and has its own config (vitest.corpus.config.ts,
    // `npm run test:corpus`): `npm test` needs nothing beside the repository (#13).
    exclude: [...configDefaults.exclude, 'test/corpus/**'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Lab tests share one kernel: `npm run test:lab` runs their files one at a time (--no-file-parallelism).
    fileParallelism: true,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
