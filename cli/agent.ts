/**
 * `calico-diag agent`: the per-node daemon. Flags win over CALICO_DIAG_* env vars (agent/config.ts).
 * Bad configuration and an unreadable/empty token file stop it before it listens (exit 1).
 */
import { Option, type Command } from 'commander';
import { readTokenFile } from '../common/config.js';
import { resolveAgentConfig, type AgentFlags } from '../agent/config.js';
// The daemon (fastify, prom-client) is loaded only when the command runs, so one-shot commands
// such as `snapshot` start small.
type RunAgentProcess = typeof import('../agent/main.js').runAgentProcess;
import { CliError, type CliIo } from './io.js';

export interface AgentCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  /** what runs the daemon once configured (tests replace it) */
  run?: RunAgentProcess;
}

type AgentCliFlags = Omit<AgentFlags, 'capturePayload'> & { node?: string; aggregator?: string; capturePayload?: boolean };

export const registerAgentCommand = (program: Command, _io: CliIo, deps: AgentCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  program
    .command('agent')
    .description('run the per-node agent: snapshot loop, /healthz, /metrics, /v1/snapshot, reports to the aggregator')
    .option('--node <name>', 'Kubernetes node name (env CALICO_DIAG_NODE_NAME; required)')
    .addOption(new Option('--node-name <name>').hideHelp())
    .option('--listen <host:port>', 'address to listen on (env CALICO_DIAG_LISTEN; default 0.0.0.0:9477)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE; required)')
    .option('--interval <duration>', 'time between snapshots, e.g. 30s or 1m; a plain number is seconds (env CALICO_DIAG_INTERVAL; default 30s)')
    .option('--aggregator <url>', 'push reports to this aggregator (env CALICO_DIAG_AGGREGATOR_URL)')
    .addOption(new Option('--aggregator-url <url>').hideHelp())
    .option('--advertise-url <url>', 'URL the aggregator reaches this agent on (env CALICO_DIAG_ADVERTISE_URL)')
    .option('--felix-health-url <url>', 'Felix health endpoint (env CALICO_DIAG_FELIX_HEALTH_URL; default http://127.0.0.1:9099)')
    .option('--bird-socket <path>', 'BIRD control socket (env CALICO_DIAG_BIRD_SOCKET; default /var/run/calico/bird.ctl)')
    .option('--capture-payload', 'keep whole packets in captures; by default only their headers are kept (env CALICO_DIAG_CAPTURE_PAYLOAD=true)')
    .option('--tracefs <path|off>', 'tracefs mount for kernel drop reasons during captures, or off (env CALICO_DIAG_TRACEFS; default /sys/kernel/tracing)')
    .action(async (opts: AgentCliFlags) => {
      // --node-name and --aggregator-url are the older spellings, kept hidden
      if (opts.node !== undefined && opts.nodeName !== undefined) throw new CliError('--node and --node-name cannot be used together');
      if (opts.aggregator !== undefined && opts.aggregatorUrl !== undefined) throw new CliError('--aggregator and --aggregator-url cannot be used together');
      const { node, aggregator, capturePayload, ...rest } = opts;
      const flags: AgentFlags = { ...rest, nodeName: node ?? opts.nodeName, aggregatorUrl: aggregator ?? opts.aggregatorUrl, ...(capturePayload ? { capturePayload: 'true' } : {}) };
      const cfg = resolveAgentConfig(flags, env);
      if (!cfg.ok) throw new CliError(cfg.message);
      const token = await readTokenFile(cfg.config.tokenFile);
      if (!token.ok) throw new CliError(token.message);
      try {
        await (deps.run ?? (await import('../agent/main.js')).runAgentProcess)(cfg.config, token.token);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
          const { host, port } = cfg.config.listen;
          throw new CliError(`cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${code}`);
        }
        throw err;
      }
    });
};
