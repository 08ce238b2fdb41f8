/**
 * Gap analysis (pure): from the probe result, the capture records of both nodes, the two nodes'
 * cluster-map entries and their static findings, find the first hop where the probes vanish, in
 * which direction, and what explains it.
 *
 * A probe packet is recognised by ICMP echo identifier = probe id, type request/reply and the inner
 * addresses (source IP → target IP, or back). Uplink hops count only encapsulated copies (VXLAN or
 * IPIP); tunnel and workload hops the plain ones. The hop table (HOPS) is walked in path order:
 * the first hop that was captured and saw none of the probes is the gap; a later hop that still
 * saw probes makes the captures inconsistent (inconclusive), never a guess.
 * On a direct path (no encapsulation between the pair, #19) there are no tunnel hops and the
 * uplink hops count the plain packets; gaps are located the same way, with the direct-path rules.
 */
import type { CaptureRecord, DeviceState, DropReasons } from '../../contract/capture.js';
import type { ClusterNode } from '../../contract/cluster.js';
import type { Cause, Diagnosis, Direction, Endpoint, Hop, HopObservation, RuleHit, Verdict } from '../../contract/diagnosis.js';
import type { Finding } from '../../contract/finding.js';
import { DIRECT_HOP_REMEDIES, DIRECT_HOP_RULES, HOP_RULES, hopWords, remedyFor } from './remedies.js';
import type { PathForm } from './path.js';
import { describeRuleHit } from './rule-hits.js';
import { contains, parseCidr } from '../../common/net.js';

export interface CaptureView {
  device: string;
  ok: boolean;
  records: CaptureRecord[];
  error?: string;
  /** the device's snapshot state when it could not be captured (down/missing: no packet passes it) */
  state?: DeviceState;
  /** renamed since the snapshot (#18): the name its interface index has now */
  renamedTo?: string;
  /** renamed or gone: the last snapshot that still showed it */
  snapshotAt?: string;
  /** its capture had not confirmed listening when the probes were sent */
  notReady?: boolean;
}

export interface SideInput {
  node: ClusterNode;
  findings: Finding[];
  uplink: CaptureView | null;
  tunnel: CaptureView | null;
  workload?: CaptureView | null;
  /** kernel drop reasons the node counted during the capture window; absent: not asked */
  drops?: DropReasons | null;
  /** the MTU of the node's uplink (its latest report), for probes with a size */
  uplinkMtu?: number | null;
}

export interface ProbeView {
  id: number;
  source: string;
  target: string;
  sent: number;
  received: number;
  error?: string;
  /** payload bytes of don't-fragment probes (absent: ping's default, fragmentable) */
  size?: number;
}

export interface AnalyzeInput {
  id: string;
  at: string;
  from: Endpoint;
  to: Endpoint;
  /** null when the probe could not be requested at all (agent unreachable) */
  probe: ProbeView | null;
  source: SideInput;
  destination: SideInput;
  warnings?: string[];
  /** tunnel (default) or direct: a direct path has no tunnel hops and plain packets on the uplinks */
  path?: PathForm;
  /**
   * the DROP/REJECT rules of both nodes whose counters rose by at least the lost probes while the
   * diagnosis ran (rule-hits.ts); absent when the counters could not be read
   */
  ruleHits?: RuleHit[];
}

type Kind = 'request' | 'reply';
interface HopSpec {
  hop: Hop;
  direction: Direction;
  side: 'source' | 'destination';
  capture: 'uplink' | 'tunnel' | 'workload' | 'socket';
  kind: Kind;
}

