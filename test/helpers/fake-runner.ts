/**
 * A fake CommandRunner for tests (Felix's MockDataplane): it answers only the commands it was told
 * to expect and fails the test on any other, so a collector can never reach the real host unseen.
 */
import type { CommandRunner, RunRequest, RunResult } from '../../agent/exec/runner.js';

export type FakeAnswer =
  | { stdout: string; stderr?: string; exitCode?: number }
  | { error: 'missing-binary' | 'timeout' | 'output-too-large' | 'permission-denied' | 'spawn-failed' };

export interface FakeRunner extends CommandRunner {
  calls: RunRequest[];
}

export const fakeRunner = (answers: Record<string, FakeAnswer>): FakeRunner => {
  const calls: RunRequest[] = [];
  const run = (async (req: RunRequest): Promise<RunResult> => {
    calls.push(req);
    const key = req.argv.join(' ');
    const answer = answers[key];
    if (!answer) throw new Error(`fakeRunner: unexpected command: ${key}`);
    if ('error' in answer) {
      return { ok: false, kind: answer.error, message: `${req.argv[0]}: ${answer.error}`, argv: req.argv, stderr: '', durationMs: 1 };
    }
    return { ok: true, stdout: answer.stdout, stderr: answer.stderr ?? '', exitCode: answer.exitCode ?? 0, durationMs: 1 };
  }) as FakeRunner;
  run.calls = calls;
  return run;
};
