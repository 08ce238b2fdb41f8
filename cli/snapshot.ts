/**
 * `calico-diag snapshot`: one snapshot of this node, its local checks and findings.
 *
 *   -o table|wide   readable tables (default: the short view; wide adds tunnel MAC/VNI/port,
 *                   collector timings and details, the findings' peers and evidence)
 *   -o json|yaml    the full {snapshot, checks, findings} (--json: compact JSON)
 *   --save DIR      record every raw command output / file / HTTP / socket read into a bundle
 *                   (DIR/manifest.json + one file per output) and write DIR/snapshot.json
 *   --from DIR      replay a bundle instead of reading this host (the snapshot keeps the recording's time)
 *   --node N        default: the bundle's node (--from), CALICO_DIAG_NODE_NAME, else the hostname
 *                   (--node-name is the older, hidden spelling)
 *   --timeout D     per-command timeout: 10s, 500ms, ... (a plain number is seconds; the hidden
 *                   --timeout-ms takes milliseconds as before)
 *   --fail-on SEV   exit 2 when a finding of severity SEV or worse exists (critical > warning > info)
 * The local findings go through the aggregator's root-cause pass (aggregator/causes.ts, #18): a
 * finding another local finding explains carries `explainedBy` (JSON) and is folded under its root
 * in the tables (`└ rule`).
 * Exit codes: 0 done (findings alone do not fail the command unless --fail-on), 1 error, 2 --fail-on hit.
 */
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { atLeast, bySeverity, Severity, type CheckStatus, type Finding } from '../contract/finding.js';
import { SECTION_NAMES, type Snapshot } from '../contract/snapshot.js';
import { runLocalChecks } from '../agent/checks/index.js';
import { explainFindings, groupFindings } from '../aggregator/causes.js';
import type { Host } from '../agent/collectors/types.js';
import { packageVersion as agentVersion } from '../common/config.js';
import { DEFAULT_BIRD_SOCKET, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_FELIX_HEALTH_URL } from '../agent/config.js';
import { realHost } from '../agent/exec/host.js';
import { execRunner } from '../agent/exec/runner.js';
import { recordingHost } from '../agent/host/record.js';
import { loadBundle } from '../agent/host/replay.js';
import { systemClock, type Clock } from '../common/clock.js';
import { takeSnapshot } from '../agent/snapshot.js';
import { noColour, painter, renderFields, renderTable, severityStyle, type Paint } from './format.js';
import { CliError, type CliIo } from './io.js';
import { addOutputOptions, durationFlag, isStructured, outputFormat, renderStructured, writeCompactJson, type OutputFlags } from './output.js';


export interface SnapshotResult {
  snapshot: Snapshot;
  checks: CheckStatus[];
  findings: Finding[];
}

export interface SnapshotCommandDeps {
  env?: Readonly<Record<string, string | undefined>>;
  /** the live host (default: the real one); tests pass a fake */
  host?: () => Host;
  clock?: Clock;
}

interface Opts extends OutputFlags {
  save?: string;
  from?: string;
  node?: string;
  nodeName?: string;
  failOn?: Severity;
  felixHealthUrl?: string;
  birdSocket?: string;
  timeout?: string;
  timeoutMs?: string;
}

/** The evidence line the mode derivation wrote for the policy dataplane, after a colon. */
const policyEvidence = (evidence: readonly string[]): string => {
  const e = evidence.find((x) => x.startsWith('policy dataplane '));
  const i = e?.indexOf(': ') ?? -1;
  return e === undefined || i < 0 ? '' : ` (${e.slice(i + 2)})`;
};

export interface RenderOptions {
  /** -o wide: tunnel MAC/VNI/port, collector timings and details, finding peers and evidence */
  wide?: boolean;
  paint?: Paint;
}