const SPECS: HopSpec[] = [
  { hop: 'source-workload-out', direction: 'forward', side: 'source', capture: 'workload', kind: 'request' },
  { hop: 'source-tunnel-out', direction: 'forward', side: 'source', capture: 'tunnel', kind: 'request' },
  { hop: 'source-uplink-out', direction: 'forward', side: 'source', capture: 'uplink', kind: 'request' },
  { hop: 'destination-uplink-in', direction: 'forward', side: 'destination', capture: 'uplink', kind: 'request' },
  { hop: 'destination-tunnel-in', direction: 'forward', side: 'destination', capture: 'tunnel', kind: 'request' },
  { hop: 'destination-workload-in', direction: 'forward', side: 'destination', capture: 'workload', kind: 'request' },
  { hop: 'destination-workload-out', direction: 'return', side: 'destination', capture: 'workload', kind: 'reply' },
  { hop: 'destination-tunnel-out', direction: 'return', side: 'destination', capture: 'tunnel', kind: 'reply' },
  { hop: 'destination-uplink-out', direction: 'return', side: 'destination', capture: 'uplink', kind: 'reply' },
  { hop: 'source-uplink-in', direction: 'return', side: 'source', capture: 'uplink', kind: 'reply' },
  { hop: 'source-tunnel-in', direction: 'return', side: 'source', capture: 'tunnel', kind: 'reply' },
  { hop: 'source-workload-in', direction: 'return', side: 'source', capture: 'workload', kind: 'reply' },
  { hop: 'source-received', direction: 'return', side: 'source', capture: 'socket', kind: 'reply' },
];

const normMac = (m: string | null | undefined) => (m ? m.toLowerCase() : null);
const isV6 = (ip: string) => ip.includes(':');

/** Is this record one of the probe's packets of the given kind? */
export const isProbePacket = (r: CaptureRecord, probe: ProbeView, kind: Kind): boolean => {
  if (!r.icmp || r.icmp.id !== probe.id || r.icmp.seq === undefined) return false;
  const v6 = r.protocol === 'icmp6';
  const want = kind === 'request' ? (v6 ? 128 : 8) : v6 ? 129 : 0;
  if (r.icmp.type !== want) return false;
  return kind === 'request' ? r.innerSrc === probe.source && r.innerDst === probe.target : r.innerSrc === probe.target && r.innerDst === probe.source;
};

const vtep = (n: ClusterNode, family: 'inet' | 'inet6') => n.tunnels.find((t) => t.kind === 'vxlan' && t.family === family) ?? null;

const seqsOf = (records: CaptureRecord[], probe: ProbeView, kind: Kind, encapsulated: boolean): number[] =>
  [...new Set(records.filter((r) => isProbePacket(r, probe, kind) && (r.encapsulation !== 'none') === encapsulated).map((r) => r.icmp?.seq as number))].sort((a, b) => a - b);

const observe = (input: AnalyzeInput, probe: ProbeView, spec: HopSpec): HopObservation => {
  const side = input[spec.side];
  const base = { hop: spec.hop, direction: spec.direction, node: side.node.node, expected: probe.sent };
  if (spec.capture === 'socket') {
    const seqs = Array.from({ length: probe.received }, (_, i) => i + 1);
    return { ...base, device: null, status: probe.received > 0 ? 'seen' : 'missing', seqs };
  }
  const cap = spec.capture === 'uplink' ? side.uplink : spec.capture === 'tunnel' ? side.tunnel : (side.workload ?? null);
  if (!cap) return { ...base, device: null, status: 'not-captured', seqs: [], note: 'no capture for this hop' };
  if (!cap.ok) {
    // #18: a device that is down or gone passes no packet: that is this hop's evidence, not a hole
    if (cap.state === 'down' || cap.state === 'missing') {
      const when = cap.state === 'missing' && cap.snapshotAt !== undefined ? `gone since the snapshot at ${cap.snapshotAt}` : 'snapshot';
      return { ...base, device: cap.device, status: 'missing', deviceState: cap.state, seqs: [], note: `${cap.device} is ${cap.state === 'down' ? 'down' : 'missing'} on ${side.node.node} (${when}): no packet can pass it` };
    }
    // #18: renamed since the snapshot: not captured under the planned name; routes that name its
    // interface index may still carry packets, so this is no gap by itself
    if (cap.state === 'renamed') {
      const to = cap.renamedTo !== undefined ? ` to ${cap.renamedTo}` : '';
      const since = cap.snapshotAt !== undefined ? ` since the snapshot at ${cap.snapshotAt}` : ' since the snapshot';
      return { ...base, device: cap.device, status: 'not-captured', deviceState: 'renamed', seqs: [], note: `${cap.device} was renamed${to} on ${side.node.node}${since}: not captured under its planned name` };
    }
    return { ...base, device: cap.device, status: 'not-captured', seqs: [], note: cap.error ?? 'capture failed', ...(cap.state ? { deviceState: cap.state } : {}) };
  }
  let records = cap.records;
  let note: string | undefined;
  if (spec.capture === 'tunnel' && spec.hop.endsWith('-in')) {
    // The capture tap on the tunnel device sees a decapsulated frame before the kernel checks its
    // destination MAC; a frame not addressed to this VTEP is dropped right after (PACKET_OTHERHOST),
    // so it does not count as delivered by the tunnel device.
    const mine = normMac(vtep(side.node, isV6(probe.target) ? 'inet6' : 'inet')?.mac);
    if (mine) {
      const foreign = records.filter((r) => isProbePacket(r, probe, spec.kind) && r.innerDstMac && normMac(r.innerDstMac) !== mine);
      if (foreign.length > 0) {
        records = records.filter((r) => !foreign.includes(r));
        note = `${foreign.length} frame(s) addressed to ${foreign[0]?.innerDstMac}, not to this VTEP (${mine}): dropped by the kernel`;
      }
    }
  }
  const seqs = seqsOf(records, probe, spec.kind, spec.capture === 'uplink' && input.path !== 'direct');
  if (seqs.length === 0 && cap.notReady) {
    return { ...base, device: cap.device, status: 'not-ready', seqs, note: 'its capture was not listening yet when the probes were sent' };
  }
  return { ...base, device: cap.device, status: seqs.length > 0 ? 'seen' : 'missing', seqs, ...(note ? { note } : {}) };
};

