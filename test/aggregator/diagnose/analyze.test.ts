import { describe, expect, it } from 'vitest';
import { analyze, unexpectedEncapSources, type AnalyzeInput, type CaptureView } from '../../../aggregator/diagnose/analyze.js';
import type { CaptureRecord } from '../../../contract/capture.js';
import type { ClusterNode } from '../../../contract/cluster.js';
import { Diagnosis, type Hop } from '../../../contract/diagnosis.js';
import type { Finding } from '../../../contract/finding.js';

const node = (name: string, i: number, over: Partial<ClusterNode> = {}): ClusterNode => ({
  node: name,
  stale: false,
  receivedAt: '2026-11-21T15:00:00Z',
  mode: { encapsulation: 'vxlan', wireguard: false, ebpf: false, bgp: false, evidence: [] },
  nodeIPs: [`10.213.0.1${i}`],
  tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: `10.244.${i}.0`, mac: `66:00:00:00:00:0${i}`, vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: `10.213.0.1${i}` }],
  blocks: [`10.244.${i}.0/26`],
  workloads: [{ ip: `10.244.${i}.5`, dev: `cali0000000000${i}` }],
  allowedHosts: ['10.213.0.11', '10.213.0.12'],
  mtu: 1500,
  ...over,
});

const A = node('node-a', 1);
const B = node('node-b', 2);
const SRC = '10.244.1.0';
const POD = '10.244.2.5';
const PROBE = { id: 4242, source: SRC, target: POD, sent: 3, received: 3 };

type Kind = 'request' | 'reply';
const rec = (kind: Kind, seq: number, iface: string, encap: boolean, over: Partial<CaptureRecord> = {}): CaptureRecord => {
  const [s, d] = kind === 'request' ? [SRC, POD] : [POD, SRC];
  const [os, od] = kind === 'request' ? ['10.213.0.11', '10.213.0.12'] : ['10.213.0.12', '10.213.0.11'];
  return {
    time: `2026-11-21T15:00:0${seq}.000000Z`,
    interface: iface,
    outerSrc: encap ? os : s,
    outerDst: encap ? od : d,
    encapsulation: encap ? 'vxlan' : 'none',
    ...(encap ? { vni: 4096 } : {}),
    innerSrcMac: kind === 'request' ? '66:00:00:00:00:01' : '66:00:00:00:00:02',
    innerDstMac: kind === 'request' ? '66:00:00:00:00:02' : '66:00:00:00:00:01',
    innerSrc: s,
    innerDst: d,
    protocol: 'icmp',
    icmp: { type: kind === 'request' ? 8 : 0, code: 0, id: 4242, seq },
    ...over,
  };
};
const both = (iface: string, encap: boolean, kinds: Kind[], seqs = [1, 2, 3], over: Partial<CaptureRecord> = {}) =>
  kinds.flatMap((k) => seqs.map((s) => rec(k, s, iface, encap, over)));
const cap = (device: string, records: CaptureRecord[]): CaptureView => ({ device, ok: true, records });

const finding = (rule: string, on: string, peer?: string, severity: Finding['severity'] = 'critical'): Finding => ({
  id: `${rule}/${on}/${peer ?? ''}/`,
  rule,
  severity,
  node: on,
  ...(peer ? { peer } : {}),
  summary: `${rule} on ${on}`,
  evidence: { seen: 'x', expected: 'y', details: {} },
  remedy: `fix ${rule} on ${on}`,
  firstSeen: '2026-11-21T14:00:00Z',
  lastSeen: '2026-11-21T15:00:00Z',
});

/** A fully healthy pod-to-pod exchange; tests remove what a fault would remove. */
const healthy = (): AnalyzeInput => ({
  id: 'diag-1',
  at: '2026-11-21T15:00:10Z',
  from: { input: 'node-a', node: 'node-a', ip: SRC, kind: 'node' },
  to: { input: POD, node: 'node-b', ip: POD, kind: 'pod' },
  probe: { ...PROBE },
  source: {
    node: A,
    findings: [],
    uplink: cap('eth0', both('eth0', true, ['request', 'reply'])),
    tunnel: cap('vxlan.calico', both('vxlan.calico', false, ['request', 'reply'])),
  },
  destination: {
    node: B,
    findings: [],
    uplink: cap('eth0', both('eth0', true, ['request', 'reply'])),
    tunnel: cap('vxlan.calico', both('vxlan.calico', false, ['request', 'reply'])),
    workload: cap('cali00000000002', both('cali00000000002', false, ['request', 'reply'])),
  },
});

