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
import { killRunningCommands } from '../agent/exec/runner.js';
import { exitOnSignals } from '../common/process.js';
import { registerAgentCommand, type AgentCommandDeps } from './agent.js';
import type { AggregatorConnect } from './aggregator-client.js';
import { registerAggregatorCommand } from './aggregator.js';
import { registerCompletionCommand } from './completion.js';
import { registerDiagnoseCommand } from './diagnose.js';
import { registerFindingsCommand } from './findings.js';
import { termSafe } from './format.js';
import { CliError, processIo, type CliIo } from './io.js';
import { registerNodesCommand } from './nodes.js';
import { registerParseCommand } from './parse.js';
import { registerSnapshotCommand, type SnapshotCommandDeps } from './snapshot.js';
import { registerVersionCommand } from './version.js';

/** What tests swap in (a fake host, env, the daemon runner); empty in real use. */
export interface CliDeps {
  snapshot?: SnapshotCommandDeps;
  agent?: AgentCommandDeps;
  /** env and fetch of the commands that read the aggregator (findings, nodes, diagnose, version) */
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
}

const newProgram = (name: string, description: string, io: CliIo): Command =>
  new Command(name)
    .description(description)
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });

export const buildProgram = (io: CliIo, deps: CliDeps = {}): Command => {
  const program = newProgram('calico-diag', 'Calico dataplane diagnostics: per-node agent, cross-node aggregator, two-node capture diagnosis', io);
  const agg = { ...(deps.env ? { env: deps.env } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  registerSnapshotCommand(program, io, deps.snapshot);
  registerAgentCommand(program, io, deps.agent);
  registerAggregatorCommand(program, io);
  registerFindingsCommand(program, io, agg);
  registerNodesCommand(program, io, agg);
  registerParseCommand(program, io);
  registerDiagnoseCommand(program, io, agg);
  registerVersionCommand(program, io, agg);
  registerCompletionCommand(program, io);
  return program;
};

/**
 * The kubectl plugin's program (`kubectl calico-diag ...`): the commands that read the aggregator,
 * reaching it through `connect` (cli/kubectl.ts: the API server's service proxy), plus version
 * and completion. `addGlobals` adds the plugin's own flags (--kubeconfig, --context, ...).
 */
export const buildPluginProgram = (io: CliIo, connect: AggregatorConnect, addGlobals: (program: Command) => void): Command => {
  const program = newProgram('kubectl-calico_diag', 'calico-diag through the Kubernetes API server: findings, nodes, diagnose and version from the in-cluster aggregator', io);
  addGlobals(program);
  registerFindingsCommand(program, io, { connect });
  registerNodesCommand(program, io, { connect });
  registerDiagnoseCommand(program, io, { connect });
  registerVersionCommand(program, io, { connect });
  registerCompletionCommand(program, io);
  return program;
};

/** Runs a program and turns every failure into an exit code and at most one stderr line. */
export const runProgram = async (program: Command, argv: readonly string[], io: CliIo): Promise<number> => {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // commander has already printed its own message (usage errors, --help, --version).
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      if (err.message !== '') io.stderr(`calico-diag: ${termSafe(err.message)}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`calico-diag: unexpected error: ${termSafe(message.split('\n')[0]!)}\n`);
    return 1;
  }
};

export const runCli = async (argv: readonly string[], io: CliIo, deps: CliDeps = {}): Promise<number> => runProgram(buildProgram(io, deps), argv, io);

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
  exitOnSignals(killRunningCommands); // #16: no command the CLI started outlives it
  const code = await runCli(process.argv.slice(2), processIo());
  process.exitCode = code;
}
