/**
 * `calico-diag version`: this CLI's version and, when an aggregator is configured (--aggregator /
 * CALICO_DIAG_AGGREGATOR_URL, or always in the kubectl plugin), the aggregator's version and the
 * agent versions its nodes report, grouped (GET /v1/version; an aggregator without it is asked for
 * GET /v1/nodes and its own version shows as unknown). An aggregator that cannot be reached or
 * refuses is a note in the output, not a failure: the command exits 0 with the CLI's version.
 */
import type { Command } from 'commander';
import { packageVersion as agentVersion } from '../common/config.js';
import { NodesResponse, VersionResponse } from '../aggregator/http/schemas.js';
import { AggregatorError, directConnect, parseAnswer, requestAggregator, type AggregatorConnect, type AggregatorFlags } from './aggregator-client.js';
import { renderFields } from './format.js';
import { CliError, type CliIo } from './io.js';
import { addOutputOptions, isStructured, outputFormat, renderStructured, type OutputFlags } from './output.js';

export interface VersionInfo {
  client: string;
  /** absent when no aggregator is configured */
  aggregator?: {
    /** absent when the aggregator could not be asked (see error) or has no /v1/version */
    version?: string;
    agents?: { version: string; nodes: number }[];
    error?: string;
  };
}

export interface VersionCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  connect?: AggregatorConnect;
  /** the CLI's version (default: package.json) */
  version?: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The human view (pure). */
export const renderVersion = (v: VersionInfo, opts: { wide?: boolean } = {}): string => {
  const fields: [string, string][] = [['client', v.client]];
  if (opts.wide) fields.push(['runtime', `node ${process.version} (${process.platform}/${process.arch})`]);
  const a = v.aggregator;
  if (a?.error !== undefined) fields.push(['aggregator', `not reachable: ${a.error}`]);
  else if (a) {
    fields.push(['aggregator', a.version ?? 'unknown (it has no /v1/version)']);
    const agents = a.agents ?? [];
    fields.push(['agents', agents.length === 0 ? 'no node has reported yet' : agents.map((g) => `${g.version} on ${plural(g.nodes, 'node')}`).join(', ')]);
  }
  return renderFields(fields);
};

const askAggregator = async (connect: AggregatorConnect, opts: AggregatorFlags): Promise<NonNullable<VersionInfo['aggregator']>> => {
  try {
    const target = await connect(opts, '/v1/version');
    try {
      const text = await requestAggregator(target, { headers: target.headers, signal: AbortSignal.timeout(10_000) });
      return parseAnswer(text, VersionResponse);
    } catch (err) {
      if (!(err instanceof AggregatorError) || err.status !== 404) throw err;
    }
    // an aggregator older than /v1/version: group the agent versions from /v1/nodes
    const nodesTarget = await connect(opts, '/v1/nodes');
    const nodes = parseAnswer(await requestAggregator(nodesTarget, { headers: nodesTarget.headers, signal: AbortSignal.timeout(10_000) }), NodesResponse).nodes;
    const counts = new Map<string, number>();
    for (const n of nodes) counts.set(n.agentVersion, (counts.get(n.agentVersion) ?? 0) + 1);
    return { agents: [...counts].map(([version, n]) => ({ version, nodes: n })).sort((x, y) => y.nodes - x.nodes || x.version.localeCompare(y.version)) };
  } catch (err) {
    if (err instanceof CliError) return { error: err.message };
    throw err;
  }
};

export const registerVersionCommand = (program: Command, io: CliIo, deps: VersionCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  const connect = deps.connect ?? directConnect(env, deps.fetch);
  const cmd = program
    .command('version')
    .description("print this CLI's version, and the aggregator's and its agents' versions when an aggregator is configured")
    .option('--aggregator <url>', 'aggregator base URL (env CALICO_DIAG_AGGREGATOR_URL)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE)');
  addOutputOptions(cmd).action(async (opts: AggregatorFlags & OutputFlags) => {
    const format = outputFormat(opts);
    const info: VersionInfo = { client: deps.version ?? agentVersion() };
    // the direct connector needs a URL; the kubectl plugin always knows where the aggregator is
    const configured = deps.connect !== undefined || (opts.aggregator ?? env.CALICO_DIAG_AGGREGATOR_URL) !== undefined;
    if (configured) info.aggregator = await askAggregator(connect, opts);
    io.stdout(isStructured(format) ? renderStructured(format, info) : renderVersion(info, { wide: format === 'wide' }));
  });
};
