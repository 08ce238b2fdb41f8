/**
 * The whole `calico-diag` command tree, every command module loaded: `buildProgram(io)` (each area
 * adds its `registerXxxCommand(program, io)` call below) and the kubectl plugin's program.
 * cli/main.ts is the entry; it loads only the command it runs (#17: cold start), and this module
 * for `completion`, which walks the whole tree.
 */
import type { Command } from 'commander';
import { registerAgentCommand } from './agent.js';
import type { AggregatorConnect } from './aggregator-client.js';
import { registerAggregatorCommand } from './aggregator.js';
import { registerCompletionCommand } from './completion.js';
import { registerDiagnoseCommand } from './diagnose.js';
import { registerFindingsCommand } from './findings.js';
import type { CliIo } from './io.js';
import { registerNodesCommand } from './nodes.js';
import { registerParseCommand } from './parse.js';
import { newProgram, PROGRAM_DESCRIPTION, type CliDeps } from './program-base.js';
import { registerSnapshotCommand } from './snapshot.js';
import { registerVersionCommand } from './version.js';

export { runProgram, type CliDeps } from './program-base.js';

export const buildProgram = (io: CliIo, deps: CliDeps = {}): Command => {
  const program = newProgram('calico-diag', PROGRAM_DESCRIPTION, io);
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

