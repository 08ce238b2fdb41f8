/**
 * The aggregator's Prometheus metrics, registered on a registry passed in (no global registry).
 *
 * Labels come from small fixed sets (rule, severity, outcome, state, kind) plus `node`, which is
 * bounded by the cluster size. The one exception is `calico_diag_finding_active`, which carries
 * `node` and `peer`: alert rules need them in their description ("vxlan-fdb-mismatch on node-a
 * about node-b"), and Alertmanager can only route and group on labels. Its series count is capped
 * (`maxActiveSeries`: --max-finding-series, default 1000): only critical/warning findings are exported, criticals
 * first, and `calico_diag_finding_active_dropped` says how many did not fit. A broken cluster
 * with 5000 nodes can produce N² per-peer findings; the cap keeps Prometheus alive while the
 * `calico_diag_findings{rule,severity}` totals stay exact. Its `root` label is "true" for a root
 * finding and "false" for one another finding explains (causes.ts): alerts fire on roots only, and
 * the cap keeps roots first (one value per finding, so the label adds no series).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { safeLabel } from '../common/metrics.js';
import { bySeverity, Severity, type Finding } from '../contract/finding.js';
import type { ResolvedReport } from './cluster/node-state.js';

export const REPORT_OUTCOMES = ['accepted', 'stale', 'sections_required', 'invalid', 'unauthorized', 'too_large'] as const;
export type ReportOutcome = (typeof REPORT_OUTCOMES)[number];
/** How a report's section arrived: with its data, as an entry-level delta, in chunks (issue #17), or as its hash only. */
export const SECTION_FORMS = ['full', 'delta', 'chunked', 'unchanged'] as const;
export type SectionForm = (typeof SECTION_FORMS)[number];
export const NODE_STATES = ['reporting', 'stale', 'expected'] as const;

export interface AggregatorMetrics {
  findings: Gauge<'rule' | 'severity'>;
  findingActive: Gauge<'rule' | 'severity' | 'node' | 'peer' | 'root'>;
  findingActiveDropped: Gauge;
  nodeLastReport: Gauge<'node'>;
  nodes: Gauge<'state'>;
  reportsTotal: Counter<'outcome'>;
  reportBytes: Histogram;
  reportSections: Counter<'form'>;
  ingestDuration: Histogram;
  correlationDuration: Histogram;
  nodeIptablesDrops: Gauge<'node'>;
  nodeInterfaceErrors: Gauge<'node' | 'kind'>;
  /** incremented by the diagnose routes (aggregator/http/diagnose.ts) */
  diagnosesTotal: Counter<'verdict'>;
  maxActiveSeries: number;
}

