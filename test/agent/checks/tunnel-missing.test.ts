import { describe, expect, it } from 'vitest';
import { tunnelMissing } from '../../../agent/checks/tunnel-missing.js';
import { editSection, healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, snapshotOf, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('tunnel-missing', () => {
  it('is ok on healthy VXLAN and IPIP nodes', () => {
    expect(tunnelMissing.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(tunnelMissing.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds vxlan.calico missing while routes, neighbours, FDB entries and the Felix VXLAN rule still refer to it', () => {
    const snap = vxlanWith('links', (ls) => ls.filter((l) => l.name !== 'vxlan.calico'));
    const out = tunnelMissing.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings).toHaveLength(1);
    const f = out.findings[0]!;
    expect(f).toMatchObject({ rule: 'tunnel-missing', severity: 'critical', node: 'worker-1', subject: 'vxlan.calico' });
    expect(f.evidence.seen).toContain('1 route(s) via vxlan.calico');
    expect(f.evidence.seen).toContain('neighbour');
    expect(f.evidence.seen).toContain('FDB');
    expect(f.evidence.seen).toContain('Drop IPv4 VXLAN packets from non-Calico hosts');
    expect(f.remedy).toContain('ip -d link show vxlan.calico');
  });

  it('finds tunl0 missing when snapshot mode says ipip (mode from another source)', () => {
    const snap = healthyIpipSnapshot();
    const sections = editSection(snap.sections, 'links', (ls) => ls.filter((l) => l.name !== 'tunl0'));
    const out = tunnelMissing.run({ snapshot: { ...snapshotOf(sections), mode: snap.mode } });
    expect(out.status).toBe('finding');
    if (out.status === 'finding') expect(out.findings.map((f) => f.subject)).toEqual(['tunl0']);
  });

  it('is unknown when links or routes are unavailable', () => {
    const out = tunnelMissing.run({ snapshot: withUnavailable(healthyVxlanSections(), ['links'], 'missing-binary', 'ip not found') });
    expect(out).toEqual({ status: 'unknown', reason: 'links: missing-binary (ip not found)' });
    expect(tunnelMissing.run({ snapshot: withUnavailable(healthyVxlanSections(), ['routes']) }).status).toBe('unknown');
  });
});
