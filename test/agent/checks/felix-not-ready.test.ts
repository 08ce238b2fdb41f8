import { describe, expect, it } from 'vitest';
import { felixNotReady } from '../../../agent/checks/felix-not-ready.js';
import { healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('felix-not-ready', () => {
  it('is ok when both probes are ready', () => {
    expect(felixNotReady.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('not-ready readiness is critical', () => {
    const out = felixNotReady.run({ snapshot: vxlanWith('felix', (f) => { f.readiness = 'not-ready'; f.detail = 'HTTP 503'; }) });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings).toHaveLength(1);
    expect(out.findings[0]).toMatchObject({ severity: 'critical', subject: 'readiness', evidence: { seen: 'readiness: not-ready (HTTP 503)' } });
  });

  it('unreachable endpoint is a warning, per probe', () => {
    const out = felixNotReady.run({ snapshot: vxlanWith('felix', (f) => { f.readiness = 'unreachable'; f.liveness = 'unreachable'; }) });
    expect(out.status === 'finding' && out.findings.map((f) => [f.subject, f.severity])).toEqual([
      ['readiness', 'warning'],
      ['liveness', 'warning'],
    ]);
  });

  it('is unknown when the felix section is unavailable', () => {
    expect(felixNotReady.run({ snapshot: withUnavailable(healthyVxlanSections(), ['felix'], 'unreachable', 'ECONNREFUSED') })).toEqual({
      status: 'unknown',
      reason: 'felix: unreachable (ECONNREFUSED)',
    });
  });
});