export const createAggregatorMetrics = (registry: Registry, opts: { maxActiveSeries?: number } = {}): AggregatorMetrics => {
  const registers = [registry];
  const reportsTotal = new Counter({
    name: 'calico_diag_reports_total',
    help: 'Reports received, by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const o of REPORT_OUTCOMES) reportsTotal.inc({ outcome: o }, 0);
  const reportSections = new Counter({
    name: 'calico_diag_report_sections_total',
    help: 'Sections of valid received reports, by form: full (with data), delta (entry-level splices), chunked (content-defined chunks), unchanged (hash only)',
    labelNames: ['form'] as const,
    registers,
  });
  for (const f of SECTION_FORMS) reportSections.inc({ form: f }, 0);
  const nodes = new Gauge({ name: 'calico_diag_nodes', help: 'Nodes by state: reporting, stale (no report for stale-intervals), expected (in the datastore)', labelNames: ['state'] as const, registers });
  for (const s of NODE_STATES) nodes.set({ state: s }, 0);
  return {
    findings: new Gauge({ name: 'calico_diag_findings', help: 'Active findings by rule and severity', labelNames: ['rule', 'severity'] as const, registers }),
    findingActive: new Gauge({
      name: 'calico_diag_finding_active',
      help: 'One series (value 1) per active critical/warning finding, capped, roots first; node and peer are for alert descriptions; root="false" when another finding explains it',
      labelNames: ['rule', 'severity', 'node', 'peer', 'root'] as const,
      registers,
    }),
    findingActiveDropped: new Gauge({ name: 'calico_diag_finding_active_dropped', help: 'Active critical/warning findings not exported as calico_diag_finding_active because of the series cap', registers }),
    nodeLastReport: new Gauge({ name: 'calico_diag_node_last_report_timestamp_seconds', help: 'Unix time of the last accepted report per node', labelNames: ['node'] as const, registers }),
    nodes,
    reportsTotal,
    reportBytes: new Histogram({
      name: 'calico_diag_report_bytes',
      help: 'Size of received report bodies',
      buckets: [512, 2048, 8192, 32768, 131072, 524288, 2097152, 8388608, 33554432],
      registers,
    }),
    reportSections,
    ingestDuration: new Histogram({
      name: 'calico_diag_report_ingest_duration_seconds',
      help: 'Time to check and store one report (after parsing)',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    correlationDuration: new Histogram({
      name: 'calico_diag_correlation_duration_seconds',
      help: 'Duration of one correlation pass over all nodes',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    nodeIptablesDrops: new Gauge({
      name: 'calico_diag_node_iptables_drop_packets',
      help: "Sum of the packet counters of the node's DROP/REJECT rules (use rate() for drops rising)",
      labelNames: ['node'] as const,
      registers,
    }),
    nodeInterfaceErrors: new Gauge({
      name: 'calico_diag_node_interface_errors',
      help: "Errors and drops on the node's tunnel devices (rx+tx), by kind: errors or dropped",
      labelNames: ['node', 'kind'] as const,
      registers,
    }),
    diagnosesTotal: new Counter({ name: 'calico_diag_diagnoses_total', help: 'Two-node diagnoses run, by verdict', labelNames: ['verdict'] as const, registers }),
    maxActiveSeries: opts.maxActiveSeries ?? 1000,
  };
};

const TUNNEL_KINDS = new Set(['vxlan', 'ipip', 'wireguard']);

/** Per-node gauges read from one accepted report. */
export const recordNodeReport = (m: AggregatorMetrics, report: ResolvedReport, receivedAtMs: number): void => {
  const node = report.node;
  m.nodeLastReport.set({ node }, receivedAtMs / 1000);
  const ipt = report.sections.iptables;
  if (ipt.status === 'ok') {
    let drops = 0;
    for (const r of ipt.data.dropRules) drops += r.packets;
    m.nodeIptablesDrops.set({ node }, drops);
  } else {
    m.nodeIptablesDrops.remove({ node });
  }
  const links = report.sections.links;
  if (links.status === 'ok') {
    let errors = 0;
    let dropped = 0;
    for (const l of links.data) {
      const isTunnel = (l.kind !== null && TUNNEL_KINDS.has(l.kind)) || report.identity.tunnels.some((t) => t.device === l.name);
      if (!isTunnel || !l.stats) continue;
      errors += l.stats.rxErrors + l.stats.txErrors;
      dropped += l.stats.rxDropped + l.stats.txDropped;
    }
    m.nodeInterfaceErrors.set({ node, kind: 'errors' }, errors);
    m.nodeInterfaceErrors.set({ node, kind: 'dropped' }, dropped);
  } else {
    m.nodeInterfaceErrors.remove({ node, kind: 'errors' });
    m.nodeInterfaceErrors.remove({ node, kind: 'dropped' });
  }
};

export const forgetNode = (m: AggregatorMetrics, node: string): void => {
  m.nodeLastReport.remove({ node });
  m.nodeIptablesDrops.remove({ node });
  m.nodeInterfaceErrors.remove({ node, kind: 'errors' });
  m.nodeInterfaceErrors.remove({ node, kind: 'dropped' });
};

/** Replace the finding gauges with the findings of the latest pass. */
export const recordFindings = (m: AggregatorMetrics, findings: readonly Finding[], ruleIds: readonly string[] = []): void => {
  const counts = new Map<string, number>();
  for (const rule of ruleIds) for (const severity of Severity.options) counts.set(`${rule}\u0000${severity}`, 0);
  for (const f of findings) {
    const k = `${f.rule}\u0000${f.severity}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  m.findings.reset();
  for (const [k, n] of counts) {
    const [rule, severity] = k.split('\u0000') as [string, string];
    m.findings.set({ rule: safeLabel(rule), severity }, n);
  }
  const isRoot = (f: Finding): number => (f.explainedBy === undefined ? 0 : 1);
  const active = findings.filter((f) => f.severity !== 'info').sort((a, b) => isRoot(a) - isRoot(b) || bySeverity(a, b) || a.id.localeCompare(b.id));
  m.findingActive.reset();
  const exported = active.slice(0, m.maxActiveSeries);
  for (const f of exported) m.findingActive.set({ rule: safeLabel(f.rule), severity: f.severity, node: safeLabel(f.node), peer: safeLabel(f.peer ?? ''), root: String(f.explainedBy === undefined) }, 1);
  m.findingActiveDropped.set(active.length - exported.length);
};

export const recordNodeStates = (m: AggregatorMetrics, counts: { reporting: number; stale: number; expected: number | null }): void => {
  m.nodes.set({ state: 'reporting' }, counts.reporting);
  m.nodes.set({ state: 'stale' }, counts.stale);
  if (counts.expected === null) m.nodes.remove({ state: 'expected' });
  else m.nodes.set({ state: 'expected' }, counts.expected);
};