/** Packets of the probe seen on an uplink whose inner destination MAC is not the receiver's VTEP MAC. */
const innerMacMismatch = (records: CaptureRecord[], probe: ProbeView, kind: Kind, receiver: ClusterNode): { seen: string; expected: string } | null => {
  const t = vtep(receiver, isV6(probe.target) ? 'inet6' : 'inet');
  const expected = normMac(t?.mac);
  if (!expected) return null;
  const wrong = records.find((r) => isProbePacket(r, probe, kind) && r.encapsulation === 'vxlan' && r.innerDstMac && normMac(r.innerDstMac) !== expected);
  return wrong ? { seen: wrong.innerDstMac as string, expected } : null;
};

const vniMismatch = (records: CaptureRecord[], probe: ProbeView, kind: Kind, receiver: ClusterNode): { seen: number; expected: number } | null => {
  const t = vtep(receiver, isV6(probe.target) ? 'inet6' : 'inet');
  if (!t || t.vni === null) return null;
  const wrong = records.find((r) => isProbePacket(r, probe, kind) && r.encapsulation === 'vxlan' && r.vni !== undefined && r.vni !== t.vni);
  return wrong ? { seen: wrong.vni as number, expected: t.vni } : null;
};

/** Is `ip` a member of the set (an address, or inside a CIDR member)? */
const inSet = (ip: string, members: readonly string[]): boolean => {
  const x = parseCidr(ip);
  return members.some((m) => {
    if (m === ip) return true;
    const c = parseCidr(m);
    return c !== null && x !== null && contains(c, x);
  });
};

/** The addresses in `ips` of the same family as `like`. */
const sameFamily = (ips: readonly string[], like: string): string[] => ips.filter((ip) => ip.includes(':') === like.includes(':'));

/**
 * The encapsulating source (#18): the outer source addresses of the probe's encapsulated packets as
 * the receiver's uplink captured them, those that are not the sender's node IP or not in the
 * receiver's guarding set (its allowed hosts), with why.
 */