const ofKind = (records: CaptureRecord[], kind: Kind) => records.filter((r) => (kind === 'request' ? r.icmp?.type === 8 : r.icmp?.type === 0));
const statuses = (d: Diagnosis) => Object.fromEntries(d.hops.map((h) => [h.hop, h.status])) as Record<Hop, string>;

describe('analyze: healthy', () => {
  it('every hop sees all probes and they are answered → healthy, schema-valid', () => {
    const d = analyze(healthy());
    expect(d.verdict).toBe('healthy');
    expect(d.gap).toBeUndefined();
    expect(d.hops.map((h) => h.hop)).toEqual([
      'source-tunnel-out',
      'source-uplink-out',
      'destination-uplink-in',
      'destination-tunnel-in',
      'destination-workload-in',
      'destination-workload-out',
      'destination-tunnel-out',
      'destination-uplink-out',
      'source-uplink-in',
      'source-tunnel-in',
      'source-received',
    ]);
    expect(d.hops.every((h) => h.status === 'seen' && h.seqs.length === 3)).toBe(true);
    expect(Diagnosis.safeParse(d).success).toBe(true);
    expect(d.summary).toMatch(/healthy/);
  });

  it('a node target has no workload hops', () => {
    const input = healthy();
    input.to = { input: 'node-b', node: 'node-b', ip: POD, kind: 'node' };
    const d = analyze(input);
    expect(d.hops.some((h) => h.hop.includes('workload'))).toBe(false);
    expect(d.hops).toHaveLength(9);
    expect(d.verdict).toBe('healthy');
  });

  it('packets of other pings (another ICMP id) are not counted', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    const other = { icmp: { type: 8, code: 0, id: 1, seq: 1 } };
    for (const side of [input.source, input.destination]) {
      side.uplink = cap('eth0', both('eth0', true, ['request'], [1, 2, 3], other));
      side.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request'], [1, 2, 3], other));
    }
    input.destination.workload = cap('cali00000000002', both('cali00000000002', false, ['request'], [1, 2, 3], other));
    const d = analyze(input);
    expect(d.verdict).toBe('no-path');
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-tunnel-out', direction: 'forward' });
  });
});

