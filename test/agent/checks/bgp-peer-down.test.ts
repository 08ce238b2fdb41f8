import { describe, expect, it } from 'vitest';
import { bgpPeerDown } from '../../../agent/checks/bgp-peer-down.js';
import { editSection, healthyIpipSections, healthyIpipSnapshot, healthyVxlanSnapshot, snapshotOf } from '../../helpers/snapshot.js';

// issue #2
describe('bgp-peer-down', () => {
  it('is ok when every BGP protocol is Established (kernel/device/static protocols are not judged)', () => {
    expect(bgpPeerDown.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds a peer in Active as critical when BGP carries the routes (IPIP)', () => {
    const sections = editSection(healthyIpipSections(), 'bgp', (b) => {
      b.protocols.push({ name: 'Mesh_100_64_1_22', proto: 'BGP', table: 'master', state: 'start', since: '2026-11-21', info: 'Active        Socket: Connection refused' });
      b.protocols.push({ name: 'kernel2', proto: 'Kernel', table: 'master', state: 'down', since: null, info: '' });
    });
    const out = bgpPeerDown.run({ snapshot: snapshotOf(sections) });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings).toHaveLength(1);
    expect(out.findings[0]).toMatchObject({ severity: 'critical', subject: 'Mesh_100_64_1_22' });
    expect(out.findings[0]!.evidence.seen).toContain('Connection refused');
  });

  it('is a warning in VXLAN mode, where BGP does not carry pod routes', () => {
    const snap = healthyVxlanSnapshot();
    snap.sections.bgp = { status: 'ok', data: { socket: '/var/run/calico/bird.ctl', protocols: [{ name: 'Node_10_0_0_11', proto: 'BGP', table: null, state: 'start', since: null, info: 'Connect' }] } };
    const out = bgpPeerDown.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings[0]!.severity).toBe('warning');
  });

  it('is ok on a VXLAN node without BIRD (no BGP in use), unknown when BGP may carry the routes', () => {
    expect(bgpPeerDown.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    const ipip = healthyVxlanSnapshot();
    ipip.mode = { ...ipip.mode, encapsulation: 'ipip' };
    expect(bgpPeerDown.run({ snapshot: ipip })).toEqual({ status: 'unknown', reason: 'bgp: not-present (no BIRD socket at /var/run/calico/bird.ctl)' });
    const vxlanWithBgp = healthyVxlanSnapshot();
    vxlanWithBgp.mode = { ...vxlanWithBgp.mode, bgp: true };
    expect(bgpPeerDown.run({ snapshot: vxlanWithBgp }).status).toBe('unknown');
  });
});