export const unexpectedEncapSources = (
  records: readonly CaptureRecord[],
  probe: ProbeView,
  kind: Kind,
  senderIps: readonly string[],
  allowed: readonly string[] | null,
): { ip: string; notNodeIp: boolean; notAllowed: boolean }[] => {
  const seen = [...new Set(records.filter((r) => isProbePacket(r, probe, kind) && r.encapsulation !== 'none').map((r) => r.outerSrc))];
  // the sender owns an address of the same family the receiver allows, yet sends from another one:
  // the source, not the set, is wrong (a set lacking the sender's address of that family is
  // host-not-in-allowed-set). Families apart: a dual-stack sender's IPv4 address says nothing of
  // the IPv6 source its IPv6 tunnel uses.
  return seen
    .map((ip) => {
      const own = sameFamily(senderIps, ip);
      const senderAllowed = allowed !== null && own.some((a) => inSet(a, allowed));
      return { ip, notNodeIp: own.length > 0 && !own.includes(ip), notAllowed: allowed !== null && !inSet(ip, allowed), senderAllowed };
    })
    .filter((x) => x.notNodeIp || (x.notAllowed && x.senderAllowed))
    .map(({ ip, notNodeIp, notAllowed }) => ({ ip, notNodeIp, notAllowed }));
};

/** Causes the captures and the cluster map show by themselves at the gap hop. */
const capturedCauses = (input: AnalyzeInput, probe: ProbeView, hop: Hop, gapHop: HopObservation): Cause[] => {
  const { source: src, destination: dst } = input;
  const causes: Cause[] = [];
  if (gapHop.deviceState === 'down' || gapHop.deviceState === 'missing') {
    const tunnelHop = /-tunnel-/.test(hop);
    causes.push({
      rule: tunnelHop ? (gapHop.deviceState === 'down' ? 'tunnel-down' : 'tunnel-missing') : 'device-down',
      node: gapHop.node,
      fromCapture: true,
      detail: `${gapHop.node}'s ${gapHop.device ?? 'device'} is ${gapHop.deviceState === 'down' ? 'down' : 'missing'}, so it could not be captured and no probe can pass it`,
    });
  }
  const forward = hop === 'destination-tunnel-in' || hop === 'source-uplink-out' || hop === 'destination-uplink-in';
  const [sender, receiver, kind]: [SideInput, SideInput, Kind] = forward ? [src, dst, 'request'] : [dst, src, 'reply'];
  if (hop === 'destination-tunnel-in' || hop === 'source-tunnel-in') {
    const recs = receiver.uplink?.ok ? receiver.uplink.records : [];
    const mac = innerMacMismatch(recs, probe, kind, receiver.node);
    if (mac) {
      causes.push({
        rule: 'vxlan-neighbor-mac-mismatch',
        node: sender.node.node,
        fromCapture: true,
        detail: `${sender.node.node} encapsulates for inner destination MAC ${mac.seen}, but ${receiver.node.node}'s VTEP MAC is ${mac.expected}: ${receiver.node.node}'s tunnel device drops the frames`,
      });
    }
    const vni = vniMismatch(recs, probe, kind, receiver.node);
    if (vni) {
      causes.push({ rule: 'tunnel-config-mismatch', node: sender.node.node, fromCapture: true, detail: `packets carry VNI ${vni.seen}; ${receiver.node.node} listens on VNI ${vni.expected}` });
    }
    const senderIps = sender.node.nodeIPs;
    const allowed = receiver.node.allowedHosts;
    const odd = unexpectedEncapSources(recs, probe, kind, senderIps, allowed);
    if (odd.length > 0) {
      const why = odd
        .map((o) => `${o.ip} (${[o.notNodeIp ? `not ${sender.node.node}'s node IP ${senderIps.join(' / ')}` : '', o.notAllowed ? `not in ${receiver.node.node}'s set guarding encapsulated traffic` : ''].filter((w) => w !== '').join(', ')})`)
        .join('; ');
      causes.push({
        rule: 'encap-source-unexpected',
        node: sender.node.node,
        fromCapture: true,
        detail: `${receiver.node.node}'s uplink captured ${sender.node.node}'s encapsulated probes from outer source ${why}: IP autodetection on ${sender.node.node} chose another interface (or its tunnel device sends from another address), so ${receiver.node.node}'s guard drops the packets`,
      });
    }
    const probeFamilyIps = sameFamily(senderIps, probe.target);
    if (!odd.some((o) => o.notAllowed) && allowed !== null && probeFamilyIps.length > 0 && !probeFamilyIps.some((ip) => inSet(ip, allowed))) {
      causes.push({
        rule: 'host-not-in-allowed-set',
        node: receiver.node.node,
        fromCapture: true,
        detail: `${receiver.node.node}'s set guarding encapsulated traffic (its allowed hosts) lacks ${sender.node.node} (${senderIps.join(', ')}): Felix's guard drops its VXLAN/IPIP packets`,
      });
    }
  }
  if (hop === 'source-uplink-out' || hop === 'destination-uplink-out') {
    // The tunnel device's frames carry the MAC the sender resolved the peer's tunnel IP to.
    const recs = sender.tunnel?.ok ? sender.tunnel.records : [];
    const expected = normMac(vtep(receiver.node, isV6(probe.target) ? 'inet6' : 'inet')?.mac);
    const frame = recs.find((r) => isProbePacket(r, probe, kind) && r.innerDstMac);
    if (expected && frame && normMac(frame.innerDstMac) !== expected) {
      causes.push({
        rule: 'vxlan-neighbor-mac-mismatch',
        node: sender.node.node,
        fromCapture: true,
        detail: `${sender.node.node} resolves ${receiver.node.node}'s tunnel IP to ${frame.innerDstMac}, but its VTEP MAC is ${expected}; with no FDB entry for that MAC the frames die in ${sender.tunnel?.device ?? 'the tunnel device'}`,
      });
    } else if (expected) {
      causes.push({
        rule: 'vxlan-fdb-mismatch',
        node: sender.node.node,
        fromCapture: true,
        detail: `${sender.node.node}'s ${sender.tunnel?.device ?? 'tunnel device'} took the probes but nothing left its uplink towards ${receiver.node.node}: check its FDB entry ${expected} dst ${receiver.node.nodeIPs.join(', ')}`,
      });
    }
  }
  return causes;
};

