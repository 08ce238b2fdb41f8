/**
 * Which form node A's route to peer B's block must have, from the nodes' own reports (#19):
 *  - A without encapsulation (BGP): direct, via one of B's node IPs on the underlay, programmed by
 *    BIRD (`proto bird`);
 *  - A with VXLAN: through the tunnel (via B's tunnel IP dev vxlan.calico onlink), programmed by
 *    Felix; in CrossSubnet mode a peer on A's own subnet is routed directly (via B's node IP, still
 *    Felix's);
 *  - A with IPIP: via B's node IP dev tunl0 (BIRD), CrossSubnet same-subnet peers directly.
 * Same subnet = one of B's node IPs lies in the subnet of one of A's node addresses (address and
 * prefix length from A's `addresses` section). CrossSubnet is a property of the IP pool: the
 * datastore's pools say it when the aggregator runs in a cluster; without them a node in a tunnel
 * mode that routes a same-subnet peer directly shows it (Felix/BIRD program such routes only in
 * CrossSubnet mode), so one direct same-subnet route anywhere makes the cluster CrossSubnet.
 * Mixed VXLAN+IPIP nodes and WireGuard nodes are not judged (either form may be right).
 *
 * route-wrong-form: A's exact route for B's block reaches B (else route-wrong-next-hop reports it)
 * but has the other form: direct where the pair must tunnel (critical: across subnets the underlay
 * cannot deliver pod addresses) or tunnelled where it must be direct (warning: works, but
 * encapsulates traffic Calico sends plain).
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Route } from '../../contract/snapshot.js';
import { routeHops } from '../../agent/derive/identity.js';
import type { ClusterIndex, IndexedNode } from '../cluster-map.js';
import { blockGroupOf, describeRoute, indexFor, isMainTable, memoFor, programsBlockRoutes, sectionList, SKIP, UNSET, vxlanDevice } from './common.js';
import { contains, parseCidr, type Cidr } from './net.js';
import { hasDatastorePart, type CorrelateInput, type CorrelateRule } from './types.js';

export const RULE_ID = 'route-wrong-form';

export type RouteForm = 'tunnel' | 'direct';

export interface PairExpectation {
  form: RouteForm;
  /** who programs the route in Calico */
  programmer: 'bird' | 'felix';
  /** the tunnel device for the tunnel form */
  device: string | null;
  /** why this form (mode, subnet) */
  reason: string;
}

const SUBNETS_KEY = 'route-form/subnets';
const CROSS_KEY = 'route-form/cross-subnet';

/** The subnets of a node's underlay addresses (node IPs with their prefix length), memoised per pass. */
export const nodeSubnets = (index: ClusterIndex, n: IndexedNode): Cidr[] => {
  let memo = index.shared.get(SUBNETS_KEY) as Map<number, Cidr[]> | undefined;
  if (memo === undefined) index.shared.set(SUBNETS_KEY, (memo = new Map()));
  const held = memo.get(n.i);
  if (held !== undefined) return held;
  const out: Cidr[] = [];
  const sec = n.state.report.sections.addresses;
  if (sec.status === 'ok') {
    for (const a of sec.data) {
      if (!n.underlayIPs.includes(a.local)) continue;
      const c = parseCidr(`${a.local}/${a.prefixlen}`);
      if (c !== null && c.prefix > 0 && c.prefix < (c.family === 'inet' ? 32 : 128)) out.push(c);
    }
  }
  memo.set(n.i, out);
  return out;
};

/** True when one of b's node IPs is on a subnet of a's underlay addresses; null when a's subnets are unknown. */
export const sameSubnet = (index: ClusterIndex, a: IndexedNode, b: IndexedNode): boolean | null => {
  const subnets = nodeSubnets(index, a);
  if (subnets.length === 0) return null;
  return nodeAddrs(index, b).some((c) => subnets.some((s) => contains(s, c)));
};

const ADDRS_KEY = 'route-form/addresses';

/** A node's underlay IPs parsed, memoised per pass. */
const nodeAddrs = (index: ClusterIndex, n: IndexedNode): Cidr[] => {
  let memo = index.shared.get(ADDRS_KEY) as Map<number, Cidr[]> | undefined;
  if (memo === undefined) index.shared.set(ADDRS_KEY, (memo = new Map()));
  let held = memo.get(n.i);
  if (held === undefined) memo.set(n.i, (held = n.underlayIPs.map((ip) => parseCidr(ip)).filter((c): c is Cidr => c !== null)));
  return held;
};

const tunnelMode = (n: IndexedNode): boolean => n.state.report.mode.encapsulation === 'vxlan' || n.state.report.mode.encapsulation === 'ipip';

