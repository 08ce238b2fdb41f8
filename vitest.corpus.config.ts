import { defineConfig } from 'vitest/config';

/**
 * The corpus suite (`npm run test:corpus`): the parsers over the shared corpus of real command
 * outputs, read in place from ../shared/corpus (or CALICO_DIAG_CORPUS). .ci/run runs it after
 * `npm test` when the corpus is there; without it the suite fails with one line (test/corpus/corpus.ts).
 */
export default defineConfig({
  test: {
    include: ['test/corpus/**/*.test.ts'],
    testTimeout: 20_000,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
