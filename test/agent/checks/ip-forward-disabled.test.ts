import { describe, expect, it } from 'vitest';
import { ipForwardDisabled } from '../../../agent/checks/ip-forward-disabled.js';
import { healthyVxlanSections, healthyVxlanSnapshot, route, vxlanWith, withUnavailable, editSection, snapshotOf } from '../../helpers/snapshot.js';

// issue #2
describe('ip-forward-disabled', () => {
  it('is ok with ip_forward 1 (IPv6 forwarding off on an IPv4-only node is fine)', () => {
    expect(ipForwardDisabled.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds net.ipv4.ip_forward = 0', () => {
    const out = ipForwardDisabled.run({ snapshot: vxlanWith('sysctls', (s) => void (s.ipv4Forward = 0)) });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings).toHaveLength(1);
    expect(out.findings[0]).toMatchObject({ severity: 'critical', subject: 'net.ipv4.ip_forward', evidence: { seen: 'net.ipv4.ip_forward = 0' } });
  });

  it('finds IPv6 forwarding off on a node with an IPv6 block', () => {
    const sections = editSection(healthyVxlanSections(), 'routes', (rs) => {
      rs.push(route('fd00:10:244:1::/122', { type: 'blackhole', dev: 'lo', protocol: '80' }));
    });
    const out = ipForwardDisabled.run({ snapshot: snapshotOf(sections) });
    expect(out.status === 'finding' && out.findings.map((f) => f.subject)).toEqual(['net.ipv6.conf.all.forwarding']);
  });

  it('finds forwarding off on the VXLAN device and on workload devices', () => {
    const snap = vxlanWith('sysctls', (s) => {
      s.interfaces.find((i) => i.scope === 'vxlan.calico')!.forwarding = 0;
      s.workloadDevices.forwardingOff = ['cali90b386908a6'];
    });
    const out = ipForwardDisabled.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings.map((f) => f.subject)).toEqual(['vxlan.calico', 'workload-devices']);
  });

  it('is unknown when sysctls are unavailable or the forwarding values unreadable', () => {
    expect(ipForwardDisabled.run({ snapshot: withUnavailable(healthyVxlanSections(), ['sysctls'], 'permission-denied', 'EACCES') })).toEqual({
      status: 'unknown',
      reason: 'sysctls: permission-denied (EACCES)',
    });
    const out = ipForwardDisabled.run({ snapshot: vxlanWith('sysctls', (s) => { s.ipv4Forward = null; s.ipv6Forwarding = null; }) });
    expect(out.status).toBe('unknown');
  });
});