describe('analyze: gaps on the forward path', () => {
  // issue #5
  it('wrong neighbour MAC on the source → gap at destination tunnel-in, cause on the source from the inner MAC', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    const wrongMac = { innerDstMac: '66:00:00:00:00:99' };
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request'], [1, 2, 3], wrongMac));
    input.source.uplink = cap('eth0', both('eth0', true, ['request'], [1, 2, 3], wrongMac));
    input.destination.uplink = cap('eth0', both('eth0', true, ['request'], [1, 2, 3], wrongMac));
    input.destination.tunnel = cap('vxlan.calico', []);
    input.destination.workload = cap('cali00000000002', []);
    input.source.findings = [finding('vxlan-neighbor-mac-mismatch', 'node-a', 'node-b'), finding('vxlan-neighbor-mac-mismatch', 'node-a', 'node-c')];
    const d = analyze(input);
    expect(d.verdict).toBe('one-way-gap');
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.causes[0]).toMatchObject({ rule: 'vxlan-neighbor-mac-mismatch', node: 'node-a', fromCapture: true });
    expect(d.causes[0]?.detail).toContain('66:00:00:00:00:99');
    expect(d.causes[0]?.detail).toContain('66:00:00:00:00:02');
    // only the finding about this peer is attached
    expect(d.findings.map((f) => f.id)).toEqual(['vxlan-neighbor-mac-mismatch/node-a/node-b/']);
    expect(d.remedy).toBe('fix vxlan-neighbor-mac-mismatch on node-a');
    expect(d.summary).toMatch(/one-way gap on the forward path/);
    expect(statuses(d)['destination-uplink-in']).toBe('seen');
  });

  it('frames with a foreign inner MAC seen by the destination tunnel tap are not delivered (PACKET_OTHERHOST)', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    const wrongMac = { innerDstMac: '66:00:00:00:00:99' };
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request'], [1, 2, 3], wrongMac));
    input.source.uplink = cap('eth0', both('eth0', true, ['request'], [1, 2, 3], wrongMac));
    input.destination.uplink = cap('eth0', both('eth0', true, ['request'], [1, 2, 3], wrongMac));
    // the real kernel: tcpdump on node-b's vxlan.calico sees the frames, then they are dropped
    input.destination.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request'], [1, 2, 3], wrongMac));
    input.destination.workload = cap('cali00000000002', []);
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    const hop = d.hops.find((h) => h.hop === 'destination-tunnel-in');
    expect(hop?.note).toBe('3 frame(s) addressed to 66:00:00:00:00:99, not to this VTEP (66:00:00:00:00:02): dropped by the kernel');
    expect(d.causes[0]).toMatchObject({ rule: 'vxlan-neighbor-mac-mismatch', node: 'node-a' });
  });

  it('source missing from the destination all-hosts ipset → gap at destination tunnel-in, cause on the destination', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.destination.node = { ...B, allowedHosts: ['10.213.0.12'] };
    input.source.uplink = cap('eth0', both('eth0', true, ['request']));
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    input.destination.uplink = cap('eth0', both('eth0', true, ['request']));
    input.destination.tunnel = cap('vxlan.calico', []);
    input.destination.workload = cap('cali00000000002', []);
    input.destination.findings = [finding('host-not-in-allowed-set', 'node-b', 'node-a')];
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.causes.map((c) => `${c.rule}@${c.node}`)).toEqual(['host-not-in-allowed-set@node-b']);
    expect(d.findings).toHaveLength(1);
  });

  // #18
  it('the sender encapsulates from an address the receiver does not allow while its node IP is allowed → IP autodetection chose another interface', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    // node-a owns 10.213.0.11 (allowed on node-b) and 10.213.0.111, the address its VXLAN leaves from
    input.source.node = { ...A, nodeIPs: ['10.213.0.11', '10.213.0.111'] };
    const fromSecondary = { outerSrc: '10.213.0.111' };
    input.source.uplink = cap('eth0', both('eth0', true, ['request'], [1, 2, 3], fromSecondary));
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    input.destination.uplink = cap('eth0', both('eth0', true, ['request'], [1, 2, 3], fromSecondary));
    input.destination.tunnel = cap('vxlan.calico', []);
    input.destination.workload = cap('cali00000000002', []);
    input.destination.findings = [finding('host-not-in-allowed-set', 'node-b', 'node-a')];
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.causes.map((c) => `${c.rule}@${c.node}`)).toEqual(['encap-source-unexpected@node-a', 'host-not-in-allowed-set@node-b']);
    expect(d.causes[0]!.detail).toContain("10.213.0.111 (not in node-b's set guarding encapsulated traffic)");
    expect(d.causes[0]!.detail).toContain('IP autodetection on node-a chose another interface');
    expect(d.summary).toContain('IP autodetection on node-a chose another interface');
    expect(d.remedy).toMatch(/IP_AUTODETECTION_METHOD/);

    // an outer source that is not the sender's node IP at all is named too, even when a CIDR member allows it
    input.destination.node = { ...B, allowedHosts: ['10.213.0.0/24'] };
    input.source.node = A;
    const d2 = analyze(input);
    expect(d2.causes[0]).toMatchObject({ rule: 'encap-source-unexpected', node: 'node-a' });
    expect(d2.causes[0]!.detail).toContain("10.213.0.111 (not node-a's node IP 10.213.0.11)");
  });

  it('DROP rule in cali-FORWARD on the destination → gap at destination workload-in', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.source.uplink = cap('eth0', both('eth0', true, ['request']));
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    input.destination.uplink = cap('eth0', both('eth0', true, ['request']));
    input.destination.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    input.destination.workload = cap('cali00000000002', []);
    input.destination.findings = [finding('iptables-drops-rising', 'node-b', undefined, 'warning')];
    const d = analyze(input);
    expect(d.verdict).toBe('one-way-gap');
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-workload-in', direction: 'forward' });
    expect(d.causes).toEqual([{ rule: 'iptables-drops-rising', node: 'node-b', detail: 'iptables-drops-rising on node-b', fromCapture: false }]);
  });

  it('underlay drop → gap at destination uplink-in with the underlay runbook step', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.source.uplink = cap('eth0', both('eth0', true, ['request']));
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    input.destination.uplink = cap('eth0', []);
    input.destination.tunnel = cap('vxlan.calico', []);
    input.destination.workload = cap('cali00000000002', []);
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-uplink-in', direction: 'forward' });
    expect(d.causes).toEqual([]);
    expect(d.remedy).toMatch(/UDP 4789/);
    expect(d.summary).toMatch(/No static finding explains it/);
  });

  it('probes enter the source tunnel but never leave the uplink: wrong neighbour MAC seen on the tunnel device', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request'], [1, 2, 3], { innerDstMac: '66:00:00:00:00:99' }));
    input.source.uplink = cap('eth0', []);
    input.destination.uplink = cap('eth0', []);
    input.destination.tunnel = cap('vxlan.calico', []);
    input.destination.workload = cap('cali00000000002', []);
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-uplink-out', direction: 'forward' });
    expect(d.causes[0]).toMatchObject({ rule: 'vxlan-neighbor-mac-mismatch', node: 'node-a' });
    // with the right MAC the FDB is the suspect
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    expect(analyze(input).causes[0]).toMatchObject({ rule: 'vxlan-fdb-mismatch', node: 'node-a' });
  });

  it('nothing enters the source tunnel → no-path at the source, route-missing finding attached', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    for (const side of [input.source, input.destination]) {
      side.uplink = cap('eth0', []);
      side.tunnel = cap('vxlan.calico', []);
    }
    input.destination.workload = cap('cali00000000002', []);
    input.source.findings = [finding('route-missing', 'node-a', 'node-b')];
    const d = analyze(input);
    expect(d.verdict).toBe('no-path');
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-tunnel-out', direction: 'forward' });
    expect(d.causes[0]).toMatchObject({ rule: 'route-missing', node: 'node-a' });
  });

  it('ping could not send at all (Network is unreachable) → no-path with its message', () => {
    const input = healthy();
    input.probe = { ...PROBE, sent: 0, received: 0, error: 'ping: connect: Network is unreachable' };
    const d = analyze(input);
    expect(d.verdict).toBe('no-path');
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-tunnel-out', direction: 'forward' });
    expect(d.summary).toContain('Network is unreachable');
  });
});