export const renderSnapshot = (r: SnapshotResult, opts: RenderOptions = {}): string => {
  const { snapshot: s, checks, findings } = r;
  const wide = opts.wide === true;
  const paint = opts.paint ?? noColour;
  const id = s.identity;
  const m = s.mode;
  const yesNo = (b: boolean) => (b ? 'yes' : 'no');
  let out = renderFields([
    ['node', s.node],
    ['taken at', `${s.takenAt} (${Math.round(s.durationMs)} ms)`],
    ['mode', `encapsulation ${m.encapsulation}, wireguard ${yesNo(m.wireguard)}, ebpf ${yesNo(m.ebpf)}, bgp ${yesNo(m.bgp)}`],
    // older snapshots (--from a bundle of an older agent's report) have no policy dataplane
    ...(m.policyDataplane !== undefined
      ? [['policy dataplane', `${m.policyDataplane}${policyEvidence(m.evidence)}`] as [string, string]]
      : []),
    ['node IPs', id.nodeIPs.join(', ') || '(none found)'],
    ['uplinks', id.uplinks.map((u) => `${u.name} (mtu ${u.mtu})`).join(', ') || '(none found)'],
    ['blocks', id.blocks.join(', ') || '(none)'],
    ['workloads', String(id.workloads.length)],
  ]);
  out += '\nTunnels\n';
  out +=
    id.tunnels.length === 0
      ? '(no Calico tunnel device)\n'
      : wide
        ? renderTable(
            ['DEVICE', 'KIND', 'IP', 'MAC', 'VNI', 'PORT', 'MTU', 'STATE'],
            id.tunnels.map((t) => [t.device, t.kind, t.ip ?? '-', t.mac ?? '-', t.vni?.toString() ?? '-', t.port?.toString() ?? '-', String(t.mtu), t.operstate]),
          )
        : renderTable(['DEVICE', 'KIND', 'IP', 'MTU', 'STATE'], id.tunnels.map((t) => [t.device, t.kind, t.ip ?? '-', String(t.mtu), t.operstate]));
  out += '\nCollectors\n';
  const statusStyle = (col: number, cell: string) => (col === 1 && cell.startsWith('unavailable') ? ('yellow' as const) : undefined);
  out += renderTable(
    ['COLLECTOR', 'STATUS', ...(wide ? ['MS', 'DETAIL'] : [])],
    SECTION_NAMES.map((n) => {
      const sec = s.sections[n];
      const ms = s.timings[n];
      const status = sec.status === 'ok' ? 'ok' : `unavailable: ${sec.reason}`;
      return wide ? [n, status, ms === undefined ? '-' : String(Math.round(ms)), sec.status === 'ok' ? '' : sec.detail] : [n, status];
    }),
    { maxCellWidth: 100, paint, style: statusStyle },
  );
  const count = (st: CheckStatus['status']) => checks.filter((c) => c.status === st).length;
  out += `\nChecks: ${checks.length} run, ${count('ok')} ok, ${count('finding')} with findings, ${count('unknown')} unknown\n`;
  const unknown = checks.filter((c) => c.status === 'unknown');
  if (unknown.length > 0) out += renderTable(['UNKNOWN CHECK', 'REASON'], unknown.map((c) => [c.rule, c.reason ?? '']), { maxCellWidth: 100 });
  out += '\nFindings\n';
  // roots by severity and rule, each followed by the findings it explains (#18)
  const sorted = [...findings].sort((a, b) => bySeverity(a, b) || a.rule.localeCompare(b.rule));
  const rows = groupFindings(sorted).flatMap((g) => [{ f: g.root, folded: false }, ...g.consequences.map((f) => ({ f, folded: true }))]);
  const ruleCell = (r: { f: Finding; folded: boolean }) => (r.folded ? `└ ${r.f.rule}` : r.f.rule);
  const sevStyle = (col: number, cell: string) => (col === 1 ? severityStyle(cell) : undefined);
  out +=
    sorted.length === 0
      ? '(none)\n'
      : wide
        ? renderTable(['RULE', 'SEVERITY', 'PEER', 'SUMMARY', 'SEEN', 'EXPECTED'], rows.map((r) => [ruleCell(r), r.f.severity, r.f.peer ?? '-', r.f.summary, r.f.evidence.seen, r.f.evidence.expected]), { maxCellWidth: 200, paint, style: sevStyle })
        : renderTable(['RULE', 'SEVERITY', 'SUMMARY'], rows.map((r) => [ruleCell(r), r.f.severity, r.f.summary]), { maxCellWidth: 120, paint, style: sevStyle });
  const explained = rows.filter((r) => r.folded).length;
  if (explained > 0) out += `\n${sorted.length} findings: ${sorted.length - explained} root causes, ${explained} following from them (└)\n`;
  return out;
};