/** Does this route reach b without encapsulation (every hop via one of b's node IPs on a non-tunnel device)? */
const isDirectTo = (r: Route, a: IndexedNode, b: IndexedNode): boolean => {
  const hops = routeHops(r);
  return hops.length > 0 && hops.every((h) => h.dev !== null && !a.tunnelDevices.has(h.dev) && h.gateway !== null && b.underlayIPs.includes(h.gateway));
};

/** Does this route reach b through a tunnel device of a (VXLAN via b's tunnel IP, IPIP via b's node IP)? */
const isTunnelTo = (r: Route, a: IndexedNode, b: IndexedNode): boolean => {
  const v6 = r.family === 'inet6';
  const vx = vxlanDevice(a, v6 ? 'inet6' : 'inet');
  const bt = v6 ? b.vxlan6 : b.vxlan;
  const hops = routeHops(r);
  return (
    hops.length > 0 &&
    hops.every(
      (h) =>
        (h.dev === vx && bt?.ip != null && h.gateway === bt.ip) ||
        (h.dev !== null && h.dev === (a.ipip?.device ?? 'tunl0') && h.gateway !== null && b.underlayIPs.includes(h.gateway)),
    )
  );
};

const DIRECT = 1;
const TUNNEL = 2;

/**
 * `g * 4 + form` for a main-table IPv4 unicast route that is exactly block group g of a single
 * other owner and reaches it (form DIRECT or TUNNEL, 0 when it does not reach the owner), else SKIP.
 * Depends on the route and a's device names only: memoised per shared entry (common.ts memoFor).
 */
const judgeForm = (index: ClusterIndex, a: IndexedNode, r: Route): number => {
  if (r.type !== 'unicast' || !isMainTable(r) || r.family !== 'inet') return SKIP;
  const g = blockGroupOf(index, r);
  if (g === undefined) return SKIP;
  const group = index.blockGroups[g]!;
  if (group.owners.length !== 1) return SKIP;
  const b = index.nodes[group.owners[0]!]!;
  return g * 4 + (isDirectTo(r, a, b) ? DIRECT : isTunnelTo(r, a, b) ? TUNNEL : 0);
};

const formQuestion = (a: IndexedNode): string =>
  `route-form|${vxlanDevice(a, 'inet')}|${a.ipip?.device ?? 'tunl0'}|${[...a.tunnelDevices].sort().join(',')}`;

/** Calls `visit(route, group, form)` for each of a's exact routes to another single owner's block that reaches it. */
const eachFormedRoute = (index: ClusterIndex, a: IndexedNode, visit: (r: Route, g: number, form: number) => boolean | void): void => {
  const routes = sectionList(index, a, 'routes');
  if (routes === null) return;
  const memo = memoFor(index, routes.table, formQuestion(a));
  const { ids } = routes;
  const values = routes.table.values;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k] as number;
    let v = memo[id] as number;
    if (v === UNSET) memo[id] = v = judgeForm(index, a, values[id] as Route);
    if (v === SKIP || (v & 3) === 0) continue;
    const g = v >> 2;
    if (index.blockGroups[g]!.owners[0] === a.i) continue;
    if (visit(values[id] as Route, g, v & 3) === true) return;
  }
};

/**
 * Is the cluster's pool CrossSubnet? The datastore's pools when read; else true when some node in
 * a tunnel mode routes a same-subnet peer's block directly. Memoised per pass.
 */
export const crossSubnet = (input: CorrelateInput, index: ClusterIndex): { value: boolean; source: string } => {
  const held = index.shared.get(CROSS_KEY) as { value: boolean; source: string } | undefined;
  if (held !== undefined) return held;
  let out: { value: boolean; source: string } = { value: false, source: 'no node routes a same-subnet peer directly' };
  if (hasDatastorePart(input.datastore, 'ipPools') && input.datastore.ipPools.length > 0) {
    const cs = input.datastore.ipPools.find((p) => !p.disabled && (p.vxlanMode === 'CrossSubnet' || p.ipipMode === 'CrossSubnet'));
    out = cs ? { value: true, source: `IP pool ${cs.name} is CrossSubnet` } : { value: false, source: 'no IP pool is CrossSubnet' };
  } else {
    for (const a of index.fresh) {
      if (!tunnelMode(a) || a.state.report.mode.wireguard) continue;
      eachFormedRoute(index, a, (_r, g, form) => {
        if (form !== DIRECT) return false;
        const group = index.blockGroups[g]!;
        const b = index.nodes[group.owners[0]!]!;
        if (sameSubnet(index, a, b) !== true) return false;
        out = { value: true, source: `${a.name} routes ${b.name}'s block ${group.raw} directly on their shared subnet` };
        return true;
      });
      if (out.value) break;
    }
  }
  index.shared.set(CROSS_KEY, out);
  return out;
};

