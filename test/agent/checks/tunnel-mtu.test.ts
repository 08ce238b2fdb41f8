import { describe, expect, it } from 'vitest';
import { overheadOf, tunnelMtu } from '../../../agent/checks/tunnel-mtu.js';
import { editSection, healthyIpipSections, healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, snapshotOf, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('tunnel-mtu', () => {
  it('uses Calico overheads: VXLAN 50, VXLAN-v6 70, IPIP 20, WireGuard 60', () => {
    expect(overheadOf({ kind: 'vxlan', family: 'inet' })).toBe(50);
    expect(overheadOf({ kind: 'vxlan', family: 'inet6' })).toBe(70);
    expect(overheadOf({ kind: 'ipip', family: 'inet' })).toBe(20);
    expect(overheadOf({ kind: 'wireguard', family: 'inet' })).toBe(60);
    expect(overheadOf({ kind: 'wireguard', family: 'inet6' })).toBe(80);
  });

  it('is ok at exactly uplink minus overhead (1450 on 1500, tunl0 1380 on 1400)', () => {
    expect(tunnelMtu.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(tunnelMtu.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('flags vxlan.calico 1500 on a 1500 underlay', () => {
    const snap = vxlanWith('links', (ls) => {
      ls.find((l) => l.name === 'vxlan.calico')!.mtu = 1500;
    });
    const out = tunnelMtu.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings[0]).toMatchObject({ subject: 'vxlan.calico', severity: 'warning' });
    expect(out.findings[0]!.evidence).toMatchObject({ seen: 'vxlan.calico mtu 1500, enp2s0 mtu 1500', expected: 'vxlan.calico mtu <= 1450' });
  });

  it('judges a VXLAN device against the underlay it is bound to, not the default-route uplink', () => {
    const snap = vxlanWith('links', (ls) => {
      ls.find((l) => l.name === 'enp2s0')!.mtu = 1400; // VXLAN underlay; enp1s0 (default route) stays 1500
    });
    const out = tunnelMtu.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings[0]!.evidence.details).toMatchObject({ uplink: 'enp2s0', maxMtu: 1350 });
  });

  it('flags a real IPIP setup (ubuntu-3): tunl0 1440 on a 1400 ens3', () => {
    const sections = editSection(healthyIpipSections(), 'links', (ls) => {
      ls.find((l) => l.name === 'tunl0')!.mtu = 1440;
    });
    const out = tunnelMtu.run({ snapshot: snapshotOf(sections) });
    expect(out.status === 'finding' && out.findings[0]!.evidence.expected).toBe('tunl0 mtu <= 1380');
  });

  it('is unknown without links, or without any identified uplink', () => {
    expect(tunnelMtu.run({ snapshot: withUnavailable(healthyVxlanSections(), ['links']) }).status).toBe('unknown');
    const noUplink = { ...healthyVxlanSnapshot() };
    noUplink.identity = { ...noUplink.identity, uplinks: [] };
    expect(tunnelMtu.run({ snapshot: noUplink })).toMatchObject({ status: 'unknown', reason: expect.stringContaining('no uplink') });
  });
});
