/**
 * Test helper: a CommandRunner that plays tcpdump (and ping) from fixtures. A tcpdump argv writes the
 * fixture for its interface to the `-w` path, then waits for `release()` (or answers at once);
 * any other command fails the test, like test/helpers/fake-runner.ts.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner, RunRequest, RunResult } from '../../../agent/exec/runner.js';

export const FIXTURES = join(import.meta.dirname, '../../fixtures/pcap');

export interface ScriptedRunner extends CommandRunner {
  calls: RunRequest[];
  release: () => void;
}

export const scriptedTcpdump = (
  fixtureFor: Record<string, string>,
  opts: {
    hold?: boolean;
    exitCode?: number;
    stderr?: string;
    ping?: { stdout: string; exitCode?: number; stderr?: string };
    /** interfaces whose tcpdump cannot open the device: no file, this exit code and stderr */
    failing?: Record<string, { exitCode: number; stderr: string }>;
  } = {},
): ScriptedRunner => {
  const calls: RunRequest[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const run = (async (req: RunRequest): Promise<RunResult> => {
    calls.push(req);
    const a = req.argv;
    if (a[0] === 'timeout' && a[4] === 'tcpdump') {
      const iface = a[a.indexOf('-i') + 1] as string;
      const file = a[a.indexOf('-w') + 1] as string;
      const failing = opts.failing?.[iface];
      if (failing) return { ok: true, stdout: '', stderr: failing.stderr, exitCode: failing.exitCode, durationMs: 5 };
      const fixture = fixtureFor[iface];
      if (!fixture) throw new Error(`scripted runner: no fixture for interface ${iface}`);
      copyFileSync(join(FIXTURES, fixture), file);
      if (opts.hold) await gate;
      return { ok: true, stdout: '', stderr: opts.stderr ?? `listening on ${iface}\n`, exitCode: opts.exitCode ?? 124, durationMs: 5 };
    }
    if (a[0] === 'ping' && opts.ping) {
      return { ok: true, stdout: opts.ping.stdout, stderr: opts.ping.stderr ?? '', exitCode: opts.ping.exitCode ?? 0, durationMs: 5 };
    }
    throw new Error(`scripted runner: unexpected command: ${a.join(' ')}`);
  }) as ScriptedRunner;
  run.calls = calls;
  run.release = () => release();
  return run;
};
