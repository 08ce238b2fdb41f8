import { describe, expect, it } from 'vitest';
import { ipsetAllHostsMissing } from '../../../agent/checks/ipset-all-hosts-missing.js';
import type { EncapGuard, Sections } from '../../../contract/snapshot.js';
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

/** The healthy VXLAN node as current Felix programs it: ACCEPT of cali40all-vxlan-net sources, then the catch-all DROP (#15). */
const currentFelix = (edit: (ipt: Extract<Sections['iptables'], { status: 'ok' }>['data'], sets: Extract<Sections['ipsets'], { status: 'ok' }>['data']) => void = () => undefined) => {
  const sections = healthyVxlanSections();
  const ipt = sections.iptables;
  const sets = sections.ipsets;
  if (ipt.status !== 'ok' || sets.status !== 'ok') throw new Error('fixture');
  ipt.data.dropRules[0] = { ...ipt.data.dropRules[0]!, index: 3, caliId: 'EDCNTTxYfggApx8C', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], matchSets: [], encapsulation: 'vxlan' };
  ipt.data.encapGuards = [guard()];
  edit(ipt.data, sets.data);
  return snapshotOf(sections);
};
const guard = (over: Partial<EncapGuard> = {}): EncapGuard => ({
  family: 'ipv4',
  encapsulation: 'vxlan',
  form: 'accept-then-drop',
  set: 'cali40all-vxlan-net',
  table: 'filter',
  chain: 'cali-INPUT',
  drop: { index: 3, caliId: 'EDCNTTxYfggApx8C', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets: 12, bytes: 1200 },
  ...over,
});

// #15
describe('ipset-all-hosts-missing reads the guards the rules present', () => {
  it('is ok when the guarding set of current Felix holds members', () => {
    expect(ipsetAllHostsMissing.run({ snapshot: currentFelix() })).toEqual({ status: 'ok' });
  });

  it('an empty guarding set behind accept-then-drop: critical naming set, chain, rule and form', () => {
    const out = ipsetAllHostsMissing.run({ snapshot: currentFelix((_, s) => { s.hostSets[0]!.members = []; s.caliSetSizes['cali40all-vxlan-net'] = 0; }) });
    expect(out.status === 'finding' && out.findings).toMatchObject([
      {
        severity: 'critical',
        subject: 'cali40all-vxlan-net',
        summary: 'ipset cali40all-vxlan-net is empty while cali-INPUT accepts VXLAN only from cali40all-vxlan-net and then drops the rest: ipv4 VXLAN traffic from every peer is dropped',
        evidence: {
          seen: 'empty ipset cali40all-vxlan-net; accept-then-drop guard in cali-INPUT rule 3 (cali:EDCNTTxYfggApx8C) ("Drop IPv4 VXLAN packets from non-allowed hosts"), 12 packet(s) dropped so far',
          details: { set: 'cali40all-vxlan-net', chain: 'cali-INPUT', form: 'accept-then-drop', index: 3, members: 0 },
        },
      },
    ]);
  });

  it('a guarding set that does not exist (flushed and destroyed) is absent; the older all-hosts set existing does not help', () => {
    const out = ipsetAllHostsMissing.run({
      snapshot: currentFelix((_, s) => {
        s.hostSets = [{ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: ['10.0.0.11'] }];
        s.caliSetSizes = { 'cali40all-hosts-net': 1 };
      }),
    });
    expect(out.status === 'finding' && out.findings.map((f) => [f.severity, f.summary.slice(0, 40)])).toEqual([['critical', 'ipset cali40all-vxlan-net is absent whil']]);
  });

  it('older Felix negated-drop guard on cali40all-hosts-net, IPIP: an empty set is critical', () => {
    const snap = currentFelix((ipt, s) => {
      ipt.encapGuards = [guard({ encapsulation: 'ipip', form: 'negated-drop', set: 'cali40all-hosts-net' })];
      s.hostSets = [{ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: [] }];
    });
    const out = ipsetAllHostsMissing.run({ snapshot: { ...snap, mode: { ...snap.mode, encapsulation: 'ipip' } } });
    expect(out.status === 'finding' && out.findings[0]).toMatchObject({ severity: 'critical', summary: expect.stringContaining('drops IPIP from sources not in cali40all-hosts-net') });
  });

  it('a guard of an encapsulation the node does not use is a warning, not critical', () => {
    const snap = currentFelix((ipt, s) => {
      ipt.encapGuards = [guard(), guard({ encapsulation: 'ipip', set: 'cali40all-hosts-net', drop: { ...guard().drop, index: 2 } })];
      s.caliSetSizes['cali40all-hosts-net'] = 0;
    });
    const out = ipsetAllHostsMissing.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings.map((f) => [f.severity, f.subject])).toEqual([['warning', 'cali40all-hosts-net']]);
  });

  it('IPv6 guard on cali60all-vxlan-net is checked on its own', () => {
    const snap = currentFelix((ipt) => void ipt.encapGuards!.push(guard({ family: 'ipv6', set: 'cali60all-vxlan-net' })));
    const out = ipsetAllHostsMissing.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings.map((f) => f.subject)).toEqual(['cali60all-vxlan-net']);
  });

  it('unknown, not ok, when a guard uses a set whose members were not collected', () => {
    const out = ipsetAllHostsMissing.run({ snapshot: currentFelix((ipt) => void (ipt.encapGuards = [guard({ set: 'custom-allowed' })])) });
    expect(out).toEqual({ status: 'unknown', reason: 'custom-allowed: members not collected (guards vxlan in cali-INPUT rule 3 (cali:EDCNTTxYfggApx8C))' });
  });

  it('unknown, not ok, when a tunnelling node has no Calico chains in iptables (another policy dataplane)', () => {
    const snap = currentFelix((ipt) => {
      ipt.encapGuards = [];
      ipt.ipv4 = { status: 'ok', data: { tables: ['filter'], chains: 3, rules: 0, caliChains: 0 } };
    });
    const out = ipsetAllHostsMissing.run({ snapshot: snap });
    expect(out.status).toBe('unknown');
    expect(out.status === 'unknown' && out.reason).toContain('no Calico chains in iptables (nft) on a node using vxlan');
  });

  it('unknown, not ok, on an eBPF node without guard rules in iptables', () => {
    const snap = currentFelix((ipt) => void (ipt.encapGuards = []));
    const out = ipsetAllHostsMissing.run({ snapshot: { ...snap, mode: { ...snap.mode, ebpf: true } } });
    expect(out.status === 'unknown' && out.reason).toContain('eBPF dataplane');
  });

  it('no guard among Calico rules: nothing drops by set, ok', () => {
    expect(ipsetAllHostsMissing.run({ snapshot: currentFelix((ipt) => void (ipt.encapGuards = [])) })).toEqual({ status: 'ok' });
  });

  it('unknown with the reason when iptables is unreadable', () => {
    expect(ipsetAllHostsMissing.run({ snapshot: withUnavailable(healthyVxlanSections(), ['iptables'], 'incompatible', "Table `filter' is incompatible") })).toEqual({
      status: 'unknown',
      reason: "iptables: incompatible (Table `filter' is incompatible)",
    });
  });
});
