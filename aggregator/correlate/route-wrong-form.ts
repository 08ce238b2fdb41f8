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
import { contains, parseCidr, type Cidr } from '../../common/net.js';
import type { FindingDraft } from '../../contract/finding.js';
import type { Route } from '../../contract/snapshot.js';
import { routeHops } from '../../contract/calico.js';
import { ROUTE_DIRECT as DIRECT, ROUTE_TUNNEL as TUNNEL, type Block, type Cluster, type NodeView } from '../cluster/cluster.js';
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

/**
 * What one pass knows about route forms, computed lazily and held for the pass (a rule run): each
 * node's subnets and parsed node IPs, and whether the pool is CrossSubnet.
 */
export class FormContext {
  private readonly subnets = new Map<number, Cidr[]>();
  private readonly addrs = new Map<number, Cidr[]>();
  private cross: { value: boolean; source: string } | null = null;

  constructor(
    readonly cluster: Cluster,
    readonly input: CorrelateInput,
  ) {}

  /** The pass's context for this input, shared by the rules of one pass (route-missing, route-wrong-form). */
  static of(cluster: Cluster, input: CorrelateInput): FormContext {
    const held = cluster.shared('route-forms', () => new WeakMap<CorrelateInput, FormContext>());
    let ctx = held.get(input);
    if (ctx === undefined) held.set(input, (ctx = new FormContext(cluster, input)));
    return ctx;
  }

  /** The subnets of a node's underlay addresses (node IPs with their prefix length). */
  nodeSubnets(n: NodeView): Cidr[] {
    const held = this.subnets.get(n.i);
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
    this.subnets.set(n.i, out);
    return out;
  }

  private nodeAddrs(n: NodeView): Cidr[] {
    let held = this.addrs.get(n.i);
    if (held === undefined) this.addrs.set(n.i, (held = n.underlayIPs.map((ip) => parseCidr(ip)).filter((c): c is Cidr => c !== null)));
    return held;
  }

  /** True when one of b's node IPs is on a subnet of a's underlay addresses; null when a's subnets are unknown. */
  sameSubnet(a: NodeView, b: NodeView): boolean | null {
    const subnets = this.nodeSubnets(a);
    if (subnets.length === 0) return null;
    return this.nodeAddrs(b).some((c) => subnets.some((x) => contains(x, c)));
  }

  /**
   * Is the cluster's pool CrossSubnet? The datastore's pools when read; else true when some node
   * in a tunnel mode routes a same-subnet peer's block directly.
   */
  crossSubnet(): { value: boolean; source: string } {
    if (this.cross !== null) return this.cross;
    const input = this.input;
    let out: { value: boolean; source: string } = { value: false, source: 'no node routes a same-subnet peer directly' };
    if (hasDatastorePart(input.datastore, 'ipPools') && input.datastore.ipPools.length > 0) {
      const cs = input.datastore.ipPools.find((p) => !p.disabled && (p.vxlanMode === 'CrossSubnet' || p.ipipMode === 'CrossSubnet'));
      out = cs ? { value: true, source: `IP pool ${cs.name} is CrossSubnet` } : { value: false, source: 'no IP pool is CrossSubnet' };
    } else {
      for (const a of this.cluster.fresh) {
        if (!tunnelMode(a) || a.mode.wireguard) continue;
        eachFormedRoute(this.cluster, a, DIRECT, (_r, block, b) => {
          if (this.sameSubnet(a, b) !== true) return false;
          out = { value: true, source: `${a.name} routes ${b.name}'s block ${block.raw} directly on their shared subnet` };
          return true;
        });
        if (out.value) break;
      }
    }
    this.cross = out;
    return out;
  }

  /** The form a's route to b's blocks must have, or null when it cannot be said (mixed modes, WireGuard, unknown subnet). */
  expectedPairForm(a: NodeView, b: NodeView): PairExpectation | null {
    const m = a.mode;
    if (m.wireguard || m.ebpf) return null;
    if (m.encapsulation === 'none') {
      return m.bgp ? { form: 'direct', programmer: 'bird', device: null, reason: `${a.name} runs BGP without encapsulation` } : null;
    }
    if (m.encapsulation !== 'vxlan' && m.encapsulation !== 'ipip') return null;
    const vxlan = m.encapsulation === 'vxlan';
    const programmer = vxlan ? 'felix' : 'bird';
    const device = vxlan ? a.vxlanDevice('inet') : (a.ipip?.device ?? 'tunl0');
    const mode = vxlan ? 'VXLAN' : 'IPIP';
    const cs = this.crossSubnet();
    if (!cs.value) return { form: 'tunnel', programmer, device, reason: `${mode} without CrossSubnet (${cs.source})` };
    const same = this.sameSubnet(a, b);
    if (same === null) return null;
    return same
      ? { form: 'direct', programmer, device: null, reason: `${mode} CrossSubnet (${cs.source}); ${b.name} is on ${a.name}'s subnet` }
      : { form: 'tunnel', programmer, device, reason: `${mode} CrossSubnet (${cs.source}); ${b.name} is on another subnet` };
  }
}

