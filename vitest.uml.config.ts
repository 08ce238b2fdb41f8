import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The files that run inside user-mode-linux (test/lab/uml/*.uml.test.ts): a 6.1 kernel with the
 * modules this host's kernel may lack (ipip). They are in neither project of vitest.config.ts; the
 * host runs one with `npm run test:uml -- <file>` (lab/uml-cli.ts, lab/uml.ts boots the kernel and
 * runs `vitest run --config vitest.uml.config.ts <file>` inside). The global setup refuses to run
 * outside UML. Everything inside is slow (each system call is a ptrace round trip): long timeouts,
 * one file at a time, one worker.
 */
export const UML_TESTS = 'test/**/*.uml.test.ts';

export default defineConfig({
  test: {
    include: [UML_TESTS],
    exclude: [...configDefaults.exclude],
    globalSetup: ['./test/helpers/uml-global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    // not a tty inside (the output goes to a file): plain lines, no live summary
    reporters: [['default', { summary: false }], './test/helpers/summary-reporter.ts'],
  },
});
