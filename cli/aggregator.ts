/**
 * `calico-diag aggregator`: the cluster-wide service. Flags win over CALICO_DIAG_* env vars
 * (aggregator/config.ts). Bad configuration or an unreadable token file stop it before it listens.
 */
import type { Command } from 'commander';
import { readTokenFile } from '../common/config.js';
import { resolveAggregatorConfig, type AggregatorFlags } from '../aggregator/config.js';
// The server (fastify, the Kubernetes client) is loaded only when the command runs: every other
// command starts without it (the Kubernetes client alone is ~70 MiB of RSS).
type RunAggregatorProcess = typeof import('../aggregator/main.js').runAggregatorProcess;
import { CliError, type CliIo } from './io.js';

export interface AggregatorCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  /** what runs the service once configured (tests replace it) */
  run?: RunAggregatorProcess;
}

export const registerAggregatorCommand = (program: Command, _io: CliIo, deps: AggregatorCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  program
    .command('aggregator')
    .description('run the aggregator: receives node reports, correlates them, serves /v1/findings, /v1/nodes, /v1/cluster, /metrics')
    .option('--listen <host:port>', 'address to listen on (env CALICO_DIAG_LISTEN; default 0.0.0.0:9478)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE; required)')
    .option('--stale-intervals <n>', 'a node is stale after this many report intervals without a report (env CALICO_DIAG_STALE_INTERVALS; default 3)')
    .option('--body-limit <size>', 'largest report body accepted, e.g. 32MiB (env CALICO_DIAG_BODY_LIMIT; default 32MiB)')
    .option('--kube <mode>', 'read the Kubernetes/Calico datastore: auto or off (env CALICO_DIAG_KUBE; default auto)')
    .option('--max-finding-series <n>', 'cap on calico_diag_finding_active series; the rest is counted in calico_diag_finding_active_dropped (env CALICO_DIAG_MAX_FINDING_SERIES; default 1000)')
    .option('--max-nodes <n>', 'while the datastore cannot say which nodes exist, refuse reports from more nodes than this (env CALICO_DIAG_MAX_NODES; default 10000)')
    .option('--auth <mode>', 'shared: one token for agents and readers (weaker); kubernetes: agents prove their node with projected service-account tokens (env CALICO_DIAG_AUTH; default shared)')
    .option('--agent-service-account <ns:name>', "the agents' service account, with --auth kubernetes (env CALICO_DIAG_AGENT_SERVICE_ACCOUNT; default calico-diag:calico-diag-agent)")
    .option('--agent-audience <audience>', "the audience of the agents' projected tokens (env CALICO_DIAG_AGENT_AUDIENCE; default calico-diag)")
    .option('--agent-call-timeout-ms <ms>', 'diagnose: the least time a call to an agent may take, for slow nodes (env CALICO_DIAG_AGENT_CALL_TIMEOUT_MS; default: each call its own 2-10 s)')
    .action(async (opts: AggregatorFlags) => {
      const cfg = resolveAggregatorConfig(opts, env);
      if (!cfg.ok) throw new CliError(cfg.message);
      const token = await readTokenFile(cfg.config.tokenFile);
      if (!token.ok) throw new CliError(token.message);
      await (deps.run ?? (await import('../aggregator/main.js')).runAggregatorProcess)(cfg.config, token.token);
    });
};
