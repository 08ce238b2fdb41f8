import { describe, expect, it } from 'vitest';
import { routeWrongDevice } from '../../../agent/checks/route-wrong-device.js';
import { healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, route, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('route-wrong-device', () => {
  it('is ok on healthy nodes, including VXLAN cross-subnet routes via the peer node IP on the uplink (9506hqwy)', () => {
    expect(routeWrongDevice.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(routeWrongDevice.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
    const crossSubnet = vxlanWith('routes', (rs) => {
      rs.push(route('172.17.3.0/26', { gateway: '10.0.0.12', dev: 'enp2s0', protocol: '80', flags: ['onlink'] }));
    });
    expect(routeWrongDevice.run({ snapshot: crossSubnet })).toEqual({ status: 'ok' });
  });

  it("finds a block route via the peer's tunnel IP that leaves through the uplink", () => {
    const snap = vxlanWith('routes', (rs) => {
      const r = rs.find((x) => x.dst === '172.17.2.0/26')!;
      r.dev = 'enp2s0';
    });
    const out = routeWrongDevice.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings[0]).toMatchObject({
      severity: 'critical',
      subject: '172.17.2.0/26 via 172.17.2.0',
      evidence: { seen: '172.17.2.0/26 via 172.17.2.0 dev enp2s0 proto 80', expected: '172.17.2.0/26 via 172.17.2.0 dev vxlan.calico onlink' },
    });
  });

  it('finds a route whose next hop lies inside a Calico block but goes out of a plain device', () => {
    const snap = vxlanWith('routes', (rs) => {
      rs.push(route('172.17.9.0/26', { gateway: '172.17.255.140', dev: 'enp1s0', protocol: 'static' }));
      rs.push(route('172.17.8.0/26', { gateway: '172.17.255.141', dev: 'enp1s0', protocol: '80' }));
    });
    const out = routeWrongDevice.run({ snapshot: snap });
    // the static route is not Calico's (not a remote block route); the proto 80 one is
    expect(out.status === 'finding' && out.findings.map((f) => f.subject)).toEqual(['172.17.8.0/26 via 172.17.255.141']);
  });

  it('is unknown without routes or neighbours', () => {
    expect(routeWrongDevice.run({ snapshot: withUnavailable(healthyVxlanSections(), ['neighbours']) }).status).toBe('unknown');
  });
});