describe('analyze: gaps on the return path', () => {
  const forwardOk = (): AnalyzeInput => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.source.uplink = cap('eth0', both('eth0', true, ['request']));
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    return input;
  };

  it('missing return route on the destination → gap at destination tunnel-out (return)', () => {
    const input = forwardOk();
    input.destination.uplink = cap('eth0', both('eth0', true, ['request']));
    input.destination.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    input.destination.workload = cap('cali00000000002', both('cali00000000002', false, ['request', 'reply']));
    input.destination.findings = [finding('route-missing', 'node-b', 'node-a')];
    const d = analyze(input);
    expect(d.verdict).toBe('one-way-gap');
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-out', direction: 'return' });
    expect(d.causes[0]).toMatchObject({ rule: 'route-missing', node: 'node-b' });
    expect(d.summary).toMatch(/return path/);
  });

  it('the pod does not answer → gap at destination workload-out', () => {
    const input = forwardOk();
    input.destination.uplink = cap('eth0', both('eth0', true, ['request']));
    input.destination.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    input.destination.workload = cap('cali00000000002', both('cali00000000002', false, ['request']));
    expect(analyze(input).gap).toEqual({ node: 'node-b', hop: 'destination-workload-out', direction: 'return' });
  });

  it('replies with the wrong inner MAC reach the source uplink → gap at source tunnel-in, cause on the destination', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    const wrong = both('eth0', true, ['reply'], [1, 2, 3], { innerDstMac: '66:00:00:00:00:77' });
    input.source.uplink = cap('eth0', [...ofKind(both('eth0', true, ['request']), 'request'), ...wrong]);
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-tunnel-in', direction: 'return' });
    expect(d.causes[0]).toMatchObject({ rule: 'vxlan-neighbor-mac-mismatch', node: 'node-b', fromCapture: true });
  });

  it('replies reach the source tunnel device but not ping → gap at source-received (rp_filter / INPUT)', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.source.findings = [finding('rp-filter-strict', 'node-a')];
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-received', direction: 'return' });
    expect(d.causes[0]).toMatchObject({ rule: 'rp-filter-strict', node: 'node-a' });
  });

  it('underlay drop on the way back → gap at source uplink-in', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.source.uplink = cap('eth0', both('eth0', true, ['request']));
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-uplink-in', direction: 'return' });
  });
});

