import { describe, expect, it } from 'vitest';
import { vxlanNeighborNotPermanent } from '../../../agent/checks/vxlan-neighbor-not-permanent.js';
import { healthyVxlanSections, healthyVxlanSnapshot, neigh, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('vxlan-neighbor-not-permanent', () => {
  it('is ok with PERMANENT entries, ignoring link-local and underlay neighbours', () => {
    expect(vxlanNeighborNotPermanent.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    const snap = vxlanWith('neighbours', (ns) => void ns.push(neigh('fe80::1', 'vxlan.calico', null, ['FAILED'])));
    expect(vxlanNeighborNotPermanent.run({ snapshot: snap })).toEqual({ status: 'ok' });
  });

  it('finds a STALE (learnt) entry on vxlan.calico', () => {
    const snap = vxlanWith('neighbours', (ns) => void ns.push(neigh('172.17.3.0', 'vxlan.calico', '66:aa:bb:cc:dd:ee', ['STALE'])));
    const out = vxlanNeighborNotPermanent.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings).toHaveLength(1);
    expect(out.findings[0]).toMatchObject({ subject: 'vxlan.calico/172.17.3.0', severity: 'warning', evidence: { seen: '172.17.3.0 dev vxlan.calico lladdr 66:aa:bb:cc:dd:ee STALE' } });
  });

  it('is unknown without neighbours', () => {
    expect(vxlanNeighborNotPermanent.run({ snapshot: withUnavailable(healthyVxlanSections(), ['neighbours']) }).status).toBe('unknown');
  });
});
