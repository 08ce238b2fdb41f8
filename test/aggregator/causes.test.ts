/**
 * #18: one fault, one root. The root-cause pass links findings that follow from another finding on
 * the same node or pair to that root (explainedBy), and leaves unrelated findings alone.
 */
import { describe, expect, it } from 'vitest';
import { CAUSE_RULES, explainFindings, groupFindings, type CauseRule } from '../../aggregator/causes.js';
import { Finding, type Severity } from '../../contract/finding.js';

const T = '2026-01-01T00:00:00.000Z';
const f = (rule: string, node: string, opts: { peer?: string; subject?: string; details?: Record<string, unknown>; severity?: Severity } = {}): Finding => ({
  id: [rule, node, opts.peer ?? '', opts.subject ?? ''].join('/'),
  rule,
  severity: opts.severity ?? 'critical',
  node,
  ...(opts.peer !== undefined ? { peer: opts.peer } : {}),
  summary: `${rule} on ${node}`,
  evidence: { seen: 's', expected: 'e', details: opts.details ?? {} },
  remedy: 'r',
  firstSeen: T,
  lastSeen: T,
});
const by = (fs: Finding[]) => new Map(fs.map((x) => [x.id, x.explainedBy]));

// #18
describe('root causes', () => {
  it('a tunnel device down explains the routes, neighbours and FDB entries missing on that node, not on others', () => {
    const down = f('tunnel-down', 'a', { subject: 'vxlan.calico', details: { device: 'vxlan.calico' } });
    const route = f('route-missing', 'a', { peer: 'b', subject: '10.0.1.0/26' });
    const fdb = f('vxlan-fdb-missing', 'a', { subject: 'vxlan.calico/10.0.1.1', details: { mac: '66:00:00:00:00:02' } });
    const neigh = f('vxlan-neighbor-mac-mismatch', 'a', { peer: 'b', details: { seenMac: null, missing: true } });
    const other = f('route-missing', 'c', { peer: 'b', subject: '10.0.1.0/26' });
    const out = by(explainFindings([down, route, fdb, neigh, other]));
    expect(out.get(down.id)).toBeUndefined();
    expect(out.get(route.id)).toBe(down.id);
    expect(out.get(fdb.id)).toBe(down.id);
    expect(out.get(neigh.id)).toBe(down.id);
    expect(out.get(other.id)).toBeUndefined();
  });

  it('a wrong neighbour MAC explains the missing FDB entry for that wrong MAC only', () => {
    const mm = f('vxlan-neighbor-mac-mismatch', 'a', { peer: 'b', subject: '10.0.1.1', details: { tunnelIP: '10.0.1.1', seenMac: '66:DE:AD:BE:EF:01', expectedMac: '66:00:00:00:00:02' } });
    const fdbWrong = f('vxlan-fdb-missing', 'a', { subject: 'vxlan.calico/10.0.1.1', details: { mac: '66:de:ad:be:ef:01' } });
    const fdbOther = f('vxlan-fdb-missing', 'a', { subject: 'vxlan.calico/10.0.2.1', details: { mac: '66:00:00:00:00:03' } });
    const out = by(explainFindings([fdbWrong, mm, fdbOther]));
    expect(out.get(fdbWrong.id)).toBe(mm.id);
    expect(out.get(fdbOther.id)).toBeUndefined();
    expect(out.get(mm.id)).toBeUndefined();
  });

  it('a wrong FDB destination explains the failed ARP for that destination only', () => {
    const fdb = f('vxlan-fdb-mismatch', 'a', { peer: 'b', details: { seenDst: '10.213.0.250', expectedDst: '10.213.0.12' } });
    const arp = f('underlay-neighbor-failed', 'a', { subject: '10.213.0.250', details: { peerIp: '10.213.0.250' } });
    const arpOther = f('underlay-neighbor-failed', 'a', { subject: '10.213.0.13', details: { peerIp: '10.213.0.13' } });
    const out = by(explainFindings([arp, fdb, arpOther]));
    expect(out.get(arp.id)).toBe(fdb.id);
    expect(out.get(arpOther.id)).toBeUndefined();
  });

  it('an empty guarding set explains each peer missing from it and the guard drop counter; a single missing host explains its guard drops', () => {
    const empty = f('ipset-all-hosts-missing', 'a', { subject: 'cali40all-vxlan-net' });
    const hosts = ['b', 'c'].map((p) => f('host-not-in-allowed-set', 'a', { peer: p }));
    const drops = f('iptables-drops-rising', 'a', { severity: 'warning', details: { chain: 'cali-INPUT', guard: { set: 'cali40all-vxlan-net' } } });
    const out = by(explainFindings([empty, ...hosts, drops]));
    for (const h of hosts) expect(out.get(h.id)).toBe(empty.id);
    expect(out.get(drops.id)).toBe(empty.id);

    const host = f('host-not-in-allowed-set', 'x', { peer: 'y', details: { peerAddresses: ['192.0.2.2'] } });
    const encapDrop = f('iptables-drops-rising', 'x', { severity: 'warning', details: { chain: 'cali-INPUT', encapsulation: 'vxlan', sources: ['192.0.2.2/32'] } });
    const unrelated = f('iptables-drops-rising', 'x', { severity: 'warning', subject: 'fw', details: { chain: 'cali-FORWARD', caliId: 'abc' } });
    const out2 = by(explainFindings([host, encapDrop, unrelated]));
    expect(out2.get(encapDrop.id)).toBe(host.id);
    expect(out2.get(unrelated.id)).toBeUndefined();
  });

  it("several nodes lacking the same address of one peer are one fault: the first node's finding is the root", () => {
    const on = (node: string, addr: string) => f('host-not-in-allowed-set', node, { peer: 'a', details: { peerAddresses: [addr] } });
    const b = on('b', '10.213.0.111');
    const c = on('c', '10.213.0.111');
    const other = on('d', '10.213.0.11');
    const out = by(explainFindings([c, other, b]));
    expect(out.get(b.id)).toBeUndefined();
    expect(out.get(c.id)).toBe(b.id);
    expect(out.get(other.id)).toBeUndefined();
  });

  it("a BGP session down explains route-missing for the blocks of the node behind that session only", () => {
    const bgp = f('bgp-peer-down', 'a', { subject: 'Mesh_192_0_2_2', details: { protocol: 'Mesh_192_0_2_2' } });
    const behind = f('route-missing', 'a', { peer: 'b', details: { peerNodeIPs: ['192.0.2.2'] } });
    const elsewhere = f('route-missing', 'a', { peer: 'c', details: { peerNodeIPs: ['192.0.2.3'] } });
    const out = by(explainFindings([bgp, behind, elsewhere]));
    expect(out.get(behind.id)).toBe(bgp.id);
    expect(out.get(elsewhere.id)).toBeUndefined();
  });

  // #18: one fault, one root — the agent's bgp-peer-down and the aggregator's bgp-session-down name one session
  it("the cluster-wide BGP session finding is the root of the node's own peer-down finding and, through it, of the routes it lost", () => {
    const session = f('bgp-session-down', 'a', { peer: 'b', subject: 'Mesh_192_0_2_2', details: { local: { node: 'a', protocol: 'Mesh_192_0_2_2', state: 'start' }, peerIp: '192.0.2.2' } });
    const own = f('bgp-peer-down', 'a', { subject: 'Mesh_192_0_2_2', details: { protocol: 'Mesh_192_0_2_2' } });
    const otherSession = f('bgp-peer-down', 'a', { subject: 'Mesh_192_0_2_3', details: { protocol: 'Mesh_192_0_2_3' } });
    const peerEnd = f('bgp-peer-down', 'b', { subject: 'Mesh_192_0_2_2', details: { protocol: 'Mesh_192_0_2_2' } });
    const behind = f('route-missing', 'a', { peer: 'b', details: { peerNodeIPs: ['192.0.2.2'] } });
    const out = by(explainFindings([behind, own, otherSession, peerEnd, session]));
    expect(out.get(own.id)).toBe(session.id);
    expect(out.get(behind.id)).toBe(session.id);
    expect(out.get(otherSession.id)).toBeUndefined();
    expect(out.get(peerEnd.id)).toBeUndefined();
    expect(out.get(session.id)).toBeUndefined();
  });

  it('a stale agent explains every other finding on its node; explainedBy always names a root (chains are followed)', () => {
    const stale = f('agent-stale', 'a', { severity: 'warning' });
    const down = f('tunnel-down', 'a');
    const route = f('route-missing', 'a', { peer: 'b' });
    const out = by(explainFindings([route, down, stale]));
    expect(out.get(down.id)).toBe(stale.id);
    expect(out.get(route.id)).toBe(stale.id);
    expect(out.get(stale.id)).toBeUndefined();
  });

  it('breaks a cycle by keeping the finding whose rule comes first as a root', () => {
    const rules: CauseRule[] = [
      { root: 'x-rule', explains: ['y-rule'], why: 'test' },
      { root: 'y-rule', explains: ['x-rule'], why: 'test' },
    ];
    const x = f('x-rule', 'a');
    const y = f('y-rule', 'a');
    const out = by(explainFindings([y, x], rules));
    expect(out.get(x.id)).toBeUndefined();
    expect(out.get(y.id)).toBe(x.id);
  });

  it('clears an explainedBy whose root is gone, keeps order, and the output validates against the contract', () => {
    const orphan = { ...f('route-missing', 'a', { peer: 'b' }), explainedBy: 'tunnel-down/a//' };
    const lone = f('ip-forward-disabled', 'b');
    const out = explainFindings([orphan, lone]);
    expect(out.map((x) => x.id)).toEqual([orphan.id, lone.id]);
    expect(out[0]!.explainedBy).toBeUndefined();
    for (const x of out) expect(Finding.safeParse(x).success).toBe(true);
    // a report of an older version (no explainedBy) still parses
    const { explainedBy: _e, ...older } = orphan;
    expect(Finding.safeParse(older).success).toBe(true);
  });

  it('groups roots with their consequences; every rule names a root rule and at least one consequence', () => {
    const down = f('tunnel-down', 'a');
    const route = f('route-missing', 'a', { peer: 'b' });
    const lone = f('ip-forward-disabled', 'b');
    const groups = groupFindings(explainFindings([down, route, lone]));
    expect(groups.map((g) => [g.root.id, g.consequences.map((c) => c.id)])).toEqual([
      [down.id, [route.id]],
      [lone.id, []],
    ]);
    for (const c of CAUSE_RULES) expect(c.explains.length).toBeGreaterThan(0);
  });
});
