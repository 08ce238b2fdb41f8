import { describe, expect, it } from 'vitest';
import { underlayNeighborFailed } from '../../../agent/checks/underlay-neighbor-failed.js';
import { editSection, healthyIpipSections, healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, snapshotOf, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('underlay-neighbor-failed', () => {
  it('is ok with reachable/stale peers', () => {
    expect(underlayNeighborFailed.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(underlayNeighborFailed.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds a FAILED neighbour for a VXLAN FDB destination', () => {
    const snap = vxlanWith('neighbours', (ns) => {
      const n = ns.find((x) => x.dst === '10.0.0.11')!;
      n.state = ['FAILED'];
      n.lladdr = null;
    });
    const out = underlayNeighborFailed.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings[0]).toMatchObject({ severity: 'critical', subject: '10.0.0.11', evidence: { seen: '10.0.0.11 dev enp2s0 FAILED' } });
    expect(out.findings[0]!.evidence.details).toMatchObject({ role: 'VXLAN FDB destination on vxlan.calico' });
  });

  it('finds an INCOMPLETE neighbour for an IPIP route gateway', () => {
    const sections = editSection(healthyIpipSections(), 'neighbours', (ns) => void (ns.find((x) => x.dst === '100.64.1.23')!.state = ['INCOMPLETE']));
    const out = underlayNeighborFailed.run({ snapshot: snapshotOf(sections) });
    expect(out.status === 'finding' && out.findings[0]!.evidence.details).toMatchObject({ peerIp: '100.64.1.23', role: 'next hop of 10.201.0.192/26 via tunl0' });
  });

  it('ignores FAILED neighbours that are not peers', () => {
    const snap = vxlanWith('neighbours', (ns) => void (ns.find((x) => x.dst === '172.16.0.254')!.state = ['FAILED']));
    expect(underlayNeighborFailed.run({ snapshot: snap })).toEqual({ status: 'ok' });
  });

  it('is unknown without neighbours, or without both fdb and routes', () => {
    expect(underlayNeighborFailed.run({ snapshot: withUnavailable(healthyVxlanSections(), ['neighbours']) }).status).toBe('unknown');
    expect(underlayNeighborFailed.run({ snapshot: withUnavailable(healthyVxlanSections(), ['fdb', 'routes']) }).status).toBe('unknown');
    expect(underlayNeighborFailed.run({ snapshot: withUnavailable(healthyVxlanSections(), ['fdb']) }).status).toBe('ok');
  });
});