describe('analyze: IPv6', () => {
  it('ICMPv6 echo over vxlan-v6.calico: matched by type 128/129, inner MAC checked against the IPv6 VTEP', () => {
    const v6 = (n: ClusterNode, i: number): ClusterNode => ({
      ...n,
      tunnels: [{ device: 'vxlan-v6.calico', kind: 'vxlan', family: 'inet6', ip: `fd00:${i}::`, mac: `66:00:00:00:06:0${i}`, vni: 4096, port: 4789, mtu: 1430, operstate: 'UNKNOWN', local: null }],
    });
    const SRC6 = 'fd00:1::';
    const DST6 = 'fd00:2::5';
    const r6 = (kind: Kind, seq: number, iface: string, encap: boolean, dstMac?: string): CaptureRecord => ({
      time: `2026-11-21T15:00:0${seq}.000000Z`,
      interface: iface,
      outerSrc: kind === 'request' ? 'fd77::11' : 'fd77::12',
      outerDst: kind === 'request' ? 'fd77::12' : 'fd77::11',
      encapsulation: encap ? 'vxlan' : 'none',
      innerDstMac: dstMac ?? (kind === 'request' ? '66:00:00:00:06:02' : '66:00:00:00:06:01'),
      innerSrc: kind === 'request' ? SRC6 : DST6,
      innerDst: kind === 'request' ? DST6 : SRC6,
      protocol: 'icmp6',
      icmp: { type: kind === 'request' ? 128 : 129, code: 0, id: 4242, seq },
    });
    const input = healthy();
    input.probe = { id: 4242, source: SRC6, target: DST6, sent: 1, received: 0 };
    input.to = { input: DST6, node: 'node-b', ip: DST6, kind: 'pod' };
    input.source.node = v6(A, 1);
    input.destination.node = v6(B, 2);
    input.source.tunnel = cap('vxlan-v6.calico', [r6('request', 1, 'vxlan-v6.calico', false, '66:00:00:00:06:99')]);
    input.source.uplink = cap('eth0', [r6('request', 1, 'eth0', true, '66:00:00:00:06:99')]);
    input.destination.uplink = cap('eth0', [r6('request', 1, 'eth0', true, '66:00:00:00:06:99')]);
    input.destination.tunnel = cap('vxlan-v6.calico', []);
    input.destination.workload = cap('cali00000000002', []);
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.causes[0]).toMatchObject({ rule: 'vxlan-neighbor-mac-mismatch', node: 'node-a' });
    expect(d.causes[0]?.detail).toContain('66:00:00:00:06:02');
  });
});

