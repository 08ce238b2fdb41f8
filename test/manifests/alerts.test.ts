/**
 * Issue #6: the alert rules pass `promtool check rules`, and `promtool test rules` fires each
 * alert from synthetic series (test/manifests/alerts.promtool.yaml). promtool comes from Debian's
 * prometheus package, installed by .ci/run.
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
const spec = (parse(readFileSync(join(root, 'manifests/prometheusrule.yaml'), 'utf8')) as { spec: unknown }).spec;

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

  it('the unit tests fail when an alert expression is broken (they can fail)', () => {
    const broken = structuredClone(spec) as { groups: { rules: { expr: string }[] }[] };
    broken.groups[0]!.rules[0]!.expr = 'vector(0) > 1';
    writeRules(broken);
    copyFileSync(join(root, 'test/manifests/alerts.promtool.yaml'), join(work, 'alerts.promtool.yaml'));
    expect(promtool('test', 'rules', 'alerts.promtool.yaml').code).not.toBe(0);
  });
});
