/**
 * `calico-diag findings`: the aggregator's active findings for a responder: a table (severity,
 * rule, node, peer, summary, age), then one remedy line per rule; `--json` prints the API answer.
 */
import type { Command } from 'commander';
import { Severity, type Finding } from '../contract/finding.js';
import { FindingsResponse } from '../aggregator/http/schemas.js';
import { aggregatorTarget, requestAggregator } from './aggregator-client.js';
import { renderTable } from './format.js';
import { CliError, type CliIo } from './io.js';

export interface FindingsCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  now?: () => number;
}

interface FindingsFlags {
  aggregator?: string;
  tokenFile?: string;
  node?: string;
  rule?: string;
  severity?: string;
  json?: boolean;
}

export const formatAge = (fromIso: string, nowMs: number): string => {
  const s = Math.max(0, Math.floor((nowMs - Date.parse(fromIso)) / 1000));
  if (!Number.isFinite(s)) return '?';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
};

/** The responder view: table + remedies (pure). */
export const renderFindings = (findings: readonly Finding[], nowMs: number): string => {
  if (findings.length === 0) return 'no active findings\n';
  const rows = findings.map((f) => [f.severity.toUpperCase(), f.rule, f.node, f.peer ?? '-', f.summary, formatAge(f.firstSeen, nowMs)]);
  const counts = (['critical', 'warning', 'info'] as const).map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`).join(', ');
  const remedies = new Map<string, string>();
  for (const f of findings) if (!remedies.has(f.rule)) remedies.set(f.rule, f.remedy);
  return (
    renderTable(['SEVERITY', 'RULE', 'NODE', 'PEER', 'SUMMARY', 'AGE'], rows, { maxCellWidth: 100 }) +
    `\n${findings.length} findings (${counts})\n\nRemedies:\n` +
    [...remedies].map(([rule, remedy]) => `  ${rule}: ${remedy.replace(/\s*\n\s*/g, ' ')}`).join('\n') +
    '\n'
  );
};

export const registerFindingsCommand = (program: Command, io: CliIo, deps: FindingsCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  program
    .command('findings')
    .description("show the aggregator's active findings (table with remedies, or --json)")
    .option('--aggregator <url>', 'aggregator base URL (env CALICO_DIAG_AGGREGATOR_URL)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE)')
    .option('--node <name>', 'only findings on this node')
    .option('--rule <id>', 'only findings of this rule (e.g. vxlan-fdb-mismatch)')
    .option('--severity <level>', 'only this severity: critical, warning or info')
    .option('--json', 'print the findings as JSON')
    .action(async (opts: FindingsFlags) => {
      const target = await aggregatorTarget(opts, env, '/v1/findings');
      const { url } = target;
      if (opts.severity !== undefined && !Severity.safeParse(opts.severity).success) throw new CliError(`invalid --severity ${JSON.stringify(opts.severity)}: must be critical, warning or info`);
      for (const key of ['node', 'rule', 'severity'] as const) if (opts[key] !== undefined) url.searchParams.set(key, opts[key]!);

      const text = await requestAggregator(target, { headers: target.headers, signal: AbortSignal.timeout(30_000) }, deps.fetch);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new CliError('the aggregator answered with something that is not JSON');
      }
      const parsed = FindingsResponse.safeParse(body);
      if (!parsed.success) throw new CliError('the aggregator answered with an unexpected shape (version mismatch?)');
      if (opts.json) io.stdout(`${JSON.stringify(parsed.data, null, 2)}\n`);
      else io.stdout(renderFindings(parsed.data.findings, (deps.now ?? Date.now)()));
    });
};