describe('analyze: inconclusive', () => {
  it('no probe result at all', () => {
    const input = healthy();
    input.probe = null;
    expect(analyze(input)).toMatchObject({ verdict: 'inconclusive', hops: [] });
  });

  it('captures that disagree (nothing at a hop, probes later) are never turned into a guess', () => {
    const input = healthy();
    input.destination.tunnel = cap('vxlan.calico', []);
    const d = analyze(input);
    expect(d.verdict).toBe('inconclusive');
    expect(d.gap).toBeUndefined();
    expect(d.warnings[0]).toMatch(/destination-tunnel-in/);
  });

  it('a failed capture is not-captured and skipped; the gap is found at the next captured hop', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0 };
    input.source.tunnel = { device: 'vxlan.calico', ok: false, records: [], error: 'tcpdump missing' };
    input.source.uplink = cap('eth0', both('eth0', true, ['request']));
    input.destination.uplink = cap('eth0', []);
    input.destination.tunnel = cap('vxlan.calico', []);
    input.destination.workload = cap('cali00000000002', []);
    const d = analyze(input);
    expect(statuses(d)['source-tunnel-out']).toBe('not-captured');
    expect(d.gap?.hop).toBe('destination-uplink-in');
  });

  it('only the socket hop observed (every capture failed) → inconclusive, not healthy', () => {
    const input = healthy();
    const failed = (device: string): CaptureView => ({ device, ok: false, records: [], error: 'agent unreachable' });
    input.source.uplink = failed('eth0');
    input.source.tunnel = failed('vxlan.calico');
    input.destination.uplink = failed('eth0');
    input.destination.tunnel = failed('vxlan.calico');
    input.destination.workload = failed('cali00000000002');
    expect(analyze(input).verdict).toBe('inconclusive');
  });
});

// #18: the responder still had to find out why the probes vanished
/** The probes reach node-b's uplink and go no further. */
const lostAtDestinationTunnel = (): AnalyzeInput => {
  const input = healthy();
  input.source.uplink = cap('eth0', both('eth0', true, ['request']));
  input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
  input.destination.uplink = cap('eth0', both('eth0', true, ['request']));
  input.destination.tunnel = cap('vxlan.calico', []);
  input.destination.workload = cap('cali00000000002', []);
  input.probe = { ...PROBE, received: 0 };
  return input;
};

describe('analyze: kernel drop reasons', () => {
  it('the gap node\'s drop reasons are attached to the gap hop and named in the summary', () => {
    const input = lostAtDestinationTunnel();
    input.destination.drops = { available: true, total: 3, counts: [{ reason: 'OTHERHOST', location: 'ip_rcv_core', count: 3 }] };
    input.source.drops = { available: true, total: 1, counts: [{ reason: 'NO_SOCKET', location: '__udp4_lib_rcv', count: 1 }] };
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    const hop = d.hops.find((h) => h.hop === 'destination-tunnel-in');
    expect(hop?.drops?.counts).toEqual([{ reason: 'OTHERHOST', location: 'ip_rcv_core', count: 3 }]);
    expect(d.hops.filter((h) => h.drops)).toHaveLength(1);
    expect(d.summary).toContain('Kernel drop reasons on node-b during the window (all traffic of the node): OTHERHOST ×3 at ip_rcv_core');
    expect(Diagnosis.safeParse(d).success).toBe(true);
  });

  it('without tracefs the summary says the reasons are unavailable and why', () => {
    const input = lostAtDestinationTunnel();
    input.destination.drops = { available: false, total: 0, counts: [], why: 'tracefs at /sys/kernel/tracing: skb:kfree_skb not found' };
    const d = analyze(input);
    expect(d.summary).toMatch(/Kernel drop reasons unavailable on node-b: tracefs at \/sys\/kernel\/tracing/);
  });

  it('a device snapshot-down at a hop is that hop\'s evidence; a capture not listening yet is not-ready, never the gap', () => {
    const input = lostAtDestinationTunnel();
    input.destination.tunnel = { device: 'vxlan.calico', ok: false, records: [], error: 'vxlan.calico: tcpdump exited 1', state: 'down' };
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.causes[0]).toMatchObject({ rule: 'tunnel-down', node: 'node-b', fromCapture: true });

    const slow = healthy();
    slow.destination.workload = { ...cap('cali00000000002', []), notReady: true };
    const s = analyze(slow);
    expect(statuses(s)['destination-workload-in']).toBe('not-ready');
    expect(s.verdict).toBe('healthy');
  });
});

