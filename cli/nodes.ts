/**
 * `calico-diag nodes`: the nodes reporting to the aggregator (GET /v1/nodes): name, whether the
 * report is stale, findings per severity and the age of the last report; `-o wide` adds the
 * dataplane mode, the agent version, the report sequence and when the snapshot was taken.
 */
import type { Command } from 'commander';
import type { z } from 'zod';
import { NodesResponse, type NodeSummary as NodeSummarySchema } from '../aggregator/http/schemas.js';
import { directConnect, parseAnswer, requestAggregator, type AggregatorConnect } from './aggregator-client.js';
import { formatAge } from './findings.js';
import { noColour, painter, renderTable, type Paint } from './format.js';
import type { CliIo } from './io.js';
import { addOutputOptions, isStructured, outputFormat, renderStructured, type OutputFlags } from './output.js';

type NodeSummary = z.infer<typeof NodeSummarySchema>;

export interface NodesCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  now?: () => number;
  connect?: AggregatorConnect;
}

interface NodesFlags extends OutputFlags {
  aggregator?: string;
  tokenFile?: string;
}

/** The nodes table (pure). */
export const renderNodes = (nodes: readonly NodeSummary[], nowMs: number, opts: { wide?: boolean; paint?: Paint } = {}): string => {
  if (nodes.length === 0) return 'no node has reported yet\n';
  const yesNo = (b: boolean) => (b ? 'yes' : 'no');
  const headers = ['NAME', 'STATUS', 'CRITICAL', 'WARNING', 'INFO', 'LAST REPORT', ...(opts.wide ? ['ENCAP', 'WIREGUARD', 'EBPF', 'BGP', 'AGENT', 'SEQ', 'TAKEN AT'] : [])];
  const rows = nodes.map((n) => [
    n.name,
    n.stale ? 'stale' : 'reporting',
    String(n.findings.critical),
    String(n.findings.warning),
    String(n.findings.info),
    formatAge(n.lastReport, nowMs),
    ...(opts.wide ? [n.mode.encapsulation, yesNo(n.mode.wireguard), yesNo(n.mode.ebpf), yesNo(n.mode.bgp), n.agentVersion, String(n.seq), n.takenAt] : []),
  ]);
  const style = (col: number, cell: string) =>
    col === 1 && cell === 'stale' ? ('yellow' as const) : col === 2 && cell !== '0' ? ('red' as const) : col === 3 && cell !== '0' ? ('yellow' as const) : undefined;
  const stale = nodes.filter((n) => n.stale).length;
  return renderTable(headers, rows, { paint: opts.paint ?? noColour, style }) + `\n${nodes.length} nodes, ${stale} stale\n`;
};

export const registerNodesCommand = (program: Command, io: CliIo, deps: NodesCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  const connect = deps.connect ?? directConnect(env, deps.fetch);
  const cmd = program
    .command('nodes')
    .description('list the nodes reporting to the aggregator: stale or not, findings per severity, last report')
    .option('--aggregator <url>', 'aggregator base URL (env CALICO_DIAG_AGGREGATOR_URL)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE)');
  addOutputOptions(cmd).action(async (opts: NodesFlags) => {
    const format = outputFormat(opts);
    const target = await connect(opts, '/v1/nodes');
    const text = await requestAggregator(target, { headers: target.headers, signal: AbortSignal.timeout(30_000) });
    const data = parseAnswer(text, NodesResponse);
    io.stdout(isStructured(format) ? renderStructured(format, data) : renderNodes(data.nodes, (deps.now ?? Date.now)(), { wide: format === 'wide', paint: painter(io.colour) }));
  });
};
