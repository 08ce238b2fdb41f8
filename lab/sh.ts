/**
 * Command helpers for the lab: every command goes through the project's one runner
 * (agent/exec/runner.ts, argv only). Unlike the agent, the lab is a test harness: a command that
 * fails to build the lab is an error the caller must see, so `must` throws with the command and
 * its stderr. Stateless.
 */
import { execRunner, type CommandRunner, type RunOutput } from '../agent/exec/runner.js';

export type Argv = readonly [string, ...string[]];

export class LabCommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly detail: string,
  ) {
    super(`lab command failed: ${argv.join(' ')}: ${detail}`);
    this.name = 'LabCommandError';
  }
}

export interface Sh {
  readonly runner: CommandRunner;
  /** Runs and throws LabCommandError unless the command exits 0. */
  must(argv: Argv, opts?: { input?: string; timeoutMs?: number }): Promise<RunOutput>;
  /** Runs and returns the output whatever the exit code; throws only when the command could not run. */
  try(argv: Argv, opts?: { input?: string; timeoutMs?: number }): Promise<RunOutput>;
}

export const makeSh = (runner: CommandRunner = execRunner): Sh => {
  const run = async (argv: Argv, opts: { input?: string; timeoutMs?: number } = {}): Promise<RunOutput> => {
    const res = await runner({
      argv,
      timeoutMs: opts.timeoutMs ?? 15_000,
      ...(opts.input === undefined ? {} : { input: opts.input }),
    });
    if (!res.ok) throw new LabCommandError(argv, `${res.kind}: ${res.message} ${res.stderr}`.trim());
    return res;
  };
  return {
    runner,
    try: run,
    must: async (argv, opts) => {
      const res = await run(argv, opts);
      if (res.exitCode !== 0) throw new LabCommandError(argv, `exit ${res.exitCode}: ${res.stderr.trim()}`);
      return res;
    },
  };
};

/** argv prefix that runs a command inside a network namespace. */
export const inNs = (ns: string, argv: Argv): Argv => ['ip', 'netns', 'exec', ns, ...argv];