describe('analyze: a device renamed or gone since the snapshot', () => {
  // #18
  it('renamed: the hop is not captured and its note names the new name and the snapshot time, never a gap by itself', () => {
    const input = healthy();
    input.destination.tunnel = { device: 'vxlan.calico', ok: false, records: [], error: 'vxlan.calico: renamed to vxlan.moved since the snapshot at 2026-12-06T20:00:00.000Z (ifindex 7)', state: 'renamed', renamedTo: 'vxlan.moved', snapshotAt: '2026-12-06T20:00:00.000Z' };
    const d = analyze(input);
    const hop = d.hops.find((h) => h.hop === 'destination-tunnel-in');
    expect(hop).toMatchObject({ status: 'not-captured', deviceState: 'renamed', note: 'vxlan.calico was renamed to vxlan.moved on node-b since the snapshot at 2026-12-06T20:00:00.000Z: not captured under its planned name' });
    expect(d.gap).toBeUndefined();
    expect(Diagnosis.safeParse(d).success).toBe(true);
  });

  it('gone since the snapshot: the hop is missing and its note says since when', () => {
    const input = lostAtDestinationTunnel();
    input.destination.tunnel = { device: 'vxlan.calico', ok: false, records: [], error: 'vxlan.calico: gone since the snapshot at 2026-12-06T20:00:00.000Z', state: 'missing', snapshotAt: '2026-12-06T20:00:00.000Z' };
    const d = analyze(input);
    expect(d.hops.find((h) => h.hop === 'destination-tunnel-in')).toMatchObject({ status: 'missing', deviceState: 'missing', note: 'vxlan.calico is missing on node-b (gone since the snapshot at 2026-12-06T20:00:00.000Z): no packet can pass it' });
    expect(d.causes[0]).toMatchObject({ rule: 'tunnel-missing', node: 'node-b' });
  });
});

describe('analyze: large don\'t-fragment probes', () => {
  // #18
  it('a node whose uplink cannot carry the encapsulated probes is the cause, whichever hop they vanish at', () => {
    const input = healthy();
    input.probe = { ...PROBE, received: 0, size: 1422 };
    input.source.uplinkMtu = 1400;
    input.destination.uplinkMtu = 1500;
    input.source.uplink = cap('eth0', both('eth0', true, ['request']));
    input.source.tunnel = cap('vxlan.calico', both('vxlan.calico', false, ['request']));
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-uplink-in', direction: 'return' });
    expect(d.causes[0]).toMatchObject({ rule: 'tunnel-mtu', node: 'node-a', fromCapture: true });
    expect(d.causes[0]?.detail).toContain('uplink MTU 1400 cannot carry the 1450-byte probes once encapsulated (1500 bytes with vxlan)');
    expect(d.probe?.size).toBe(1422);
    // the same probes fit a 1500 uplink: no MTU cause
    const fits = analyze({ ...input, source: { ...input.source, uplinkMtu: 1500 } });
    expect(fits.causes.some((c) => c.rule === 'tunnel-mtu')).toBe(false);
  });
});