const tunnelMode = (n: NodeView): boolean => n.mode.encapsulation === 'vxlan' || n.mode.encapsulation === 'ipip';

/**
 * Calls `visit(route, block, owner, form)` for each of a's exact IPv4 routes to another single
 * owner's block that reaches that owner in one of the `wanted` forms (DIRECT: every hop via one of
 * the owner's node IPs on a non-tunnel device; TUNNEL: via its VXLAN tunnel IP on a's VXLAN device,
 * or via its node IP on tunl0), in a's route order (Cluster.formedRoutes: each distinct route entry
 * is judged once per pass, direct-only answers carried across passes). `visit` returns true to stop.
 */
const eachFormedRoute = (cluster: Cluster, a: NodeView, wanted: number, visit: (r: Route, block: Block, b: NodeView, form: number) => boolean | void): void => {
  for (const f of cluster.formedRoutes(a, wanted) ?? []) if (visit(f.route, f.block, f.peer, f.form) === true) return;
};

/** The route text the expectation stands for (who programs it is in PairExpectation.programmer). */
export const describeExpected = (e: PairExpectation, a: NodeView, b: NodeView, block: string): string => {
  // #15: an IPv6 block is routed in its own family (B's IPv6 node address, vxlan-v6.calico)
  const v6 = block.includes(':');
  const nodeIp = b.underlayIPs.find((ip) => ip.includes(':') === v6) ?? '<node IP>';
  if (e.form === 'direct') return `${block} via ${nodeIp}`;
  if (e.device === (a.ipip?.device ?? 'tunl0')) return `${block} via ${nodeIp} dev ${e.device} onlink`;
  if (v6) return `${block} via ${b.vxlan6?.ip ?? '<tunnel IP>'} dev ${a.vxlanDevice('inet6')} onlink`;
  return `${block} via ${b.vxlan?.ip ?? '<tunnel IP>'} dev ${e.device ?? 'vxlan.calico'} onlink`;
};

const describeRoute = (r: Route): string => {
  const via = routeHops(r).map((h) => [h.gateway ? `via ${h.gateway}` : null, h.dev ? `dev ${h.dev}` : null].filter(Boolean).join(' ')).join(' / ');
  return [r.dst, via, `proto ${r.protocol}`].filter(Boolean).join(' ');
};

const REMEDY =
  "The route has the right peer but the wrong form for this pair. Compare the IP pool's mode (`calicoctl get ippool -o wide`: vxlanMode/ipipMode " +
  'Always or CrossSubnet) with the two nodes\' subnets (`ip -o addr show` on both; CrossSubnet sends peers on the same subnet plain and ' +
  "the others through the tunnel). A hand-added or stale route wins over Calico's: delete it (`ip route del <block>`) and let Felix/BIRD " +
  'reprogram it, or restart calico-node on this node.';

export const routeWrongForm: CorrelateRule = {
  id: RULE_ID,
  description: "A routes B's block in the wrong form (direct where the pair must tunnel, or the reverse)",
  run(cluster, input) {
    const ctx = FormContext.of(cluster, input);
    const out: FindingDraft[] = [];
    for (const a of cluster.fresh) {
      if (!a.programsBlockRoutes) continue;
      const m = a.mode;
      if (m.wireguard || m.ebpf) continue;
      // which seen forms can be wrong on this node: without encapsulation only tunnelled routes,
      // in a tunnel mode without CrossSubnet only direct ones, with CrossSubnet either (per subnet)
      let suspect: number;
      if (m.encapsulation === 'none') suspect = TUNNEL;
      else if (tunnelMode(a)) suspect = ctx.crossSubnet().value ? DIRECT | TUNNEL : DIRECT;
      else continue;
      eachFormedRoute(cluster, a, suspect, (r, block, b, form) => {
        const e = ctx.expectedPairForm(a, b);
        const seen: RouteForm = form === DIRECT ? 'direct' : 'tunnel';
        if (e === null || seen === e.form) return;
        out.push({
          rule: RULE_ID,
          severity: seen === 'direct' ? 'critical' : 'warning',
          node: a.name,
          peer: b.name,
          subject: block.raw,
          summary:
            seen === 'direct'
              ? `${a.name} routes ${b.name}'s block ${block.raw} directly, but the pair must tunnel (${e.reason})`
              : `${a.name} routes ${b.name}'s block ${block.raw} through the tunnel, but the pair is routed directly (${e.reason})`,
          evidence: {
            seen: describeRoute(r),
            expected: describeExpected(e, a, b, block.raw),
            details: { block: block.raw, seenForm: seen, expectedForm: e.form, programmer: e.programmer, reason: e.reason, peerNodeIPs: b.underlayIPs, peerTunnelIP: b.vxlan?.ip ?? null },
          },
          remedy: REMEDY,
        });
      });
    }
    return out;
  },
};
