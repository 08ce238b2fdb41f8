import { describe, expect, it } from 'vitest';
import { rpFilterStrict } from '../../../agent/checks/rp-filter-strict.js';
import { healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('rp-filter-strict', () => {
  it('is ok with loose (2) and off (0) values', () => {
    expect(rpFilterStrict.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(rpFilterStrict.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('uses max(all, device): all=1 with tunl0=0 is strict on every watched device (the recorded IPIP node ubuntu-3)', () => {
    const snap = healthyIpipSnapshot();
    const sys = snap.sections.sysctls;
    if (sys.status !== 'ok') throw new Error('fixture');
    sys.data.interfaces.find((i) => i.scope === 'all')!.rpFilter = 1;
    sys.data.interfaces.find((i) => i.scope === 'ens3')!.rpFilter = 1;
    const out = rpFilterStrict.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings.map((f) => f.subject)).toEqual(['tunl0', 'ens3']);
    expect(out.findings[0]!.evidence.details).toMatchObject({ all: 1, device_value: 0, effective: 1 });
  });

  it('does not flag all=2 with a device at 1 (max is 2, loose)', () => {
    const snap = vxlanWith('sysctls', (s) => {
      s.interfaces.find((i) => i.scope === 'all')!.rpFilter = 2;
      s.interfaces.find((i) => i.scope === 'vxlan.calico')!.rpFilter = 1;
    });
    expect(rpFilterStrict.run({ snapshot: snap })).toEqual({ status: 'ok' });
  });

  it('flags a device at 1 when all is 0', () => {
    const snap = vxlanWith('sysctls', (s) => void (s.interfaces.find((i) => i.scope === 'vxlan.calico')!.rpFilter = 1));
    const out = rpFilterStrict.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings.map((f) => f.subject)).toEqual(['vxlan.calico']);
  });

  it('is unknown when sysctls are unavailable or no value is readable', () => {
    expect(rpFilterStrict.run({ snapshot: withUnavailable(healthyVxlanSections(), ['sysctls']) }).status).toBe('unknown');
    expect(rpFilterStrict.run({ snapshot: withUnavailable(healthyVxlanSections(), ['links']) })).toEqual({ status: 'unknown', reason: 'links: timeout (took too long)' });
    expect(rpFilterStrict.run({ snapshot: vxlanWith('sysctls', (s) => void (s.interfaces = [])) }).status).toBe('unknown');
  });
});
