/**
 * issue #19: the IPIP Always lab mode runs on a kernel with the ipip module. This host's kernel may
 * lack it, so the root project boots user-mode-linux (lab/uml.ts) and runs
 * test/lab/uml/ipip.uml.test.ts inside: healthy (no warning or critical finding, diagnose healthy
 * through tunl0) and the overlay runbook's four faults, each diagnosed to its hop and root finding.
 * The whole file takes minutes in UML (every system call is a ptrace round trip).
 */
import { describe, expect, it } from 'vitest';
import { runInUml } from '../../lab/uml.js';

const TIMEOUT_MS = 40 * 60_000;

describe('IPIP Always in user-mode-linux', () => {
  it('runs the IPIP lab file inside user-mode-linux and every case passes', async () => {
    const r = await runInUml({ testFile: 'test/lab/uml/ipip.uml.test.ts', timeoutMs: TIMEOUT_MS });
    expect(r.exitCode, r.output.slice(-20_000)).toBe(0);
    expect(r.output).toContain('vitest: 5 passed, 0 failed');
    expect(r.modulesFailed).toEqual([]);
    // the figures the README's compatibility table quotes
    const figures = /IPIP lab figures: .*/.exec(r.output)?.[0];
    expect(figures).toBeDefined();
    console.log(`${figures}; whole UML run ${(r.durationMs / 1000).toFixed(0)} s`);
  }, TIMEOUT_MS + 60_000);
});
