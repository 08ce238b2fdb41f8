/**
 * Issue #6: the alert rules pass `promtool check rules`, and `promtool test rules` fires each
 * alert from synthetic series (test/manifests/alerts.promtool.yaml). Issue #13: the drops alert
 * stays quiet on policy denies, the aggregator-absent and series-overflow alerts are tested too.
 * Issue #19: the BGP session and route-form alerts fire on roots only and outlast a flapping session.
 * promtool comes from Debian's prometheus package, installed by scripts/setup.sh.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'calico-diag-promtool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const promtool = (...args: string[]) => {
  try {
    return { code: 0, out: execFileSync('promtool', args, { cwd: work, encoding: 'utf8', timeout: 60_000, stdio: 'pipe' }) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
};

const writeRules = (spec: unknown) => writeFileSync(join(work, 'rules.yaml'), stringify(spec));
const spec = (parse(readFileSync(join(root, 'manifests/components/monitoring/prometheusrule.yaml'), 'utf8')) as { spec: unknown }).spec;

describe('alert rules (promtool)', () => {
  it('promtool check rules accepts the PrometheusRule groups', () => {
    writeRules(spec);
    const r = promtool('check', 'rules', 'rules.yaml');
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('promtool test rules: each alert fires from synthetic series', () => {
    writeRules(spec);
    copyFileSync(join(root, 'test/manifests/alerts.promtool.yaml'), join(work, 'alerts.promtool.yaml'));
    const r = promtool('test', 'rules', 'alerts.promtool.yaml');
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  const withExpr = (alert: string, expr: string) => {
    const changed = structuredClone(spec) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const rule = changed.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
    if (!rule) throw new Error(`no alert ${alert}`);
    rule.expr = expr;
    return changed;
  };
  const alertNames = (spec as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));

  it.each(alertNames)('the unit tests fail when %s never fires (each alert is tested)', (alert) => {
    writeRules(withExpr(alert, 'vector(0) > 1'));
    copyFileSync(join(root, 'test/manifests/alerts.promtool.yaml'), join(work, 'alerts.promtool.yaml'));
    expect(promtool('test', 'rules', 'alerts.promtool.yaml').code).not.toBe(0);
  });

  it('the unit tests reject a drops alert on the raw counters, which fires on ordinary policy denies', () => {
    // #13: the former expression; node-b's counter rises from network policy drops alone
    writeRules(withExpr('CalicoIptablesDropsRising', 'delta(calico_diag_node_iptables_drop_packets[10m]) > 0'));
    copyFileSync(join(root, 'test/manifests/alerts.promtool.yaml'), join(work, 'alerts.promtool.yaml'));
    const r = promtool('test', 'rules', 'alerts.promtool.yaml');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('node-b');
  });

  it.each([
    ['CalicoBgpSessionDown', 'bgp-session-down'],
    ['CalicoRouteWrongForm', 'route-wrong-form'],
  ])('the unit tests reject %s firing on findings another finding explains', (alert, rule) => {
    // #18/#19: alerts fire on roots; a BGP session or route form explained by agent-stale must not page
    writeRules(withExpr(alert, `max by (node, peer, severity) (calico_diag_finding_active{rule="${rule}"}) > 0`));
    copyFileSync(join(root, 'test/manifests/alerts.promtool.yaml'), join(work, 'alerts.promtool.yaml'));
    const r = promtool('test', 'rules', 'alerts.promtool.yaml');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('node-l');
  });

  it('the unit tests reject a BGP session alert that pages on a flapping session', () => {
    // #19: a session down 3 minutes at a time (a calico-node restart, BIRD reconnecting) stays quiet
    const changed = structuredClone(spec) as { groups: { rules: { alert: string; for?: string }[] }[] };
    changed.groups.flatMap((g) => g.rules).find((r) => r.alert === 'CalicoBgpSessionDown')!.for = '2m';
    writeRules(changed);
    copyFileSync(join(root, 'test/manifests/alerts.promtool.yaml'), join(work, 'alerts.promtool.yaml'));
    const r = promtool('test', 'rules', 'alerts.promtool.yaml');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('time: 14m');
  });

  it('the unit tests reject an aggregator-absent alert that agents alone satisfy', () => {
    writeRules(withExpr('CalicoDiagAggregatorAbsent', 'absent(up{job=~"calico-diag.*"} == 1)'));
    copyFileSync(join(root, 'test/manifests/alerts.promtool.yaml'), join(work, 'alerts.promtool.yaml'));
    expect(promtool('test', 'rules', 'alerts.promtool.yaml').code).not.toBe(0);
  });
});
