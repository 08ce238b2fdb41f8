/**
 * `calico-diag diagnose --aggregator URL --from X --to Y [--token-file F] [--json]`: asks the
 * aggregator for a two-node capture diagnosis, shows progress on stderr while both nodes capture,
 * then the hop table (✓ seen, ✗ where the probes vanished, · not captured), the verdict in plain
 * words and the runbook step. Exit code: 0 healthy, 2 gap or no path, 3 inconclusive.
 */
import type { Command } from 'commander';
import { Diagnosis } from '../contract/diagnosis.js';
import { aggregatorTarget, requestAggregator } from './aggregator-client.js';
import { renderTable } from './format.js';
import { CliError, type CliIo } from './io.js';

export interface DiagnoseCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  /** progress tick period in ms (default 1000) */
  tickMs?: number;
}

interface DiagnoseFlags {
  aggregator?: string;
  tokenFile?: string;
  from: string;
  to: string;
  count?: string;
  duration?: string;
  json?: boolean;
}

const VERDICT_WORDS: Record<Diagnosis['verdict'], string> = {
  healthy: 'HEALTHY — the probes went there and back',
  'one-way-gap': 'ONE-WAY GAP',
  'no-path': 'NO PATH',
  inconclusive: 'INCONCLUSIVE',
};

/** The human view of a diagnosis (pure). */
export const renderDiagnosis = (d: Diagnosis): string => {
  const mark = (s: string) => (s === 'seen' ? '✓' : s === 'missing' ? '✗' : '·');
  const rows = d.hops.map((h) => [
    mark(h.status),
    h.hop,
    h.direction,
    h.node,
    h.device ?? '-',
    h.status === 'not-captured' ? `not captured${h.note ? `: ${h.note}` : ''}` : `${h.seqs.length}/${h.expected}`,
  ]);
  const lines: string[] = [];
  lines.push(`${d.from.input} (${d.from.node}) → ${d.to.input} (${d.to.kind} on ${d.to.node})`);
  if (d.probe) lines.push(`probe: ICMP id ${d.probe.id} ${d.probe.source} → ${d.probe.target}, ${d.probe.received}/${d.probe.sent} answered`);
  lines.push('');
  if (rows.length > 0) lines.push(renderTable(['', 'HOP', 'DIRECTION', 'NODE', 'DEVICE', 'PROBES'], rows, { maxCellWidth: 80 }).trimEnd());
  lines.push('');
  const where = d.gap ? ` on the ${d.gap.direction} path at ${d.gap.node} (${d.gap.hop})` : '';
  lines.push(`Verdict: ${VERDICT_WORDS[d.verdict]}${where}`);
  lines.push(d.summary);
  for (const c of d.causes) lines.push(`Cause: ${c.rule} on ${c.node}${c.fromCapture ? ' (seen in the capture)' : ' (finding)'}: ${c.detail}`);
  for (const f of d.findings) lines.push(`Finding: ${f.severity} ${f.rule} node=${f.node}${f.peer ? ` peer=${f.peer}` : ''}: ${f.summary}`);
  lines.push(`Runbook: ${d.remedy}`);
  for (const w of d.warnings) lines.push(`warning: ${w}`);
  lines.push(`(diagnosis ${d.id}${d.durationMs !== undefined ? `, ${(d.durationMs / 1000).toFixed(1)} s` : ''})`);
  return `${lines.join('\n')}\n`;
};

const intFlag = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`invalid --${name} ${JSON.stringify(v)}: must be an integer ${min}..${max}`);
  return n;
};

export const registerDiagnoseCommand = (program: Command, io: CliIo, deps: DiagnoseCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  program
    .command('diagnose')
    .description('two-node capture diagnosis: where do probes from --from to --to vanish?')
    .requiredOption('--from <end>', 'source: node name, node IP or pod IP')
    .requiredOption('--to <end>', 'target: pod IP, node name or node IP')
    .option('--aggregator <url>', 'aggregator base URL (env CALICO_DIAG_AGGREGATOR_URL)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE)')
    .option('--count <n>', 'probes to send (1..20, default 3)')
    .option('--duration <seconds>', 'capture window (2..30, default 4)')
    .option('--json', 'print the diagnosis as JSON')
    .action(async (opts: DiagnoseFlags) => {
      const target = await aggregatorTarget(opts, env, '/v1/diagnose');
      const count = intFlag('count', opts.count, 1, 20);
      const durationSeconds = intFlag('duration', opts.duration, 2, 30);
      const body = { from: opts.from, to: opts.to, ...(count ? { count } : {}), ...(durationSeconds ? { durationSeconds } : {}) };
      const window = durationSeconds ?? 4;
      io.stderr(`diagnosing ${opts.from} → ${opts.to}: capturing on both nodes for ~${window} s while probes run `);
      const ticker = setInterval(() => io.stderr('.'), deps.tickMs ?? 1000);
      let text: string;
      try {
        const headers = { ...target.headers, 'content-type': 'application/json' };
        text = await requestAggregator(target, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout((window + 30) * 1000) }, deps.fetch);
      } finally {
        clearInterval(ticker);
        io.stderr(' done\n');
      }
      let parsed: Diagnosis;
      try {
        const p = Diagnosis.safeParse(JSON.parse(text));
        if (!p.success) throw new Error('shape');
        parsed = p.data;
      } catch {
        throw new CliError('the aggregator answered with an unexpected shape (version mismatch?)');
      }
      io.stdout(opts.json ? `${JSON.stringify(parsed, null, 2)}\n` : renderDiagnosis(parsed));
      if (parsed.verdict === 'one-way-gap' || parsed.verdict === 'no-path') throw new CliError('', 2);
      if (parsed.verdict === 'inconclusive') throw new CliError('', 3);
    });
};
