import { describe, expect, it } from 'vitest';
import { conntrackNearFull } from '../../../agent/checks/conntrack-near-full.js';
import { healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('conntrack-near-full', () => {
  it('is ok below and at 90%', () => {
    expect(conntrackNearFull.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(conntrackNearFull.run({ snapshot: vxlanWith('sysctls', (s) => void (s.conntrack = { count: 900, max: 1000 })) })).toEqual({ status: 'ok' });
  });

  it('warns above 90% and is critical when full', () => {
    const near = conntrackNearFull.run({ snapshot: vxlanWith('sysctls', (s) => void (s.conntrack = { count: 950, max: 1000 })) });
    expect(near.status === 'finding' && near.findings[0]).toMatchObject({
      severity: 'warning',
      subject: 'nf_conntrack',
      evidence: { seen: 'nf_conntrack_count 950, nf_conntrack_max 1000 (95%)' },
    });
    const full = conntrackNearFull.run({ snapshot: vxlanWith('sysctls', (s) => void (s.conntrack = { count: 1000, max: 1000 })) });
    expect(full.status === 'finding' && full.findings[0]!.severity).toBe('critical');
  });

  it('is unknown when sysctls are unavailable or conntrack is not readable', () => {
    expect(conntrackNearFull.run({ snapshot: withUnavailable(healthyVxlanSections(), ['sysctls']) }).status).toBe('unknown');
    expect(conntrackNearFull.run({ snapshot: vxlanWith('sysctls', (s) => void (s.conntrack = null)) }).status).toBe('unknown');
  });
});
