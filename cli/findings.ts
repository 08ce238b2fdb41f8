/**
 * `calico-diag findings`: the aggregator's active findings for a responder: a table (severity,
 * rule, node, peer, summary, age), then one remedy line per rule; `-o wide` adds the evidence,
 * `-o json|yaml` (or `--json`) prints the API answer. Findings another finding explains (#18,
 * `explainedBy`) are folded under their root: indented rows right after it.
 *
 * Cold start (#17): the table and wide views check the answer with `FindingsAnswer`, a hand check
 * of the contract's Finding schema (it accepts what the zod schema accepts: test/cli/findings.test.ts
 * compares them), so they do not load zod; json/yaml print the answer as the zod schema parses it
 * (unknown fields dropped, defaults filled in), loading it then.
 */
import type { Command } from 'commander';
import type { Finding } from '../contract/finding.js';
import { RULE_ID_PATTERN, SEVERITY_LEVELS } from '../contract/finding-basics.js';
import { directConnect, parseAnswer, requestAggregator, type AggregatorConnect } from './aggregator-client.js';
import { noColour, painter, renderTable, safeLine, severityStyle, type Paint } from './format.js';
import { CliError, type CliIo } from './io.js';
import { addOutputOptions, isStructured, OUTPUT_FORMATS, outputFormat, renderStructured, type OutputFlags, type OutputFormat } from './output.js';

export interface FindingsCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  now?: () => number;
  /** how to reach the aggregator (default: --aggregator URL; the kubectl plugin: the API server proxy) */
  connect?: AggregatorConnect;
}

export interface FindingsFlags extends OutputFlags {
  aggregator?: string;
  tokenFile?: string;
  node?: string;
  rule?: string;
  severity?: string;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalString = (v: unknown): boolean => v === undefined || isString(v);
const isSeverity = (v: unknown): boolean => (SEVERITY_LEVELS as readonly unknown[]).includes(v);

/** Whether `v` is a Finding as contract/finding.ts's schema accepts it (fields only read, never changed). */
const isFinding = (v: unknown): v is Finding => {
  if (!isObject(v) || !isObject(v.evidence)) return false;
  const e = v.evidence;
  return (
    isString(v.id) && isString(v.rule) && RULE_ID_PATTERN.test(v.rule) && isSeverity(v.severity) && isString(v.node) && optionalString(v.peer) &&
    isString(v.summary) && isString(e.seen) && isString(e.expected) && (e.details === undefined || isObject(e.details)) &&
    isString(v.remedy) && isString(v.firstSeen) && isString(v.lastSeen) && optionalString(v.explainedBy)
  );
};

/** The `GET /v1/findings` answer (`{ findings }`) checked without zod, in parseAnswer's safeParse shape. */
export const FindingsAnswer = {
  safeParse: (v: unknown): { success: true; data: { findings: Finding[] } } | { success: false } =>
    isObject(v) && Array.isArray(v.findings) && v.findings.every(isFinding) ? { success: true, data: { findings: v.findings } } : { success: false },
};

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

/**
 * Roots in their given order, each followed by the findings it explains; a finding whose root is
 * not in the list (filtered out) stays on its own and says which finding it follows from.
 */
const foldUnderRoots = (findings: readonly Finding[]): { f: Finding; depth: 0 | 1; orphan: boolean }[] => {
  const ids = new Set(findings.map((f) => f.id));
  const under = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.explainedBy === undefined || !ids.has(f.explainedBy)) continue;
    const list = under.get(f.explainedBy);
    if (list) list.push(f);
    else under.set(f.explainedBy, [f]);
  }
  const out: { f: Finding; depth: 0 | 1; orphan: boolean }[] = [];
  for (const f of findings) {
    if (f.explainedBy !== undefined && ids.has(f.explainedBy)) continue;
    out.push({ f, depth: 0, orphan: f.explainedBy !== undefined });
    for (const c of under.get(f.id) ?? []) out.push({ f: c, depth: 1, orphan: false });
  }
  return out;
};

