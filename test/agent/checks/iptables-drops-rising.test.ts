import { describe, expect, it } from 'vitest';
import { iptablesDropsRising } from '../../../agent/checks/iptables-drops-rising.js';
import { healthyVxlanSections, healthyVxlanSnapshot, snapshotOf, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

const later = (edit: (rules: { chain: string; packets: number }[]) => void) => {
  const snap = vxlanWith('iptables', (t) => edit(t.dropRules));
  return { ...snap, takenAt: '2026-11-21T15:00:30.000Z' };
};

// issue #2
describe('iptables-drops-rising', () => {
  it('is ok without a previous snapshot, and when counters did not move', () => {
    expect(iptablesDropsRising.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
    expect(iptablesDropsRising.run({ snapshot: healthyVxlanSnapshot(), previous: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('is ok for a snapshot that lists the rules of the one before again (the daemon between two reads)', () => {
    // #17: the section of the read before is reused as is, so nothing can have risen since
    const read = later((rs) => void (rs.find((r) => r.chain === 'cali-INPUT')!.packets = 39));
    const reused = { ...read, takenAt: '2026-11-21T15:01:00.000Z' };
    expect(iptablesDropsRising.run({ snapshot: reused, previous: read })).toEqual({ status: 'ok' });
  });

  it('reports the non-Calico-hosts drop rising as a warning with chain, cali id, comment and delta', () => {
    const now = later((rs) => void (rs.find((r) => r.chain === 'cali-INPUT')!.packets = 39));
    const out = iptablesDropsRising.run({ snapshot: now, previous: healthyVxlanSnapshot() });
    expect(out.status).toBe('finding');
    if (out.status !== 'finding') return;
    expect(out.findings).toHaveLength(1);
    const f = out.findings[0]!;
    expect(f).toMatchObject({ severity: 'warning', subject: 'ipv4/filter/cali-INPUT/kAv1vIcdB-ZnfUn0' });
    expect(f.evidence.details).toMatchObject({ chain: 'cali-INPUT', caliId: 'kAv1vIcdB-ZnfUn0', comment: 'Drop IPv4 VXLAN packets from non-Calico hosts', delta: 39 });
    expect(f.evidence.seen).toBe('packets 0 → 39 (+39) between 2026-11-21T15:00:00.000Z and 2026-11-21T15:00:30.000Z');
    expect(f.remedy).toContain('ipset list cali40all-vxlan-net');
  });

  it('reports policy-chain drops as info', () => {
    const now = later((rs) => void (rs.find((r) => r.chain === 'cali-tw-cali90b386908a6')!.packets = 10));
    const out = iptablesDropsRising.run({ snapshot: now, previous: healthyVxlanSnapshot() });
    expect(out.status === 'finding' && out.findings[0]).toMatchObject({ severity: 'info', evidence: { details: { delta: 7 } } });
  });

  it('an idle policy-chain drop left out of the previous snapshot counts from zero; a non-policy one does not', () => {
    const before = vxlanWith('iptables', (t) => {
      t.dropRules = t.dropRules.filter((r) => r.chain !== 'cali-tw-cali90b386908a6' && r.chain !== 'cali-INPUT');
    });
    const now = later((rs) => {
      rs.find((r) => r.chain === 'cali-tw-cali90b386908a6')!.packets = 5;
      rs.find((r) => r.chain === 'cali-INPUT')!.packets = 5;
    });
    const out = iptablesDropsRising.run({ snapshot: now, previous: before });
    expect(out.status === 'finding' && out.findings.map((f) => [f.severity, f.evidence.details.chain, f.evidence.details.delta])).toEqual([
      ['info', 'cali-tw-cali90b386908a6', 5],
    ]);
  });

  it('treats a counter that went down (reset, rules rewritten) as ok', () => {
    const now = later((rs) => void (rs.find((r) => r.chain === 'cali-tw-cali90b386908a6')!.packets = 0));
    expect(iptablesDropsRising.run({ snapshot: now, previous: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('is ok when the previous iptables section was unavailable; unknown when the current one is', () => {
    const prev = withUnavailable(healthyVxlanSections(), ['iptables']);
    expect(iptablesDropsRising.run({ snapshot: healthyVxlanSnapshot(), previous: prev })).toEqual({ status: 'ok' });
    const out = iptablesDropsRising.run({ snapshot: withUnavailable(healthyVxlanSections(), ['iptables'], 'incompatible', "Table `raw' is incompatible"), previous: snapshotOf(healthyVxlanSections()) });
    expect(out).toEqual({ status: 'unknown', reason: "iptables: incompatible (Table `raw' is incompatible)" });
  });

  it('judges the same sections checked again as the first time, and each newer section by its own counters', () => {
    // #17: the daemon checks a reused iptables section (the same object) against the same previous one
    const before = healthyVxlanSnapshot();
    const now = later((rs) => void (rs.find((r) => r.chain === 'cali-INPUT')!.packets = 39));
    const first = iptablesDropsRising.run({ snapshot: now, previous: before });
    const again = iptablesDropsRising.run({ snapshot: { ...now, takenAt: '2026-11-21T15:01:00.000Z' }, previous: before });
    expect(first.status === 'finding' && first.findings.map((f) => f.evidence.details.delta)).toEqual([39]);
    expect(again.status === 'finding' && again.findings.map((f) => [f.subject, f.evidence.details.delta])).toEqual([['ipv4/filter/cali-INPUT/kAv1vIcdB-ZnfUn0', 39]]);
    const newer = later((rs) => void (rs.find((r) => r.chain === 'cali-INPUT')!.packets = 50));
    const next = iptablesDropsRising.run({ snapshot: newer, previous: now });
    expect(next.status === 'finding' && next.findings.map((f) => f.evidence.details.delta)).toEqual([11]);
    expect(iptablesDropsRising.run({ snapshot: newer, previous: newer })).toEqual({ status: 'ok' });
  });
});

// #15
describe('iptables-drops-rising on encapsulated traffic', () => {
  const guarded = (packets: number) =>
    vxlanWith('iptables', (t) => {
      const d = t.dropRules[0]!;
      t.dropRules[0] = { ...d, index: 3, comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], matchSets: [], encapsulation: 'vxlan', packets };
      t.encapGuards = [
        {
          family: 'ipv4',
          encapsulation: 'vxlan',
          form: 'accept-then-drop',
          set: 'cali40all-vxlan-net',
          table: 'filter',
          chain: 'cali-INPUT',
          drop: { index: 3, caliId: d.caliId, comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets, bytes: 0 },
        },
      ];
    });

  it("names current Felix's catch-all DROP as the VXLAN guard with its set, and says counters cannot name the sources", () => {
    const out = iptablesDropsRising.run({ snapshot: { ...guarded(7), takenAt: '2026-11-21T15:00:30.000Z' }, previous: guarded(2) });
    expect(out.status === 'finding' && out.findings).toMatchObject([
      {
        severity: 'warning',
        summary:
          'DROP rule in ipv4 filter/cali-INPUT (cali:kAv1vIcdB-ZnfUn0), the VXLAN guard, dropped 5 more packet(s) from sources not in cali40all-vxlan-net: "Drop IPv4 VXLAN packets from non-allowed hosts"',
        evidence: { details: { guard: { encapsulation: 'vxlan', form: 'accept-then-drop', set: 'cali40all-vxlan-net' }, delta: 5 } },
      },
    ]);
    const f = out.status === 'finding' ? out.findings[0]! : undefined;
    expect(f?.remedy).toContain('ipset list cali40all-vxlan-net');
    expect(f?.remedy).toContain('host-not-in-allowed-set');
  });

  it('a DROP of encapsulated packets that names its sources says whose packets they are', () => {
    const withDrop = (packets: number) =>
      vxlanWith('iptables', (t) => {
        t.dropRules.push({
          family: 'ipv4',
          table: 'filter',
          chain: 'cali-INPUT',
          index: 1,
          target: 'DROP',
          packets,
          bytes: 0,
          caliId: null,
          comments: [],
          matchSets: [],
          rule: '-A cali-INPUT -s 10.0.0.31/32 -p udp -m udp --dport 4789 -j DROP',
          encapsulation: 'vxlan',
          sources: ['10.0.0.31/32'],
        });
      });
    const out = iptablesDropsRising.run({ snapshot: { ...withDrop(4), takenAt: '2026-11-21T15:00:30.000Z' }, previous: withDrop(0) });
    expect(out.status === 'finding' && out.findings.map((f) => f.summary)).toEqual(['DROP rule in ipv4 filter/cali-INPUT dropped 4 more VXLAN packet(s) from 10.0.0.31/32']);
    expect(out.status === 'finding' && out.findings[0]!.evidence.details).toMatchObject({ encapsulation: 'vxlan', sources: ['10.0.0.31/32'] });
  });
});
