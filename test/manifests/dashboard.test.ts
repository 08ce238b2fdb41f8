/**
 * Issue #13: the Grafana dashboard has node and severity variables, stat panels for the current
 * state, and a unit and a description on every panel; its PromQL is valid (promtool) and names only
 * metrics the agent and the aggregator export. test/lab/prometheus.test.ts evaluates every expression
 * against a real Prometheus scraping the lab.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createAgentMetrics } from '../../agent/metrics.js';
import { createAggregatorMetrics } from '../../aggregator/metrics.js';
import { dashboardExprs, expandVariables, readDashboard, variableQuery } from '../helpers/dashboard.js';

const dashboard = readDashboard();
const exprs = dashboardExprs(dashboard);

const work = mkdtempSync(join(tmpdir(), 'calico-diag-dashboard-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Metric names (with histogram series suffixes) the agent and the aggregator register. */
const exported = (() => {
  const r = new Registry();
  createAgentMetrics(r, { defaultMetrics: false });
  createAggregatorMetrics(r);
  return new Set(
    r.getMetricsAsArray().flatMap((m) => {
      const type = (m as unknown as { type: string }).type;
      return type === 'histogram' ? [m.name, `${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name];
    }),
  );
})();
const METRICS_WITH_NODE = ['calico_diag_finding_active', 'calico_diag_node_last_report_timestamp_seconds', 'calico_diag_node_iptables_drop_packets', 'calico_diag_node_interface_errors'];
const isAgentMetric = (name: string) => name.startsWith('calico_diag_agent_');

describe('Grafana dashboard', () => {
  it('has multi-value node and severity variables read with label_values from calico-diag metrics', () => {
    for (const name of ['node', 'severity']) {
      const v = dashboard.templating.list.find((x) => x.name === name);
      expect(v, `variable ${name}`).toBeDefined();
      expect(v).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*' });
      const q = variableQuery(v!);
      const m = /^label_values\((calico_diag_\w+), (\w+)\)$/.exec(q ?? '');
      expect(m, `${name} query ${q}`).not.toBeNull();
      expect(m![2]).toBe(name);
      expect(exported.has(m![1]!), `${m![1]} is exported`).toBe(true);
    }
  });

  it('every panel has a description and a unit', () => {
    const missing = dashboard.panels.filter((p) => !(p.description ?? '').trim() || !(p.fieldConfig?.defaults?.unit ?? '').trim()).map((p) => p.title);
    expect(missing).toEqual([]);
  });

  it('stat panels show the current state: critical and warning findings, nodes reporting, stale agents', () => {
    const stats = dashboard.panels.filter((p) => p.type === 'stat').flatMap((p) => p.targets.map((t) => t.expr.replace(/\s+/g, '')));
    for (const want of [
      'sum(calico_diag_findings{severity="critical"})',
      'sum(calico_diag_findings{severity="warning"})',
      'sum(calico_diag_nodes{state="reporting"})',
      'sum(calico_diag_nodes{state="stale"})',
    ]) expect(stats).toContain(want);
    // stat panels sit in the first row, above everything else
    const top = Math.min(...dashboard.panels.map((p) => p.gridPos.y));
    for (const p of dashboard.panels.filter((x) => x.type === 'stat')) expect(p.gridPos.y).toBe(top);
  });

  it('panels on per-node metrics follow the node variable, panels on findings the severity variable', () => {
    for (const { panel, expr } of exprs) {
      const names: string[] = expr.match(/\bcalico_diag_\w+/g) ?? [];
      if (names.some((n) => METRICS_WITH_NODE.includes(n) || isAgentMetric(n))) expect(expr, panel).toMatch(/node=~"\$node"/);
      if (names.includes('calico_diag_finding_active') || names.includes('calico_diag_findings')) expect(expr, panel).toMatch(/severity=~"\$severity"|severity="(critical|warning)"/);
    }
  });

  it('names only metrics the agent and the aggregator export', () => {
    const unknown = exprs.flatMap(({ expr }) => (expr.match(/\bcalico_diag_\w+/g) ?? []).filter((n) => !exported.has(n)));
    expect(unknown).toEqual([]);
    // the check can fail
    expect(exported.has('calico_diag_node_iptables_drop_packets_total')).toBe(false);
  });

  it('every expression is valid PromQL (promtool check rules), with the variables at their All value', () => {
    const rules = { groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `calico_diag:dashboard_${i}`, expr: expandVariables(e.expr) })) }] };
    writeFileSync(join(work, 'rules.yaml'), stringify(rules));
    const ok = execFileSync('promtool', ['check', 'rules', 'rules.yaml'], { cwd: work, encoding: 'utf8', timeout: 60_000 });
    expect(ok).toContain('SUCCESS');
    writeFileSync(join(work, 'bad.yaml'), stringify({ groups: [{ name: 'bad', rules: [{ record: 'x:y', expr: 'sum by (node (calico_diag_nodes)' }] }] }));
    expect(() => execFileSync('promtool', ['check', 'rules', 'bad.yaml'], { cwd: work, stdio: 'pipe', timeout: 60_000 })).toThrow();
  });

  it('panels have unique ids and do not overlap', () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });
});