/** The form A's route to B's blocks must have, or null when it cannot be said (mixed modes, WireGuard, unknown subnet). */
export const expectedPairForm = (input: CorrelateInput, index: ClusterIndex, a: IndexedNode, b: IndexedNode): PairExpectation | null => {
  const m = a.state.report.mode;
  if (m.wireguard || m.ebpf) return null;
  if (m.encapsulation === 'none') {
    return m.bgp ? { form: 'direct', programmer: 'bird', device: null, reason: `${a.name} runs BGP without encapsulation` } : null;
  }
  if (m.encapsulation !== 'vxlan' && m.encapsulation !== 'ipip') return null;
  const vxlan = m.encapsulation === 'vxlan';
  const programmer = vxlan ? 'felix' : 'bird';
  const device = vxlan ? vxlanDevice(a, 'inet') : (a.ipip?.device ?? 'tunl0');
  const mode = vxlan ? 'VXLAN' : 'IPIP';
  const cs = crossSubnet(input, index);
  if (!cs.value) return { form: 'tunnel', programmer, device, reason: `${mode} without CrossSubnet (${cs.source})` };
  const same = sameSubnet(index, a, b);
  if (same === null) return null;
  return same
    ? { form: 'direct', programmer, device: null, reason: `${mode} CrossSubnet (${cs.source}); ${b.name} is on ${a.name}'s subnet` }
    : { form: 'tunnel', programmer, device, reason: `${mode} CrossSubnet (${cs.source}); ${b.name} is on another subnet` };
};

/** The route text the expectation stands for (who programs it is in PairExpectation.programmer). */
export const describeExpected = (e: PairExpectation, a: IndexedNode, b: IndexedNode, block: string): string => {
  const nodeIp = b.underlayIPs[0] ?? '<node IP>';
  if (e.form === 'direct') return `${block} via ${nodeIp}`;
  if (e.device === (a.ipip?.device ?? 'tunl0')) return `${block} via ${nodeIp} dev ${e.device} onlink`;
  return `${block} via ${b.vxlan?.ip ?? '<tunnel IP>'} dev ${e.device ?? 'vxlan.calico'} onlink`;
};

const REMEDY =
  "The route has the right peer but the wrong form for this pair. Compare the IP pool's mode (`calicoctl get ippool -o wide`: vxlanMode/ipipMode " +
  'Always or CrossSubnet) with the two nodes\' subnets (`ip -o addr show` on both; CrossSubnet sends peers on the same subnet plain and ' +
  "the others through the tunnel). A hand-added or stale route wins over Calico's: delete it (`ip route del <block>`) and let Felix/BIRD " +
  'reprogram it, or restart calico-node on this node.';

export const routeWrongForm: CorrelateRule = {
  id: RULE_ID,
  description: "A routes B's block in the wrong form (direct where the pair must tunnel, or the reverse)",
  run(input, _map, given) {
    const index = indexFor(input, given);
    const out: FindingDraft[] = [];
    for (const a of index.fresh) {
      if (!programsBlockRoutes(a)) continue;
      const m = a.state.report.mode;
      if (m.wireguard || m.ebpf) continue;
      // which seen forms can be wrong on this node: without encapsulation only tunnelled routes,
      // in a tunnel mode without CrossSubnet only direct ones, with CrossSubnet either (per subnet)
      let suspect: number;
      if (m.encapsulation === 'none') suspect = TUNNEL;
      else if (m.encapsulation === 'vxlan' || m.encapsulation === 'ipip') suspect = crossSubnet(input, index).value ? DIRECT | TUNNEL : DIRECT;
      else continue;
      eachFormedRoute(index, a, (r, g, form) => {
        if ((form & suspect) === 0) return;
        const group = index.blockGroups[g]!;
        const b = index.nodes[group.owners[0]!]!;
        const e = expectedPairForm(input, index, a, b);
        const seen: RouteForm = form === DIRECT ? 'direct' : 'tunnel';
        if (e === null || seen === e.form) return;
        out.push({
          rule: RULE_ID,
          severity: seen === 'direct' ? 'critical' : 'warning',
          node: a.name,
          peer: b.name,
          subject: group.raw,
          summary:
            seen === 'direct'
              ? `${a.name} routes ${b.name}'s block ${group.raw} directly, but the pair must tunnel (${e.reason})`
              : `${a.name} routes ${b.name}'s block ${group.raw} through the tunnel, but the pair is routed directly (${e.reason})`,
          evidence: {
            seen: describeRoute(r),
            expected: describeExpected(e, a, b, group.raw),
            details: { block: group.raw, seenForm: seen, expectedForm: e.form, programmer: e.programmer, reason: e.reason, peerNodeIPs: b.underlayIPs, peerTunnelIP: b.vxlan?.ip ?? null },
          },
          remedy: REMEDY,
        });
      });
    }
    return out;
  },
};
