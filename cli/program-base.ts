/**
 * What every `calico-diag` program shares and nothing more (commander, the version, the error
 * mapping), so the entry (cli/main.ts) can build a program without loading the command modules
 * (#17: cold start): `newProgram`, `runProgram` (runs a program and returns the exit code: errors
 * become one line on stderr and exit 1, never a stack trace) and the test seams `CliDeps`.
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../common/version.js';
import type { AgentCommandDeps } from './agent.js';
import { reportFailure, type CliIo } from './io.js';
import type { SnapshotCommandDeps } from './snapshot.js';

/** What tests swap in (a fake host, env, the daemon runner); empty in real use. */
export interface CliDeps {
  snapshot?: SnapshotCommandDeps;
  agent?: AgentCommandDeps;
  /** env and fetch of the commands that read the aggregator (findings, nodes, diagnose, version) */
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
}

export const PROGRAM_DESCRIPTION = 'Calico dataplane diagnostics: per-node agent, cross-node aggregator, two-node capture diagnosis';

export const newProgram = (name: string, description: string, io: CliIo): Command =>
  new Command(name)
    .description(description)
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      // without io.terminal, commander's own defaults (process.stdout/stderr); with it, what is not
      // a terminal gets what commander gives it: 80 columns and no colour codes
      ...(io.terminal
        ? {
            getOutHelpWidth: () => io.terminal?.(1)?.columns ?? 80,
            getErrHelpWidth: () => io.terminal?.(2)?.columns ?? 80,
            getOutHasColors: () => io.terminal?.(1)?.hasColors ?? false,
            getErrHasColors: () => io.terminal?.(2)?.hasColors ?? false,
          }
        : {}),
    });

/** Runs a program and turns every failure into an exit code and at most one stderr line. */
export const runProgram = async (program: Command, argv: readonly string[], io: CliIo): Promise<number> => {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // commander has already printed its own message (usage errors, --help, --version).
    if (err instanceof CommanderError) return err.exitCode;
    return reportFailure(err, io);
  }
};