// #19
describe('analyze: direct paths (no encapsulation between the pair)', () => {
  const NA = node('node-a', 1, { mode: { encapsulation: 'none', wireguard: false, ebpf: false, bgp: true, evidence: [] }, tunnels: [] });
  const NB = node('node-b', 2, { mode: { encapsulation: 'none', wireguard: false, ebpf: false, bgp: true, evidence: [] }, tunnels: [] });
  /** plain packets on the uplinks, no tunnel device on either side */
  const direct = (): AnalyzeInput => ({
    ...healthy(),
    path: 'direct',
    source: { node: NA, findings: [], uplink: cap('eth0', both('eth0', false, ['request', 'reply'])), tunnel: null },
    destination: {
      node: NB,
      findings: [],
      uplink: cap('eth0', both('eth0', false, ['request', 'reply'])),
      tunnel: null,
      workload: cap('cali00000000002', both('cali00000000002', false, ['request', 'reply'])),
    },
  });

  it('a healthy direct path is healthy, with uplink and workload hops only', () => {
    const d = analyze(direct());
    expect(d.verdict, d.summary).toBe('healthy');
    expect(d.hops.map((h) => h.hop)).toEqual([
      'source-uplink-out', 'destination-uplink-in', 'destination-workload-in', 'destination-workload-out', 'destination-uplink-out', 'source-uplink-in', 'source-received',
    ]);
    expect(d.summary).toMatch(/direct path/);
    expect(Diagnosis.safeParse(d).success).toBe(true);
  });

  it('encapsulated copies do not count on a direct path, plain ones do not count on a tunnelled one', () => {
    const input = direct();
    input.destination.uplink = cap('eth0', both('eth0', true, ['request', 'reply']));
    expect(statuses(analyze(input))['destination-uplink-in']).toBe('missing');
    const tunnelled = healthy();
    tunnelled.destination.uplink = cap('eth0', both('eth0', false, ['request', 'reply']));
    expect(statuses(analyze(tunnelled))['destination-uplink-in']).toBe('missing');
  });

  it('no route on the source (BGP session down): gap at destination uplink-in, causes route-missing and the session on the source', () => {
    const input = direct();
    input.destination.uplink = cap('eth0', []);
    input.destination.workload = cap('cali00000000002', []);
    input.source.uplink = cap('eth0', both('eth0', false, ['request']));
    input.probe = { ...PROBE, received: 0 };
    input.source.findings = [finding('route-missing', 'node-a', 'node-b'), finding('bgp-session-down', 'node-a', 'node-b'), finding('vxlan-fdb-mismatch', 'node-a', 'node-b')];
    const d = analyze(input);
    expect(d.verdict).toBe('one-way-gap');
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-uplink-in', direction: 'forward' });
    expect(d.causes.map((c) => c.rule)).toEqual(['route-missing', 'bgp-session-down']);
    expect(d.causes.every((c) => !c.fromCapture)).toBe(true);
  });

  it('no route back on the destination: gap at destination uplink-out, the destination named', () => {
    const input = direct();
    input.destination.uplink = cap('eth0', both('eth0', false, ['request']));
    input.source.uplink = cap('eth0', both('eth0', false, ['request']));
    input.probe = { ...PROBE, received: 0 };
    input.destination.findings = [finding('route-missing', 'node-b', 'node-a')];
    const d = analyze(input);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-uplink-out', direction: 'return' });
    expect(d.causes).toEqual([expect.objectContaining({ rule: 'route-missing', node: 'node-b' })]);
  });

  it('nothing sent on a direct path: the first hop is the source uplink', () => {
    const input = direct();
    input.probe = { ...PROBE, sent: 0, received: 0 };
    const d = analyze(input);
    expect(d.verdict).toBe('no-path');
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-uplink-out', direction: 'forward' });
  });
});

describe('the encapsulating source on a dual-stack sender', () => {
  const probe6 = { id: 7, source: 'fd00:10:244:1::', target: 'fd00:10:244:2::1', sent: 3, received: 0 };
  const v6Request = (outerSrc: string, seq: number): CaptureRecord => ({
    time: `2026-01-01T00:00:0${seq}.000000Z`,
    interface: 'eth0',
    outerSrc,
    outerDst: 'fd00:cd::c',
    encapsulation: 'vxlan',
    innerSrc: probe6.source,
    innerDst: probe6.target,
    protocol: 'icmp6',
    icmp: { type: 128, code: 0, id: probe6.id, seq },
  });
  const senderIps = ['10.213.0.11', 'fd00:cd::b'];

  // found by the dual-stack lab: the sender's allowed IPv4 address made its IPv6 source look wrong
  it('takes the sender’s IPv6 node IP missing from the receiver’s IPv6 set for a set problem, not a wrong source', () => {
    const allowed = ['10.213.0.11', '10.213.0.12'];
    expect(unexpectedEncapSources([v6Request('fd00:cd::b', 1)], probe6, 'request', senderIps, allowed)).toEqual([]);
  });

  it('still names an IPv6 source that is not the sender’s IPv6 node IP', () => {
    const allowed = ['10.213.0.11', 'fd00:cd::b'];
    expect(unexpectedEncapSources([v6Request('fd00:cd::99', 1)], probe6, 'request', senderIps, allowed)).toEqual([{ ip: 'fd00:cd::99', notNodeIp: true, notAllowed: true }]);
  });
});
