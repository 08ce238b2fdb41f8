/**
 * `calico-diag diagnose --aggregator URL --from X --to Y [--token-file F] [-o table|wide|json|yaml]`:
 * asks the aggregator for a two-node capture diagnosis, shows progress on stderr while both nodes
 * capture, then the hop table (✓ seen, ✗ where the probes vanished, · not captured), the verdict in
 * plain words and the runbook step; `-o wide` adds the devices and the probe sequence numbers seen.
 * `--duration` takes 4s, 10s, ... (a plain number is seconds). Exit code: 0 healthy, 2 gap or no
 * path, 3 inconclusive.
 */
import type { Command } from 'commander';
import { describeRuleHit } from '../aggregator/diagnose/rule-hits.js';
import { Diagnosis } from '../contract/diagnosis.js';
import { directConnect, parseAnswer, requestAggregator, type AggregatorConnect } from './aggregator-client.js';
import { noColour, painter, renderTable, safeLine, type Paint, type Style } from './format.js';
import { CliError, type CliIo } from './io.js';
import { addOutputOptions, durationFlag, isStructured, outputFormat, renderStructured, type OutputFlags } from './output.js';

export interface DiagnoseCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  /** progress tick period in ms (default 1000) */
  tickMs?: number;
  /** how to reach the aggregator (default: --aggregator URL; the kubectl plugin: the API server proxy) */
  connect?: AggregatorConnect;
}

interface DiagnoseFlags extends OutputFlags {
  aggregator?: string;
  tokenFile?: string;
  from: string;
  to: string;
  count?: string;
  size?: string;
  duration?: string;
}

const VERDICT_WORDS: Record<Diagnosis['verdict'], string> = {
  healthy: 'HEALTHY — the probes went there and back',
  'one-way-gap': 'ONE-WAY GAP',
  'no-path': 'NO PATH',
  inconclusive: 'INCONCLUSIVE',
};

export interface RenderOptions {
  /** -o wide: the capture device and the probe sequence numbers seen at each hop */
  wide?: boolean;
  paint?: Paint;
}

const VERDICT_STYLE: Record<Diagnosis['verdict'], Style> = { healthy: 'green', 'one-way-gap': 'red', 'no-path': 'red', inconclusive: 'yellow' };
const MARK_STYLE: Record<string, Style> = { '✓': 'green', '✗': 'red' };

