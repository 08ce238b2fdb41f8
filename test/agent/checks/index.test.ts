import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Finding, RuleId } from '../../../contract/finding.js';
import { localChecks, runLocalChecks } from '../../../agent/checks/index.js';
import type { LocalCheck } from '../../../agent/checks/types.js';
import { editSection, healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, neigh, snapshotOf, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

const NOW = '2026-11-21T15:00:00.000Z';
const LATER = '2026-11-21T15:00:30.000Z';

// issue #2
describe('local check registry', () => {
  it('has unique kebab-case rule ids, one source file per rule', () => {
    const ids = localChecks.map((c) => c.rule);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(RuleId.safeParse(id).success).toBe(true);
    const dir = fileURLToPath(new URL('../../../agent/checks/', import.meta.url));
    const ruleFiles = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !['index.ts', 'types.ts', 'helpers.ts'].includes(f))
      .map((f) => f.slice(0, -3))
      .sort();
    expect(ruleFiles).toEqual([...ids].sort());
  });

  // the ids named in issue #2
  it('keeps the stable rule ids users alert and filter on', () => {
    const ids = localChecks.map((c) => c.rule);
    for (const id of [
      'tunnel-missing', 'tunnel-down', 'tunnel-mtu', 'tunnel-ip-outside-block', 'ip-forward-disabled', 'rp-filter-strict',
      'route-not-onlink', 'route-wrong-device', 'vxlan-neighbor-not-permanent', 'vxlan-fdb-missing', 'underlay-neighbor-failed',
      'iptables-drops-rising', 'conntrack-near-full', 'felix-not-ready', 'bgp-peer-down',
    ])
      expect(ids).toContain(id);
  });

  it('healthy VXLAN node without BIRD: every check ok, no findings', () => {
    const r = runLocalChecks({ snapshot: healthyVxlanSnapshot(), previous: healthyVxlanSnapshot(), now: NOW });
    expect(r.findings).toEqual([]);
    expect(r.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(r.checks).toHaveLength(localChecks.length);
  });

  it('healthy IPIP node: all ok, no findings', () => {
    const r = runLocalChecks({ snapshot: healthyIpipSnapshot(), previous: healthyIpipSnapshot(), now: NOW });
    expect(r.findings).toEqual([]);
    expect(r.checks.every((c) => c.status === 'ok')).toBe(true);
  });

  it('every section unavailable: every check unknown (never ok), nothing thrown', () => {
    const all = ['links', 'addresses', 'routes', 'neighbours', 'fdb', 'sysctls', 'iptables', 'ipsets', 'felix', 'bgp'] as const;
    const snap = withUnavailable(healthyVxlanSections(), [...all]);
    const r = runLocalChecks({ snapshot: snap, previous: snap, now: NOW });
    expect(r.checks.filter((c) => c.status !== 'unknown')).toEqual([]);
    for (const c of r.checks) expect(c.reason).toMatch(/: timeout/);
  });

  it('stamps findings with ids and keeps firstSeen across passes', () => {
    const broken = vxlanWith('fdb', () => []);
    const first = runLocalChecks({ snapshot: broken, now: NOW });
    expect(first.findings).toHaveLength(1);
    expect(first.findings[0]).toMatchObject({ id: 'vxlan-fdb-missing/worker-1//vxlan.calico/172.17.2.0', firstSeen: NOW, lastSeen: NOW });
    expect(first.checks.find((c) => c.rule === 'vxlan-fdb-missing')).toEqual({ rule: 'vxlan-fdb-missing', status: 'finding' });
    const second = runLocalChecks({ snapshot: broken, previousFindings: first.findings, now: LATER });
    expect(second.findings[0]).toMatchObject({ firstSeen: NOW, lastSeen: LATER });
  });

  it('reports a check that throws as unknown without stopping the others', () => {
    const boom: LocalCheck = { rule: 'boom-check', description: 'throws', run: () => { throw new Error('bug'); } };
    const r = runLocalChecks({ snapshot: healthyVxlanSnapshot(), now: NOW }, [boom, localChecks[0]!]);
    expect(r.checks).toEqual([{ rule: 'boom-check', status: 'unknown', reason: 'check failed: bug' }, { rule: localChecks[0]!.rule, status: 'ok' }]);
  });

  it('many faults at once: every finding is a valid contract Finding with a unique id and a remedy', () => {
    let s = healthyVxlanSections();
    s = editSection(s, 'links', (ls) => {
      const v = ls.find((l) => l.name === 'vxlan.calico')!;
      v.mtu = 1500;
      v.operstate = 'DOWN';
      v.vxlan!.learning = true;
      v.vxlan!.id = 1;
    });
    s = editSection(s, 'routes', (rs) => void (rs.find((r) => r.dst === '172.17.2.0/26')!.flags = []));
    s = editSection(s, 'neighbours', (ns) => {
      ns.push(neigh('172.17.3.0', 'vxlan.calico', '66:aa:bb:cc:dd:ee', ['STALE']));
      ns.find((n) => n.dst === '10.0.0.11')!.state = ['FAILED'];
    });
    s = editSection(s, 'sysctls', (x) => {
      x.ipv4Forward = 0;
      x.interfaces.find((i) => i.scope === 'all')!.rpFilter = 1;
      x.interfaces.find((i) => i.scope === 'vxlan.calico')!.rpFilter = 0; // max(all 1, dev 0) = strict
      x.workloadDevices.proxyArpOff = ['cali90b386908a6'];
      x.conntrack = { count: 262144, max: 262144 };
    });
    s = editSection(s, 'felix', (f) => void (f.readiness = 'not-ready'));
    s = editSection(s, 'ipsets', () => ({ hostSets: [], caliSetSizes: {} }));
    const r = runLocalChecks({ snapshot: snapshotOf(s), previous: healthyVxlanSnapshot(), now: NOW });
    const rules = new Set(r.findings.map((f) => f.rule));
    for (const rule of ['tunnel-down', 'tunnel-mtu', 'vxlan-learning-on', 'vxlan-vni-nondefault', 'route-not-onlink', 'vxlan-neighbor-not-permanent', 'vxlan-fdb-missing', 'underlay-neighbor-failed', 'ip-forward-disabled', 'rp-filter-strict', 'workload-proxy-arp-off', 'conntrack-near-full', 'felix-not-ready', 'ipset-all-hosts-missing'])
      expect(rules).toContain(rule);
    for (const f of r.findings) {
      expect(Finding.parse(f)).toEqual(f);
      expect(f.remedy.length).toBeGreaterThan(40);
      expect(f.summary).not.toContain('\n');
    }
    expect(new Set(r.findings.map((f) => f.id)).size).toBe(r.findings.length);
  });
});
