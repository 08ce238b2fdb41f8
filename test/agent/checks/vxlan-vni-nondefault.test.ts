import { describe, expect, it } from 'vitest';
import { vxlanVniNondefault } from '../../../agent/checks/vxlan-vni-nondefault.js';
import { healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('vxlan-vni-nondefault', () => {
  it('is ok with VNI 4096 / port 4789, and on a node without VXLAN', () => {
    expect(vxlanVniNondefault.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(vxlanVniNondefault.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('reports a non-default VNI and port as info', () => {
    const snap = vxlanWith('links', (ls) => {
      const v = ls.find((l) => l.name === 'vxlan.calico')!.vxlan!;
      v.id = 4097;
      v.port = 8472;
    });
    const out = vxlanVniNondefault.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings[0]).toMatchObject({ severity: 'info', subject: 'vxlan.calico', evidence: { seen: 'vxlan id 4097 dstport 8472' } });
  });

  it('is unknown without links', () => {
    expect(vxlanVniNondefault.run({ snapshot: withUnavailable(healthyVxlanSections(), ['links']) }).status).toBe('unknown');
  });
});
