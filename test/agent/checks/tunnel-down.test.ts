import { describe, expect, it } from 'vitest';
import { tunnelDown } from '../../../agent/checks/tunnel-down.js';
import { healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, link, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('tunnel-down', () => {
  it('treats operstate UNKNOWN with UP flag as healthy (vxlan.calico, tunl0)', () => {
    expect(tunnelDown.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(tunnelDown.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds an administratively down vxlan.calico', () => {
    const snap = vxlanWith('links', (ls) => {
      const v = ls.find((l) => l.name === 'vxlan.calico')!;
      v.flags = ['BROADCAST', 'MULTICAST'];
      v.operstate = 'DOWN';
    });
    const out = tunnelDown.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings[0]).toMatchObject({ subject: 'vxlan.calico', severity: 'critical' });
    expect(out.findings[0]!.summary).toContain('administratively down');
    expect(out.findings[0]!.evidence.seen).toBe('flags <BROADCAST,MULTICAST>, state DOWN');
  });

  it('finds operstate DOWN even with the UP flag', () => {
    const snap = vxlanWith('links', (ls) => {
      ls.find((l) => l.name === 'vxlan.calico')!.operstate = 'DOWN';
    });
    const out = tunnelDown.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings[0]!.summary).toContain('operationally DOWN');
  });

  it('ignores non-tunnel devices that are down (docker0)', () => {
    expect(tunnelDown.run({ snapshot: healthyIpipSnapshot() }).status).toBe('ok');
  });

  it('ignores an idle tunl0 (ipip module loaded: DOWN, no address, no routes) on a VXLAN node', () => {
    const snap = vxlanWith('links', (ls) => void ls.push(link('tunl0', { ifindex: 8, kind: 'ipip', flags: ['NOARP'], operstate: 'DOWN', mtu: 1480 })));
    expect(snap.identity.tunnels.map((t) => t.device)).toEqual(['vxlan.calico']);
    expect(tunnelDown.run({ snapshot: snap })).toEqual({ status: 'ok' });
  });

  it('flags tunl0 down when it carries Calico routes', () => {
    const snap = healthyIpipSnapshot();
    const links = snap.sections.links;
    if (links.status !== 'ok') throw new Error('fixture');
    const t = links.data.find((l) => l.name === 'tunl0')!;
    t.flags = ['NOARP'];
    t.operstate = 'DOWN';
    const out = tunnelDown.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings.map((f) => f.subject)).toEqual(['tunl0']);
  });

  it('is unknown without links', () => {
    expect(tunnelDown.run({ snapshot: withUnavailable(healthyVxlanSections(), ['links']) })).toEqual({ status: 'unknown', reason: 'links: timeout (took too long)' });
  });
});
