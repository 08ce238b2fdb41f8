/**
 * The `calico-diag` command. `buildProgram(io)` assembles the commander program (each area adds
 * its `registerXxxCommand(program, io)` call below); `runCli(argv, io)` runs it in-process and
 * returns the exit code: errors become one line on stderr and exit 1, never a stack trace.
 * Run directly (node dist/cli/main.js, bin/calico-diag.js, or `node --import tsx cli/main.ts`),
 * it runs with the process's argv and streams.
 */
import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../common/config.js';
import { registerAgentCommand, type AgentCommandDeps } from './agent.js';
import { registerAggregatorCommand } from './aggregator.js';
import { registerDiagnoseCommand } from './diagnose.js';
import { registerFindingsCommand } from './findings.js';
import { CliError, processIo, type CliIo } from './io.js';
import { registerParseCommand } from './parse.js';
import { registerSnapshotCommand, type SnapshotCommandDeps } from './snapshot.js';

/** What tests swap in (a fake host, env, the daemon runner); empty in real use. */
export interface CliDeps {
  snapshot?: SnapshotCommandDeps;
  agent?: AgentCommandDeps;
}

export const buildProgram = (io: CliIo, deps: CliDeps = {}): Command => {
  const program = new Command('calico-diag')
    .description('Calico dataplane diagnostics: per-node agent, cross-node aggregator, two-node capture diagnosis')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  registerSnapshotCommand(program, io, deps.snapshot);
  registerAgentCommand(program, io, deps.agent);
  registerAggregatorCommand(program, io);
  registerFindingsCommand(program, io);
  registerParseCommand(program, io);
  registerDiagnoseCommand(program, io);
  return program;
};

export const runCli = async (argv: readonly string[], io: CliIo, deps: CliDeps = {}): Promise<number> => {
  const program = buildProgram(io, deps);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // commander has already printed its own message (usage errors, --help, --version).
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      if (err.message !== '') io.stderr(`calico-diag: ${err.message}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`calico-diag: unexpected error: ${message.split('\n')[0]}\n`);
    return 1;
  }
};

const isEntry = (): boolean => {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    const self = fileURLToPath(import.meta.url);
    const invoked = realpathSync(arg);
    return invoked === self || invoked === resolve(dirname(self), '../../bin/calico-diag.js');
  } catch {
    return false;
  }
};

if (isEntry()) {
  const code = await runCli(process.argv.slice(2), processIo());
  process.exitCode = code;
}
