import { describe, expect, it } from 'vitest';
import { workloadRouteMissing } from '../../../agent/checks/workload-route-missing.js';
import { healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, link, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('workload-route-missing', () => {
  it('is ok when every cali* device has a route (vxlan.calico is not a workload device)', () => {
    expect(workloadRouteMissing.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(workloadRouteMissing.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds an up cali* device without any route', () => {
    const snap = vxlanWith('links', (ls) => void ls.push(link('calic628ed26868', { ifindex: 10, kind: 'veth', mac: 'ee:ee:ee:ee:ee:ee' })));
    const out = workloadRouteMissing.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings.map((f) => [f.subject, f.severity])).toEqual([['calic628ed26868', 'warning']]);
  });

  it('ignores a cali* device that is down (pod being torn down)', () => {
    const snap = vxlanWith('links', (ls) => void ls.push(link('calic628ed26868', { ifindex: 10, flags: ['BROADCAST'], operstate: 'DOWN' })));
    expect(workloadRouteMissing.run({ snapshot: snap })).toEqual({ status: 'ok' });
  });

  it('is unknown without links or routes', () => {
    expect(workloadRouteMissing.run({ snapshot: withUnavailable(healthyVxlanSections(), ['routes']) }).status).toBe('unknown');
  });
});
