import { describe, expect, it } from 'vitest';
import { ipsetAllHostsMissing } from '../../../agent/checks/ipset-all-hosts-missing.js';
import { editSection, healthyIpipSections, healthyIpipSnapshot, healthyVxlanSections, healthyVxlanSnapshot, snapshotOf, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('ipset-all-hosts-missing', () => {
  it('is ok when the all-hosts set holds the node IPs (VXLAN and IPIP)', () => {
    expect(ipsetAllHostsMissing.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(ipsetAllHostsMissing.run({ snapshot: healthyIpipSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds an empty cali40all-vxlan-net while the drop rule exists', () => {
    const out = ipsetAllHostsMissing.run({ snapshot: vxlanWith('ipsets', (s) => { s.hostSets[0]!.members = []; s.caliSetSizes['cali40all-vxlan-net'] = 0; }) });
    expect(out.status === 'finding' && out.findings[0]).toMatchObject({
      severity: 'critical',
      subject: 'cali40all-vxlan-net',
      evidence: { seen: 'empty ipset cali40all-vxlan-net; rule in cali-INPUT ("Drop IPv4 VXLAN packets from non-Calico hosts")' },
    });
  });

  it('finds an absent cali40all-hosts-net on an IPIP node', () => {
    const sections = editSection(healthyIpipSections(), 'ipsets', () => ({ hostSets: [], caliSetSizes: {} }));
    const out = ipsetAllHostsMissing.run({ snapshot: snapshotOf(sections) });
    expect(out.status === 'finding' && out.findings[0]!.summary).toContain('cali40all-hosts-net is absent');
  });

  it('accepts a set only known by its size (caliSetSizes)', () => {
    const snap = vxlanWith('ipsets', (s) => void (s.hostSets = []));
    expect(ipsetAllHostsMissing.run({ snapshot: snap })).toEqual({ status: 'ok' });
  });

  it('is unknown without ipsets or iptables', () => {
    expect(ipsetAllHostsMissing.run({ snapshot: withUnavailable(healthyVxlanSections(), ['ipsets'], 'not-present', 'no ip_set module') })).toEqual({
      status: 'unknown',
      reason: 'ipsets: not-present (no ip_set module)',
    });
  });
});