/**
 * Large don't-fragment probes (#18): a node whose uplink cannot carry them once encapsulated loses
 * them whichever way they go (the first may leave before the kernel learns the path MTU; the reply
 * then dies on the way in). Pure arithmetic on the probe size, the mode and the uplink MTUs.
 */
const mtuCauses = (input: AnalyzeInput, probe: ProbeView): Cause[] => {
  if (probe.size === undefined) return [];
  const v6 = isV6(probe.target);
  const packet = probe.size + (v6 ? 48 : 28);
  const out: Cause[] = [];
  for (const side of [input.source, input.destination]) {
    const enc = side.node.mode.encapsulation;
    const overhead = enc === 'vxlan' ? (v6 ? 70 : 50) : enc === 'ipip' ? 20 : 0;
    const mtu = side.uplinkMtu;
    if (!mtu || packet + overhead <= mtu) continue;
    out.push({
      rule: 'tunnel-mtu',
      node: side.node.node,
      fromCapture: true,
      detail: `${side.node.node}'s uplink MTU ${mtu} cannot carry the ${packet}-byte probes once encapsulated (${packet + overhead} bytes with ${enc}): the tunnel MTU must be at most ${mtu - overhead}`,
    });
  }
  return out;
};

const relevantFindings = (input: AnalyzeInput, hop: Hop): Finding[] => {
  const rules = (input.path === 'direct' ? DIRECT_HOP_RULES[hop] : HOP_RULES[hop]) ?? [];
  const out: Finding[] = [];
  for (const [role, rule] of rules) {
    const side = input[role];
    const other = role === 'source' ? input.destination : input.source;
    for (const f of side.findings) {
      if (f.rule !== rule || f.node !== side.node.node) continue;
      if (f.peer !== undefined && f.peer !== other.node.node) continue;
      if (!out.some((x) => x.id === f.id)) out.push(f);
    }
  }
  return out;
};

const describeEndpoint = (e: Endpoint) => (e.kind === 'pod' ? `pod ${e.ip} on ${e.node}` : `node ${e.node} (${e.ip})`);

