/**
 * `calico-diag findings`: the aggregator's active findings for a responder: a table (severity,
 * rule, node, peer, summary, age), then one remedy line per rule; `-o wide` adds the evidence,
 * `-o json|yaml` (or `--json`) prints the API answer.
 */
import type { Command } from 'commander';
import { Severity, type Finding } from '../contract/finding.js';
import { FindingsResponse } from '../aggregator/http/schemas.js';
import { directConnect, parseAnswer, requestAggregator, type AggregatorConnect } from './aggregator-client.js';
import { noColour, painter, renderTable, safeLine, severityStyle, type Paint } from './format.js';
import { CliError, type CliIo } from './io.js';
import { addOutputOptions, isStructured, outputFormat, renderStructured, type OutputFlags } from './output.js';

export interface FindingsCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  now?: () => number;
  /** how to reach the aggregator (default: --aggregator URL; the kubectl plugin: the API server proxy) */
  connect?: AggregatorConnect;
}

interface FindingsFlags extends OutputFlags {
  aggregator?: string;
  tokenFile?: string;
  node?: string;
  rule?: string;
  severity?: string;
}

export const formatAge = (fromIso: string, nowMs: number): string => {
  const s = Math.max(0, Math.floor((nowMs - Date.parse(fromIso)) / 1000));
  if (!Number.isFinite(s)) return '?';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
};

export interface RenderOptions {
  /** -o wide: adds last seen, evidence (seen / expected) and the finding id; cells are cut later */
  wide?: boolean;
  paint?: Paint;
}

/** The responder view: table + remedies (pure). */
export const renderFindings = (findings: readonly Finding[], nowMs: number, opts: RenderOptions = {}): string => {
  if (findings.length === 0) return 'no active findings\n';
  const paint = opts.paint ?? noColour;
  const headers = ['SEVERITY', 'RULE', 'NODE', 'PEER', 'SUMMARY', 'AGE', ...(opts.wide ? ['LAST SEEN', 'SEEN', 'EXPECTED', 'ID'] : [])];
  const rows = findings.map((f) => [
    f.severity.toUpperCase(),
    f.rule,
    f.node,
    f.peer ?? '-',
    f.summary,
    formatAge(f.firstSeen, nowMs),
    ...(opts.wide ? [formatAge(f.lastSeen, nowMs), f.evidence.seen, f.evidence.expected, f.id] : []),
  ]);
  const counts = Severity.options.map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`).join(', ');
  const remedies = new Map<string, string>();
  for (const f of findings) if (!remedies.has(f.rule)) remedies.set(f.rule, f.remedy);
  return (
    renderTable(headers, rows, { maxCellWidth: opts.wide ? 200 : 100, paint, style: (col, cell) => (col === 0 ? severityStyle(cell) : undefined) }) +
    `\n${findings.length} findings (${counts})\n\nRemedies:\n` +
    [...remedies].map(([rule, remedy]) => `  ${safeLine(rule)}: ${safeLine(remedy)}`).join('\n') +
    '\n'
  );
};

export const registerFindingsCommand = (program: Command, io: CliIo, deps: FindingsCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  const connect = deps.connect ?? directConnect(env, deps.fetch);
  const cmd = program
    .command('findings')
    .description("show the aggregator's active findings: a table with remedies (-o wide: evidence), or json/yaml")
    .option('--aggregator <url>', 'aggregator base URL (env CALICO_DIAG_AGGREGATOR_URL)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE)')
    .option('--node <name>', 'only findings on this node')
    .option('--rule <id>', 'only findings of this rule (e.g. vxlan-fdb-mismatch)')
    .option('--severity <level>', 'only this severity: critical, warning or info');
  addOutputOptions(cmd).action(async (opts: FindingsFlags) => {
    const format = outputFormat(opts);
    if (opts.severity !== undefined && !Severity.safeParse(opts.severity).success) throw new CliError(`invalid --severity ${JSON.stringify(opts.severity)}: must be critical, warning or info`);
    const target = await connect(opts, '/v1/findings');
    for (const key of ['node', 'rule', 'severity'] as const) if (opts[key] !== undefined) target.url.searchParams.set(key, opts[key]!);
    const text = await requestAggregator(target, { headers: target.headers, signal: AbortSignal.timeout(30_000) });
    const data = parseAnswer(text, FindingsResponse);
    if (isStructured(format)) io.stdout(renderStructured(format, data));
    else io.stdout(renderFindings(data.findings, (deps.now ?? Date.now)(), { wide: format === 'wide', paint: painter(io.colour) }));
  });
};
