import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { meshSnapshot, toReport } from '../../bench/aggregator-mesh.js';
import type { Finding } from '../../contract/finding.js';
import { Report } from '../../contract/report.js';
import { createAggregatorMetrics, forgetNode, recordFindings, recordNodeReport, recordNodeStates } from '../../aggregator/metrics.js';
import { ReportStore } from '../../aggregator/cluster/store.js';

const finding = (node: string, peer: string, severity: Finding['severity'], rule = 'vxlan-fdb-mismatch'): Finding => ({
  id: `${rule}/${node}/${peer}/`,
  rule,
  severity,
  node,
  peer,
  summary: 's',
  evidence: { seen: 'a', expected: 'b', details: {} },
  remedy: 'r',
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-01T00:00:00.000Z',
});

describe('aggregator/metrics', () => {
  it('exports finding totals exactly and caps the per-finding series, criticals first', async () => {
    const registry = new Registry();
    const m = createAggregatorMetrics(registry, { maxActiveSeries: 3 });
    const findings = [
      finding('a', 'b', 'warning'),
      finding('a', 'c', 'warning'),
      finding('b', 'a', 'critical'),
      finding('c', 'a', 'critical'),
      finding('d', 'a', 'info'),
    ];
    recordFindings(m, findings, ['route-missing']);
    const text = await registry.metrics();
    expect(text).toMatch(/calico_diag_findings\{rule="vxlan-fdb-mismatch",severity="warning"} 2/);
    expect(text).toMatch(/calico_diag_findings\{rule="vxlan-fdb-mismatch",severity="critical"} 2/);
    expect(text).toMatch(/calico_diag_findings\{rule="vxlan-fdb-mismatch",severity="info"} 1/);
    expect(text).toMatch(/calico_diag_findings\{rule="route-missing",severity="critical"} 0/);
    const active = text.split('\n').filter((l) => l.startsWith('calico_diag_finding_active{'));
    expect(active).toHaveLength(3);
    expect(active.filter((l) => l.includes('severity="critical"'))).toHaveLength(2);
    expect(active.some((l) => l.includes('severity="info"'))).toBe(false);
    expect(text).toMatch(/calico_diag_finding_active_dropped 1/);
    // a later pass replaces the series: fixed findings disappear
    recordFindings(m, [finding('a', 'b', 'warning')]);
    const after = await registry.metrics();
    expect(after.split('\n').filter((l) => l.startsWith('calico_diag_finding_active{'))).toHaveLength(1);
    expect(after).not.toMatch(/severity="critical"/);
  });

  it('with a cap of 0 exports no per-finding series and counts every critical/warning finding as dropped', async () => {
    const registry = new Registry();
    const m = createAggregatorMetrics(registry, { maxActiveSeries: 0 });
    recordFindings(m, [finding('a', 'b', 'critical'), finding('b', 'c', 'warning'), finding('c', 'a', 'info')]);
    const text = await registry.metrics();
    expect(text.split('\n').filter((l) => l.startsWith('calico_diag_finding_active{'))).toEqual([]);
    expect(text).toMatch(/^calico_diag_finding_active_dropped 2$/m);
    expect(text).toMatch(/calico_diag_findings\{rule="vxlan-fdb-mismatch",severity="critical"} 1/);
    // back under the cap: the overflow count returns to 0
    m.maxActiveSeries = 5;
    recordFindings(m, [finding('a', 'b', 'critical')]);
    expect(await registry.metrics()).toMatch(/^calico_diag_finding_active_dropped 0$/m);
  });

  it("reads a node's drop counters and tunnel errors from its report", async () => {
    const registry = new Registry();
    const m = createAggregatorMetrics(registry);
    const store = new ReportStore();
    store.ingest(Report.parse(toReport(meshSnapshot(1, 3, 10), { agentId: 'agent-aaaaaaaa', seq: 1 })), '2026-01-01T00:00:00.000Z');
    const report = store.get('node-00001')!.report;
    recordNodeReport(m, report, Date.parse('2026-01-01T00:00:00.000Z'));
    const text = await registry.metrics();
    // drop rules of round 10: 10 % 7 + 10 * 2 + 10
    expect(text).toMatch(/calico_diag_node_iptables_drop_packets\{node="node-00001"} 33/);
    // vxlan.calico stats of round 10, node 1: seed 51 → rxDropped 51 % 3 = 0, errors 0
    expect(text).toMatch(/calico_diag_node_interface_errors\{node="node-00001",kind="errors"} 0/);
    expect(text).toMatch(/calico_diag_node_interface_errors\{node="node-00001",kind="dropped"} 0/);
    expect(text).toMatch(/calico_diag_node_last_report_timestamp_seconds\{node="node-00001"} 1767225600/);
    forgetNode(m, 'node-00001');
    expect(await registry.metrics()).not.toMatch(/node="node-00001"/);
  });

  it('counts tunnel drops and leaves out non-tunnel devices', async () => {
    const registry = new Registry();
    const m = createAggregatorMetrics(registry);
    const snap = meshSnapshot(0, 3, 1);
    const links = snap.sections.links.status === 'ok' ? snap.sections.links.data : [];
    const vx = links.find((l) => l.name === 'vxlan.calico')!;
    vx.stats = { ...vx.stats!, rxErrors: 4, txErrors: 1, rxDropped: 7, txDropped: 2 };
    links.find((l) => l.name === 'eth0')!.stats!.rxErrors = 1000;
    const store = new ReportStore();
    store.ingest(Report.parse(toReport(snap, { agentId: 'agent-aaaaaaaa', seq: 1 })), '2026-01-01T00:00:00.000Z');
    recordNodeReport(m, store.get('node-00000')!.report, 0);
    const text = await registry.metrics();
    expect(text).toMatch(/kind="errors"} 5/);
    expect(text).toMatch(/kind="dropped"} 9/);
  });

  it('exports node states and every report outcome from the start', async () => {
    const registry = new Registry();
    const m = createAggregatorMetrics(registry);
    recordNodeStates(m, { reporting: 4, stale: 1, expected: null });
    const text = await registry.metrics();
    expect(text).toMatch(/calico_diag_nodes\{state="reporting"} 4/);
    expect(text).toMatch(/calico_diag_nodes\{state="stale"} 1/);
    expect(text).not.toMatch(/state="expected"/);
    for (const o of ['accepted', 'stale', 'sections_required', 'invalid', 'unauthorized', 'too_large']) expect(text).toContain(`calico_diag_reports_total{outcome="${o}"} 0`);
    m.diagnosesTotal.inc({ verdict: 'path-ok' });
    expect(await registry.metrics()).toMatch(/calico_diag_diagnoses_total\{verdict="path-ok"} 1/);
  });
});