export const registerSnapshotCommand = (program: Command, io: CliIo, deps: SnapshotCommandDeps = {}): void => {
  const env = deps.env ?? process.env;
  const cmd = program
    .command('snapshot')
    .description("read this node's dataplane once, run the local checks and print the result")
    .option('--save <dir>', 'record every raw output into a bundle directory (manifest.json + one file per output)')
    .option('--from <dir>', 'replay a bundle recorded with --save instead of reading this host')
    .option('--node <name>', 'node name (default: the bundle node, CALICO_DIAG_NODE_NAME, or the hostname)')
    .addOption(new Option('--node-name <name>').hideHelp())
    .addOption(new Option('--fail-on <severity>', 'exit 2 when a finding of this severity or worse exists').choices(Severity.options))
    .option('--felix-health-url <url>', 'Felix health endpoint (env CALICO_DIAG_FELIX_HEALTH_URL)')
    .option('--bird-socket <path>', 'BIRD control socket (env CALICO_DIAG_BIRD_SOCKET)')
    .option('--timeout <duration>', `per-command timeout, e.g. 10s or 500ms (default ${DEFAULT_COMMAND_TIMEOUT_MS / 1000}s; a plain number is seconds)`)
    .addOption(new Option('--timeout-ms <ms>').hideHelp());
  addOutputOptions(cmd).action(async (opts: Opts) => {
    const format = outputFormat(opts);
    if (opts.save && opts.from) throw new CliError('--save and --from cannot be used together');
    if (opts.timeout !== undefined && opts.timeoutMs !== undefined) throw new CliError('--timeout and --timeout-ms cannot be used together');
    if (opts.node !== undefined && opts.nodeName !== undefined) throw new CliError('--node and --node-name cannot be used together');
    const range = { minMs: 1, maxMs: 600_000 };
    const timeoutMs = Math.ceil(
      opts.timeout !== undefined
        ? durationFlag('--timeout', opts.timeout, 's', range)
        : opts.timeoutMs !== undefined
          ? durationFlag('--timeout-ms', opts.timeoutMs, 'ms', range)
          : DEFAULT_COMMAND_TIMEOUT_MS,
    );

    let host: Host;
    let node = opts.node ?? opts.nodeName ?? env.CALICO_DIAG_NODE_NAME;
    let clock = deps.clock ?? systemClock;
    if (opts.from) {
      const b = await loadBundle(opts.from);
      if (!b.ok) throw new CliError(b.message);
      host = b.host;
      node ??= b.node;
      // a replayed snapshot is the node as it was when recorded: it keeps the recording's time
      const recordedAt = Date.parse(b.createdAt);
      if (!deps.clock && Number.isFinite(recordedAt)) clock = { now: () => recordedAt, monotonic: () => performance.now() };
    } else {
      host = deps.host ? deps.host() : realHost(execRunner);
    }
    node = (node ?? hostname()).trim().toLowerCase();
    if (node === '') throw new CliError('node name is empty');
    const recorder = opts.save ? recordingHost(host) : null;

    const snapshot = await takeSnapshot({
      host: recorder?.host ?? host,
      config: {
        timeoutMs,
        felixHealthUrl: opts.felixHealthUrl ?? env.CALICO_DIAG_FELIX_HEALTH_URL ?? DEFAULT_FELIX_HEALTH_URL,
        birdSocket: opts.birdSocket ?? env.CALICO_DIAG_BIRD_SOCKET ?? DEFAULT_BIRD_SOCKET,
      },
      node,
      clock,
      agentVersion: agentVersion(),
    });
    const local = runLocalChecks({ snapshot, previous: undefined, previousFindings: [], now: snapshot.takenAt });
    const { checks } = local;
    // the aggregator's root-cause pass over this node's findings alone (#18)
    const findings = explainFindings(local.findings);
    const result: SnapshotResult = { snapshot, checks, findings };

    if (recorder && opts.save) {
      try {
        await recorder.save(opts.save, { node, createdAt: snapshot.takenAt });
        await writeFile(join(opts.save, 'snapshot.json'), `${JSON.stringify(result, null, 2)}\n`);
      } catch (err) {
        throw new CliError(`cannot write bundle ${opts.save}: ${(err as Error).message}`);
      }
    }

    // Compact JSON: a node with 100k iptables rules gives a large document (~8 MB); pipe to jq to
    // read it. Written in pieces, never held whole (#17: the one-shot snapshot's peak RSS).
    if (format === 'json') writeCompactJson(result, io.stdout);
    else io.stdout(isStructured(format) ? renderStructured(format, result, { compact: true }) : renderSnapshot(result, { wide: format === 'wide', paint: painter(io.colour) }));
    if (recorder && opts.save && !isStructured(format)) io.stdout(`\nbundle saved to ${opts.save} (${recorder.entries().length} recorded reads)\n`);

    if (opts.failOn) {
      const min = opts.failOn;
      const hits = findings.filter((f) => atLeast(f.severity, min));
      if (hits.length > 0) throw new CliError(`${hits.length} finding(s) at severity ${opts.failOn} or worse`, 2);
    }
  });
};