export const analyze = (input: AnalyzeInput): Diagnosis => {
  const warnings = [...(input.warnings ?? [])];
  const common = { id: input.id, at: input.at, from: input.from, to: input.to, warnings, ...(input.ruleHits ? { rules: input.ruleHits } : {}) };
  const route = `${describeEndpoint(input.from)} → ${describeEndpoint(input.to)}`;
  const probe = input.probe;
  if (!probe) {
    return { ...common, verdict: 'inconclusive', hops: [], causes: [], findings: [], summary: `${route}: the probe could not be sent (source agent unreachable).`, remedy: remedyFor('inconclusive') };
  }
  const probeOut = { id: probe.id, source: probe.source, target: probe.target, sent: probe.sent, received: probe.received, ...(probe.size !== undefined ? { size: probe.size } : {}) };
  // workload hops: the target pod's, and the source pod's when the probe left from the pod itself
  const workloadOf = { destination: input.to.kind === 'pod', source: input.from.kind === 'pod' && probe.source === input.from.ip };
  const direct = input.path === 'direct';
  const specs = SPECS.filter((s) => (s.capture !== 'workload' || workloadOf[s.side]) && !(direct && s.capture === 'tunnel'));
  const first = specs[0]!.hop;
  const hopRemedy = (hop: Hop): string | undefined => (direct ? DIRECT_HOP_REMEDIES[hop] : undefined) ?? remedyFor(hop);

  if (probe.sent === 0) {
    // ping could not even send: no route / unusable source address on the source node
    const hops = specs.map((s) => ({ ...observe(input, { ...probe, sent: 0 }, s), status: s.hop === first ? ('missing' as const) : ('not-captured' as const) }));
    const gap = { node: input.source.node.node, hop: first, direction: 'forward' as const };
    const findings = relevantFindings(input, first);
    return {
      ...common,
      probe: probeOut,
      verdict: 'no-path',
      gap,
      hops,
      causes: findings.map((f) => ({ rule: f.rule, node: f.node, detail: f.summary, fromCapture: false })),
      findings,
      summary: `${route}: ${input.source.node.node} could not send the probe at all${probe.error ? ` (${probe.error})` : ''}.`,
      remedy: findings[0]?.remedy ?? remedyFor('route-missing'),
    };
  }

  const hops = specs.map((s) => observe(input, probe, s));
  const captured = hops.filter((h) => h.status === 'seen' || h.status === 'missing');
  const gapIndex = hops.findIndex((h) => h.status === 'missing');
  const lost = probe.sent - probe.received;

  if (gapIndex < 0) {
    const verdict: Verdict = captured.length > 1 ? 'healthy' : 'inconclusive';
    const notCaptured = hops.filter((h) => h.status === 'not-captured' || h.status === 'not-ready').map((h) => h.hop);
    return {
      ...common,
      probe: probeOut,
      verdict,
      hops,
      causes: [],
      findings: [],
      summary:
        verdict === 'healthy'
          ? `${route}: healthy — ${probe.received}/${probe.sent} probes answered and every captured hop saw them${direct ? ' (direct path, no tunnel)' : ''}${lost > 0 ? ` (${lost} lost on the way)` : ''}${notCaptured.length ? `; not captured: ${notCaptured.join(', ')}` : ''}.`
          : `${route}: the replies arrived but no hop could be captured.`,
      remedy: remedyFor(verdict),
    };
  }

  const gapHop = hops[gapIndex] as HopObservation;
  const laterSeen = hops.slice(gapIndex + 1).filter((h) => h.status === 'seen' && h.hop !== 'source-received');
  if (laterSeen.length > 0) {
    warnings.push(`probes vanished at ${gapHop.hop} but were seen later at ${laterSeen.map((h) => h.hop).join(', ')}: a capture missed packets`);
    return {
      ...common,
      probe: probeOut,
      verdict: 'inconclusive',
      hops,
      causes: [],
      findings: [],
      summary: `${route}: the captures disagree (nothing at ${gapHop.hop}, yet probes at ${laterSeen[0]?.hop}); run the diagnosis again.`,
      remedy: remedyFor('inconclusive'),
    };
  }

  const gap = { node: gapHop.node, hop: gapHop.hop, direction: gapHop.direction };
  const gapSide = gapHop.node === input.destination.node.node ? input.destination : input.source;
  if (gapSide.drops) gapHop.drops = gapSide.drops;
  const dropWords = gapSide.drops ? ` ${describeDrops(gapHop.node, gapSide.drops)}` : '';
  // the exact rule (#18): counters on the gap's node that rose with the lost probes
  const gapRules = (input.ruleHits ?? []).filter((h) => h.node === gapHop.node);
  if (gapRules.length > 0) gapHop.rules = gapRules;
  const findings = relevantFindings(input, gapHop.hop);
  // the capture-derived causes are about VXLAN/IPIP frames: none on a direct path
  const fromCapture = direct ? [] : [...mtuCauses(input, probe), ...capturedCauses(input, probe, gapHop.hop, gapHop)];
  const causes: Cause[] = [...fromCapture];
  for (const f of findings) {
    if (!causes.some((c) => c.rule === f.rule && c.node === f.node)) causes.push({ rule: f.rule, node: f.node, detail: f.summary, fromCapture: false });
  }
  // A wrong inner MAC is certain evidence; other capture-derived guesses rank behind static findings.
  causes.sort((a, b) => rank(b, findings) - rank(a, findings));
  const verdict: Verdict = gapIndex === 0 ? 'no-path' : 'one-way-gap';
  const lastSeen = hops.slice(0, gapIndex).filter((h) => h.status === 'seen').pop();
  const top = causes[0];
  const remedy = findings.find((f) => f.rule === top?.rule)?.remedy ?? (top ? remedyFor(top.rule, gapHop.hop) : hopRemedy(gapHop.hop)) ?? remedyFor(gapHop.hop);
  const where = hopWords(gapHop.hop, input.source.node.node, input.destination.node.node, gapHop.device);
  const summary =
    verdict === 'no-path'
      ? `${route}: no path — the probes never reached ${where}.${top ? ` Likely cause: ${top.detail} (${top.rule} on ${top.node}).` : ''}${dropWords}`
      : `${route}: one-way gap on the ${gapHop.direction} path — the probes ${lastSeen ? `passed ${hopWords(lastSeen.hop, input.source.node.node, input.destination.node.node, lastSeen.device)} but ` : ''}never reached ${where}.${top ? ` Likely cause: ${top.detail} (${top.rule} on ${top.node}).` : ' No static finding explains it.'}${dropWords}`;
  const ruleWords = gapRules.length > 0 ? ` Rule${gapRules.length > 1 ? 's' : ''} that dropped them: ${gapRules.map(describeRuleHit).join('; ')}.` : '';
  return { ...common, probe: probeOut, verdict, gap, hops, causes, findings, summary: summary + ruleWords, remedy };
};

