import { describe, expect, it } from 'vitest';
import { interfaceErrors } from '../../../agent/checks/interface-errors.js';
import { healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('interface-errors', () => {
  it('is ok without a previous snapshot and with unchanged counters', () => {
    expect(interfaceErrors.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(interfaceErrors.run({ snapshot: healthyVxlanSnapshot(), previous: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds rising rx errors on vxlan.calico and tx errors on the uplink', () => {
    const now = vxlanWith('links', (ls) => {
      ls.find((l) => l.name === 'vxlan.calico')!.stats!.rxErrors = 12;
      ls.find((l) => l.name === 'enp2s0')!.stats!.txErrors = 3;
    });
    const out = interfaceErrors.run({ snapshot: now, previous: healthyVxlanSnapshot() });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings.map((f) => [f.subject, f.evidence.details['rxErrorsDelta'], f.evidence.details['txErrorsDelta']])).toEqual([
      ['vxlan.calico', 12, 0],
      ['enp2s0', 0, 3],
    ]);
  });

  it('is ok when counters went down or the device was recreated (new ifindex)', () => {
    const prev = vxlanWith('links', (ls) => void (ls.find((l) => l.name === 'vxlan.calico')!.stats!.rxErrors = 50));
    expect(interfaceErrors.run({ snapshot: healthyVxlanSnapshot(), previous: prev })).toEqual({ status: 'ok' });
    const recreated = vxlanWith('links', (ls) => {
      const v = ls.find((l) => l.name === 'vxlan.calico')!;
      v.ifindex = 40;
      v.stats!.rxErrors = 9;
    });
    expect(interfaceErrors.run({ snapshot: recreated, previous: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('is unknown without links', () => {
    expect(interfaceErrors.run({ snapshot: withUnavailable(healthyVxlanSections(), ['links']), previous: healthyVxlanSnapshot() }).status).toBe('unknown');
  });
});
