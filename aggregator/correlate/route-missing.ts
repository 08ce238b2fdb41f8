/**
 * route-missing: node A has no route covering one of peer B's blocks (VXLAN, IPIP or BGP routes all
 * count). Checked only when both nodes' routes sections are ok and A is expected to program block
 * routes (overlay or BGP). Exact block routes are matched by CIDR through the index; only blocks
 * left uncovered fall back to a longest-prefix lookup over A's routes (an aggregate route counts,
 * the default route and anything shorter than the block's IP pool do not).
 * The expected route has the form the pair must have (route-wrong-form.ts: tunnel or direct, Felix or
 * BIRD). When A's BIRD has a session toward B, the finding says its state (#19): a session that is
 * not Established explains the missing route; an Established one means B does not advertise it.
 */
import { contains, parseCidr, PrefixTable, type Cidr } from '../../common/net.js';
import type { FindingDraft } from '../../contract/finding.js';
import type { Route } from '../../contract/snapshot.js';
import { isMainTable, type NodeView } from '../cluster/cluster.js';
import { hasDatastorePart, type CorrelateRule } from './types.js';
import { describeExpected, FormContext } from './route-wrong-form.js';
import { describeEnd, sessionToward } from './bgp-session-down.js';

export const RULE_ID = 'route-missing';

const REMEDY =
  "This node has no route for the peer's block, so traffic to the peer's pods follows the default route and is lost. " +
  "Check calico-node on this node (Felix readiness, and for BGP `calicoctl node status` / BIRD sessions to the peer); " +
  "confirm the block still belongs to the peer (`calicoctl ipam show --show-blocks`); restarting calico-node here " +
  'makes Felix/BIRD reprogram the routes.';

/** The route for B's block without a known pair form, in the block's family (#15: IPv6 blocks go via vxlan-v6.calico). */
const fallbackExpected = (b: NodeView, block: string): string => {
  const v6 = block.includes(':');
  const enc = b.state.report.mode.encapsulation;
  const nodeIP = b.underlayIPs.find((ip) => ip.includes(':') === v6) ?? '<node IP>';
  const tunnel = v6 ? b.vxlan6 : b.vxlan;
  if ((enc === 'vxlan' || enc === 'vxlan+ipip') && tunnel?.ip) return `${block} via ${tunnel.ip} dev ${tunnel.device} onlink`;
  if (enc === 'ipip' && !v6) return `${block} via ${nodeIP} dev tunl0 onlink`;
  return `${block} via ${nodeIP}`;
};

/** B's tunnel address of the block's family (IPIP carries IPv4 only). */
const peerTunnelIP = (b: NodeView, block: string): string | null =>
  block.includes(':') ? (b.vxlan6?.ip ?? null) : (b.vxlan?.ip ?? b.ipip?.ip ?? null);

/** Longest-prefix lookup over a node's main-table unicast routes (not the default route). */
const routeTable = (routes: readonly Route[]): PrefixTable<string> => {
  const table = new PrefixTable<string>();
  for (const r of routes) {
    if (r.type !== 'unicast' || !isMainTable(r) || r.dst === 'default') continue;
    const c = parseCidr(r.dst);
    if (c !== null && c.prefix > 0) table.add(c, r.dst);
  }
  return table;
};

export const routeMissing: CorrelateRule = {
  id: RULE_ID,
  description: "A has no route covering one of B's blocks",
  run(cluster, input) {
    const out: FindingDraft[] = [];
    const forms = FormContext.of(cluster, input);
    const pools: Cidr[] = hasDatastorePart(input.datastore, 'ipPools')
      ? input.datastore.ipPools.map((p) => parseCidr(p.cidr)).filter((c): c is Cidr => c !== null)
      : [];
    // an aggregate route counts, but not one shorter than the IP pool the block comes from
    const minPrefixFor = (c: Cidr): number => {
      let best = 1;
      for (const p of pools) if (contains(p, c) && p.prefix > best) best = p.prefix;
      return best;
    };
    for (const a of cluster.fresh) {
      if (!a.programsBlockRoutes) continue;
      const missing = cluster.blockRoutes(a)?.missing ?? [];
      let table: PrefixTable<string> | null = null;
      for (const { peer: b, block } of missing) {
        table ??= routeTable(cluster.routes(a) ?? []);
        if (table.lookup(block.cidr, minPrefixFor(block.cidr)) !== undefined) continue;
        const form = forms.expectedPairForm(a, b);
        const session = a.mode.bgp ? sessionToward(a, b) : null;
        const byBird = form?.programmer === 'bird';
        const because =
          session === null || !byBird
            ? ''
            : !session.established
              ? `: BGP session ${session.protocol} to ${b.name} is ${session.state} ${session.info}`.trimEnd()
              : `: BGP session ${session.protocol} to ${b.name} is Established, so ${b.name} does not advertise the block`;
        out.push({
          rule: RULE_ID,
          severity: 'critical',
          node: a.name,
          peer: b.name,
          subject: block.raw,
          summary: `${a.name} has no route for ${b.name}'s block ${block.raw}${because}`,
          evidence: {
            seen: `no route in the main table covers ${block.raw}${session ? `; ${describeEnd(session)}` : ''}`,
            expected: form ? describeExpected(form, a, b, block.raw) : fallbackExpected(b, block.raw),
            details: {
              block: block.raw,
              peerNodeIPs: b.underlayIPs,
              peerTunnelIP: peerTunnelIP(b, block.raw),
              mode: a.mode.encapsulation,
              expectedForm: form ? { form: form.form, programmer: form.programmer, reason: form.reason } : null,
              // the BGP session toward the peer (A's end): not Established explains the missing route
              bgpSession: session ? { ...session, explains: !session.established && byBird } : null,
            },
          },
          remedy: REMEDY,
        });
      }
    }
    return out;
  },
};
