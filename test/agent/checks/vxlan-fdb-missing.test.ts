import { describe, expect, it } from 'vitest';
import { vxlanFdbMissing } from '../../../agent/checks/vxlan-fdb-missing.js';
import { fdbEntry, healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('vxlan-fdb-missing', () => {
  it('is ok when every VXLAN neighbour MAC has an FDB entry (case-insensitive)', () => {
    expect(vxlanFdbMissing.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    const upper = vxlanWith('fdb', () => [fdbEntry('66:B9:7E:86:1E:53', 'vxlan.calico', '10.0.0.11')]);
    expect(vxlanFdbMissing.run({ snapshot: upper })).toEqual({ status: 'ok' });
  });

  it('finds a neighbour whose MAC has no FDB entry', () => {
    const out = vxlanFdbMissing.run({ snapshot: vxlanWith('fdb', () => []) });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings[0]).toMatchObject({
      severity: 'critical',
      subject: 'vxlan.calico/172.17.2.0',
      evidence: { seen: 'neighbour 172.17.2.0 lladdr 66:b9:7e:86:1e:53 on vxlan.calico; no FDB entry for 66:b9:7e:86:1e:53' },
    });
  });

  it('finds an FDB entry on another device, or without dst, as missing', () => {
    expect(vxlanFdbMissing.run({ snapshot: vxlanWith('fdb', () => [fdbEntry('66:b9:7e:86:1e:53', 'flannel.1', '10.0.0.11')]) }).status).toBe('finding');
    const noDst = vxlanFdbMissing.run({ snapshot: vxlanWith('fdb', () => [fdbEntry('66:b9:7e:86:1e:53', 'vxlan.calico', null)]) });
    expect(noDst.status === 'finding' && noDst.findings[0]!.evidence.seen).toContain('without dst');
  });

  it('is unknown when fdb is unavailable (e.g. bridge missing)', () => {
    expect(vxlanFdbMissing.run({ snapshot: withUnavailable(healthyVxlanSections(), ['fdb'], 'missing-binary', 'bridge: not found') })).toEqual({
      status: 'unknown',
      reason: 'fdb: missing-binary (bridge: not found)',
    });
  });
});