/** One sentence on the kernel drop reasons of the gap node's window (pure). */
export const describeDrops = (node: string, d: DropReasons): string => {
  if (!d.available) return `Kernel drop reasons unavailable on ${node}: ${d.why ?? 'unknown'}.`;
  if (d.counts.length === 0) return `The kernel of ${node} counted no IP packet drop with a reason during the window.`;
  const top = d.counts.slice(0, 3).map((c) => `${c.reason} ×${c.count} at ${c.location}`);
  return `Kernel drop reasons on ${node} during the window (all traffic of the node): ${top.join(', ')}${d.counts.length > 3 ? `, and ${d.total - d.counts.slice(0, 3).reduce((n, c) => n + c.count, 0)} more` : ''}.`;
};

const rank = (c: Cause, findings: Finding[]): number => {
  if (c.fromCapture && ['vxlan-neighbor-mac-mismatch', 'tunnel-down', 'tunnel-missing', 'device-down', 'tunnel-mtu'].includes(c.rule)) return 3;
  if (!c.fromCapture) return findings.find((f) => f.rule === c.rule)?.severity === 'critical' ? 2 : 1.5;
  // the outer source the receiver actually saw: more specific than a set lacking the address
  if (c.rule === 'encap-source-unexpected') return 2.8;
  if (c.rule === 'host-not-in-allowed-set' || c.rule === 'tunnel-config-mismatch') return 2.5;
  return 1;
};