/** The responder view: table (consequences folded under their roots) + remedies (pure). */
export const renderFindings = (findings: readonly Finding[], nowMs: number, opts: RenderOptions = {}): string => {
  if (findings.length === 0) return 'no active findings\n';
  const paint = opts.paint ?? noColour;
  const headers = ['SEVERITY', 'RULE', 'NODE', 'PEER', 'SUMMARY', 'AGE', ...(opts.wide ? ['LAST SEEN', 'SEEN', 'EXPECTED', 'ID'] : [])];
  const rows = foldUnderRoots(findings).map(({ f, depth, orphan }) => [
    f.severity.toUpperCase(),
    depth === 1 ? `└ ${f.rule}` : f.rule,
    f.node,
    f.peer ?? '-',
    orphan ? `${f.summary} (follows from ${f.explainedBy})` : f.summary,
    formatAge(f.firstSeen, nowMs),
    ...(opts.wide ? [formatAge(f.lastSeen, nowMs), f.evidence.seen, f.evidence.expected, f.id] : []),
  ]);
  const counts = SEVERITY_LEVELS.map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`).join(', ');
  const rootCount = findings.filter((f) => f.explainedBy === undefined).length;
  const explained = findings.length - rootCount;
  const remedies = new Map<string, string>();
  for (const f of findings) if (f.explainedBy === undefined && !remedies.has(f.rule)) remedies.set(f.rule, f.remedy);
  for (const f of findings) if (!remedies.has(f.rule)) remedies.set(f.rule, f.remedy);
  return (
    renderTable(headers, rows, { maxCellWidth: opts.wide ? 200 : 100, paint, style: (col, cell) => (col === 0 ? severityStyle(cell) : undefined) }) +
    `\n${findings.length} findings (${counts})${explained > 0 ? `: ${rootCount} root causes, ${explained} following from them (└)` : ''}\n\nRemedies:\n` +
    [...remedies].map(([rule, remedy]) => `  ${safeLine(rule)}: ${safeLine(remedy)}`).join('\n') +
    '\n'
  );
};

/** The options of `findings` besides `-o/--json`, in help order: flags, description, the FindingsFlags key. */
const FINDINGS_OPTIONS = [
  ['--aggregator <url>', 'aggregator base URL (env CALICO_DIAG_AGGREGATOR_URL)', 'aggregator'],
  ['--token-file <path>', 'file holding the bearer token (env CALICO_DIAG_TOKEN_FILE)', 'tokenFile'],
  ['--node <name>', 'only findings on this node', 'node'],
  ['--rule <id>', 'only findings of this rule (e.g. vxlan-fdb-mismatch)', 'rule'],
  ['--severity <level>', 'only this severity: critical, warning or info', 'severity'],
] as const;

/**
 * What `calico-diag findings ARGS` does once its flags are parsed (commander's action, and the
 * entry's plain-argv path: `plainFindingsFlags`).
 */
export const runFindings = async (opts: FindingsFlags, io: CliIo, deps: FindingsCommandDeps = {}): Promise<void> => {
  const connect = deps.connect ?? directConnect(deps.env ?? process.env, deps.fetch);
  const format = outputFormat(opts);
  if (opts.severity !== undefined && !isSeverity(opts.severity)) throw new CliError(`invalid --severity ${JSON.stringify(opts.severity)}: must be critical, warning or info`);
  const target = await connect(opts, '/v1/findings');
  for (const key of ['node', 'rule', 'severity'] as const) if (opts[key] !== undefined) target.url.searchParams.set(key, opts[key]!);
  const text = await requestAggregator(target, { headers: target.headers, signal: AbortSignal.timeout(30_000) });
  if (isStructured(format)) {
    const { FindingsFlatResponse } = await import('../aggregator/http/schemas.js');
    io.stdout(renderStructured(format, parseAnswer(text, FindingsFlatResponse)));
  } else {
    const data = parseAnswer(text, FindingsAnswer);
    io.stdout(renderFindings(data.findings, (deps.now ?? Date.now)(), { wide: format === 'wide', paint: painter(io.colour) }));
  }
};

export const registerFindingsCommand = (program: Command, io: CliIo, deps: FindingsCommandDeps = {}): void => {
  const cmd = program.command('findings').description("show the aggregator's active findings: a table with remedies (-o wide: evidence), or json/yaml");
  for (const [flags, description] of FINDINGS_OPTIONS) cmd.option(flags, description);
  addOutputOptions(cmd).action((opts: FindingsFlags) => runFindings(opts, io, deps));
};

const VALUE_KEYS: ReadonlyMap<string, (typeof FINDINGS_OPTIONS)[number][2] | 'output'> = new Map([...FINDINGS_OPTIONS.map(([flags, , key]) => [flags.split(' ')[0]!, key] as const), ['--output', 'output'], ['-o', 'output']]);

/**
 * The flags of `calico-diag findings ARGS` when ARGS is plain, i.e. only the command's own options
 * written as `--name value`, `--name=value`, `-o value`, `-ovalue` or `--json`, with an `-o` that
 * is one of the formats: what commander makes of them (test/cli/findings.test.ts compares the two).
 * Anything else (help, an unknown option or argument, a value that starts with `-`, a missing
 * value, `--`) is undefined, and commander parses it, with its messages. Lets the CLI entry run
 * the command without building the commander program (#17: cold start, bench/results.md).
 */
export const plainFindingsFlags = (args: readonly string[]): FindingsFlags | undefined => {
  const flags: FindingsFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') {
      flags.json = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const short = arg.startsWith('-o') && arg.length > 2 && eq < 0;
    const name = eq > 0 ? arg.slice(0, eq) : short ? '-o' : arg;
    const key = VALUE_KEYS.get(name);
    if (key === undefined) return undefined;
    const value = eq > 0 ? arg.slice(eq + 1) : short ? arg.slice(2) : args[++i];
    if (value === undefined || (eq < 0 && !short && value.startsWith('-'))) return undefined;
    if (key === 'output') {
      if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) return undefined;
      flags.output = value as OutputFormat;
    } else flags[key] = value;
  }
  return flags;
};
