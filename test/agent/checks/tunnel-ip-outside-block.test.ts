import { describe, expect, it } from 'vitest';
import { tunnelIpOutsideBlock } from '../../../agent/checks/tunnel-ip-outside-block.js';
import { addr, healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('tunnel-ip-outside-block', () => {
  it('is ok when the tunnel address lies in a local blackhole block', () => {
    expect(tunnelIpOutsideBlock.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(tunnelIpOutsideBlock.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds a tunnel address borrowed from another block', () => {
    const snap = vxlanWith('addresses', (as) => as.map((a) => (a.ifname === 'vxlan.calico' && a.family === 'inet' ? addr('vxlan.calico', '172.17.2.7/32') : a)));
    const out = tunnelIpOutsideBlock.run({ snapshot: snap });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings[0]).toMatchObject({ subject: 'vxlan.calico', severity: 'warning' });
    expect(out.findings[0]!.evidence.seen).toBe('vxlan.calico 172.17.2.7; node blocks: 172.17.255.128/26');
  });

  it('finds a tunnel address on a node with no block of its own', () => {
    const snap = vxlanWith('routes', (rs) => rs.filter((r) => r.type !== 'blackhole'));
    const out = tunnelIpOutsideBlock.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings[0]!.evidence.seen).toContain('node blocks: none');
  });

  it('is unknown when routes are unavailable (blocks cannot be known)', () => {
    expect(tunnelIpOutsideBlock.run({ snapshot: withUnavailable(healthyVxlanSections(), ['routes']) }).status).toBe('unknown');
  });
});
