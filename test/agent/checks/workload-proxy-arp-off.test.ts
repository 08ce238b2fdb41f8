import { describe, expect, it } from 'vitest';
import { workloadProxyArpOff } from '../../../agent/checks/workload-proxy-arp-off.js';
import { healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('workload-proxy-arp-off', () => {
  it('is ok when every cali* device has proxy_arp on', () => {
    expect(workloadProxyArpOff.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds each cali* device with proxy_arp off', () => {
    const out = workloadProxyArpOff.run({ snapshot: vxlanWith('sysctls', (s) => void (s.workloadDevices.proxyArpOff = ['cali90b386908a6'])) });
    expect(out.status === 'finding' && out.findings[0]).toMatchObject({
      severity: 'critical',
      subject: 'cali90b386908a6',
      evidence: { seen: 'net.ipv4.conf.cali90b386908a6.proxy_arp = 0' },
    });
  });

  it('is unknown without sysctls', () => {
    expect(workloadProxyArpOff.run({ snapshot: withUnavailable(healthyVxlanSections(), ['sysctls']) }).status).toBe('unknown');
  });
});