/** The human view of a diagnosis (pure). */
export const renderDiagnosis = (d: Diagnosis, opts: RenderOptions = {}): string => {
  const paint = opts.paint ?? noColour;
  const mark = (s: string) => (s === 'seen' ? '✓' : s === 'missing' ? '✗' : '·');
  const rows = d.hops.map((h) => [
    mark(h.status),
    h.hop,
    h.direction,
    h.node,
    ...(opts.wide ? [h.device ?? '-'] : []),
    h.status === 'not-captured'
      ? `not captured${h.note ? `: ${h.note}` : ''}`
      : h.status === 'not-ready'
        ? `not ready${h.note ? `: ${h.note}` : ''}`
        : h.deviceState === 'down' || h.deviceState === 'missing'
          ? `device ${h.deviceState}: 0/${h.expected}`
          : `${h.seqs.length}/${h.expected}`,
    ...(opts.wide ? [h.seqs.length > 0 ? h.seqs.join(',') : '-'] : []),
  ]);
  const headers = ['', 'HOP', 'DIRECTION', 'NODE', ...(opts.wide ? ['DEVICE'] : []), 'PROBES', ...(opts.wide ? ['SEQS SEEN'] : [])];
  const line = safeLine;
  const lines: string[] = [];
  lines.push(line(`${d.from.input} (${d.from.node}) → ${d.to.input} (${d.to.kind} on ${d.to.node})`));
  if (d.probe) lines.push(line(`probe: ICMP id ${d.probe.id} ${d.probe.source} → ${d.probe.target}, ${d.probe.received}/${d.probe.sent} answered`));
  lines.push('');
  if (rows.length > 0) lines.push(renderTable(headers, rows, { maxCellWidth: 80, paint, style: (col, cell) => (col === 0 ? MARK_STYLE[cell] : undefined) }).trimEnd());
  lines.push('');
  const where = d.gap ? ` on the ${d.gap.direction} path at ${d.gap.node} (${d.gap.hop})` : '';
  lines.push(`Verdict: ${paint(VERDICT_STYLE[d.verdict], line(`${VERDICT_WORDS[d.verdict]}${where}`))}`);
  lines.push(line(d.summary));
  for (const c of d.causes) lines.push(line(`Cause: ${c.rule} on ${c.node}${c.fromCapture ? ' (seen in the capture)' : ' (finding)'}: ${c.detail}`));
  const drops = d.hops.find((h) => h.drops)?.drops;
  if (drops && d.gap) {
    lines.push(
      line(
        drops.available
          ? `Kernel drops on ${d.gap.node} in the window: ${drops.counts.length ? drops.counts.slice(0, 5).map((c) => `${c.reason} ×${c.count} (${c.location})`).join(', ') : 'none with a reason'}`
          : `Kernel drops on ${d.gap.node}: unavailable (${drops.why ?? 'unknown'})`,
      ),
    );
  }
  for (const f of d.findings) lines.push(line(`Finding: ${f.severity} ${f.rule} node=${f.node}${f.peer ? ` peer=${f.peer}` : ''}: ${f.summary}`));
  // #18: the rules whose counters rose with the lost probes
  for (const r of d.rules ?? []) lines.push(line(`Rule: ${describeRuleHit(r)}`));
  lines.push(line(`Runbook: ${d.remedy}`));
  for (const w of d.warnings) lines.push(line(`warning: ${w}`));
  lines.push(line(`(diagnosis ${d.id}${d.durationMs !== undefined ? `, ${(d.durationMs / 1000).toFixed(1)} s` : ''})`));
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
  const connect = deps.connect ?? directConnect(env, deps.fetch);
  const cmd = program
    .command('diagnose')
    .description('two-node capture diagnosis: where do probes from --from to --to vanish?')
    .requiredOption('--from <end>', 'source: node name, node IP or pod IP')
    .requiredOption('--to <end>', 'target: pod IP, node name or node IP')
    .option('--aggregator <url>', 'aggregator base URL (env CALICO_DIAG_AGGREGATOR_URL)')
    .option('--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE)')
    .option('--count <n>', 'probes to send (1..20, default 3)')
    .option('--size <bytes>', "probe payload bytes (16..8952), sent with don't-fragment so MTU faults show (default: ping's 56)")
    .option('--duration <duration>', 'capture window, whole seconds 2s..30s (default 4s; a plain number is seconds)');
  addOutputOptions(cmd).action(async (opts: DiagnoseFlags) => {
    const format = outputFormat(opts);
    const count = intFlag('count', opts.count, 1, 20);
    const size = intFlag('size', opts.size, 16, 8952);
    let durationSeconds: number | undefined;
    if (opts.duration !== undefined) {
      const ms = durationFlag('--duration', opts.duration, 's', { minMs: 2000, maxMs: 30_000 });
      if (ms % 1000 !== 0) throw new CliError(`invalid --duration ${JSON.stringify(opts.duration)}: must be whole seconds`);
      durationSeconds = ms / 1000;
    }
    const target = await connect(opts, '/v1/diagnose');
    const body = { from: opts.from, to: opts.to, ...(count ? { count } : {}), ...(durationSeconds ? { durationSeconds } : {}), ...(size ? { size } : {}) };
    const window = durationSeconds ?? 4;
    io.stderr(`diagnosing ${safeLine(opts.from)} → ${safeLine(opts.to)}: capturing on both nodes for ~${window} s while probes run `);
    const ticker = setInterval(() => io.stderr('.'), deps.tickMs ?? 1000);
    let text: string;
    try {
      const headers = { ...target.headers, 'content-type': 'application/json' };
      text = await requestAggregator(target, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout((window + 30) * 1000) });
    } finally {
      clearInterval(ticker);
      io.stderr(' done\n');
    }
    const parsed = parseAnswer(text, Diagnosis);
    io.stdout(isStructured(format) ? renderStructured(format, parsed) : renderDiagnosis(parsed, { wide: format === 'wide', paint: painter(io.colour) }));
    if (parsed.verdict === 'one-way-gap' || parsed.verdict === 'no-path') throw new CliError('', 2);
    if (parsed.verdict === 'inconclusive') throw new CliError('', 3);
  });
};
