import { describe, expect, it } from 'vitest';
import { routeNotOnlink } from '../../../agent/checks/route-not-onlink.js';
import { healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('route-not-onlink', () => {
  it('is ok when tunnel routes carry onlink (VXLAN and IPIP)', () => {
    expect(routeNotOnlink.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(routeNotOnlink.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds a block route via vxlan.calico without onlink', () => {
    const snap = vxlanWith('routes', (rs) => void (rs.find((r) => r.dst === '172.17.2.0/26')!.flags = []));
    const out = routeNotOnlink.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings[0]).toMatchObject({
      subject: '172.17.2.0/26 via 172.17.2.0',
      evidence: { seen: '172.17.2.0/26 via 172.17.2.0 dev vxlan.calico proto 80', expected: '172.17.2.0/26 via 172.17.2.0 dev vxlan.calico onlink' },
    });
  });

  it('checks ECMP next hops one by one', () => {
    const snap = vxlanWith('routes', (rs) => {
      const r = rs.find((x) => x.dst === '172.17.2.0/26')!;
      r.gateway = null;
      r.dev = null;
      r.flags = [];
      r.nexthops = [
        { gateway: '172.17.2.0', dev: 'vxlan.calico', flags: ['onlink'] },
        { gateway: '172.17.2.1', dev: 'vxlan.calico', flags: [] },
      ];
    });
    const out = routeNotOnlink.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings.map((f) => f.subject)).toEqual(['172.17.2.0/26 via 172.17.2.1']);
  });

  it('is unknown without routes', () => {
    expect(routeNotOnlink.run({ snapshot: withUnavailable(healthyVxlanSections(), ['routes']) }).status).toBe('unknown');
  });
});
