/**
 * One scan of every node's routes per pass, shared by route-missing and route-wrong-next-hop
 * (memoised in ClusterIndex.shared): which blocks each node has an exact route for, and which of
 * those routes lead somewhere other than the block's owner. Route verdicts are memoised per entry
 * id of the shared route table (common.ts memoFor), per set of device names the judging node uses
 * (Calico's standard names on nearly every node): each distinct route is judged once per pass.
 */
import type { Route } from '../../contract/snapshot.js';
import type { ClusterIndex, IndexedNode } from '../cluster-map.js';
import { blockGroupOf, carried, carry, isMainTable, memoFor, ok, programsBlockRoutes, sectionList, SKIP, UNSET, vxlanDevice } from './common.js';

export interface HopContext {
  vx4: string;
  vx6: string;
  ipip: string;
  tunnelDevices: ReadonlySet<string>;
}

const contextOf = (a: IndexedNode): HopContext => ({
  vx4: vxlanDevice(a, 'inet'),
  vx6: vxlanDevice(a, 'inet6'),
  ipip: a.ipip?.device ?? 'tunl0',
  tunnelDevices: a.tunnelDevices,
});

/** Everything a route's verdict depends on besides the route: nodes with the same names share verdicts. */
const contextKey = (ctx: HopContext): string => `${KEY}|${ctx.vx4}|${ctx.vx6}|${ctx.ipip}|${[...ctx.tunnelDevices].sort().join(',')}`;

/** Does this next hop reach node b, for a node with device names `ctx`? */
export const hopOk = (ctx: HopContext, b: IndexedNode, gateway: string | null, dev: string | null, v6: boolean): boolean => {
  if (dev === null) return false;
  if (dev === (v6 ? ctx.vx6 : ctx.vx4)) {
    const bt = v6 ? b.vxlan6 : b.vxlan;
    return bt !== null && bt.ip !== null && gateway === bt.ip;
  }
  if (dev === ctx.ipip) return gateway !== null && b.underlayIPs.includes(gateway);
  if (dev.startsWith('wireguard') || dev.startsWith('wg-v6')) return true;
  if (ctx.tunnelDevices.has(dev)) return false;
  return gateway !== null && b.underlayIPs.includes(gateway);
};

/** `g * 2 + (wrong next hop ? 1 : 0)` for a main-table unicast route that is exactly block group g, else SKIP. */
const judge = (index: ClusterIndex, ctx: HopContext, r: Route): number => {
  if (r.type !== 'unicast' || !isMainTable(r)) return SKIP;
  const g = blockGroupOf(index, r);
  if (g === undefined) return SKIP;
  const group = index.blockGroups[g]!;
  if (group.owners.length !== 1) return g * 2;
  const b = index.nodes[group.owners[0]!]!;
  const v6 = r.family === 'inet6';
  let bad = false;
  if (r.nexthops.length === 0) bad = !hopOk(ctx, b, r.gateway, r.dev, v6);
  else for (const h of r.nexthops) if (!hopOk(ctx, b, h.gateway, h.dev, v6)) bad = true;
  return g * 2 + (bad ? 1 : 0);
};

export interface NodeRouteScan {
  node: IndexedNode;
  /** block groups (single owner, not this node, owner's routes ok) with no exact route here */
  uncovered: number[];
  /** exact block routes whose next hop does not reach the block's single owner */
  wrong: { route: Route; group: number; ctx: HopContext }[];
}

const KEY = 'route-scan';

/** The nodes judged for routes: fresh, routes ok, expected to program block routes. */
export const scanRoutes = (index: ClusterIndex): NodeRouteScan[] => {
  const held = index.shared.get(KEY) as NodeRouteScan[] | undefined;
  if (held !== undefined) return held;
  const groups = index.blockGroups;
  const covered = new Int32Array(groups.length).fill(-1);
  // groups every node must route (single owner whose routes are ok), counted once, so that a node
  // covering them all skips the walk over every group
  const eligible = new Uint8Array(groups.length);
  const ownedEligible = new Int32Array(index.nodes.length);
  let eligibleCount = 0;
  // each group's first owner (-1 for none), read per route without dereferencing the group
  const firstOwner = new Int32Array(groups.length).fill(-1);
  for (let g = 0; g < groups.length; g++) {
    const owners = groups[g]!.owners;
    if (owners.length > 0) firstOwner[g] = owners[0]!;
    if (owners.length !== 1 || !ok(index.nodes[owners[0]!]!, 'routes')) continue;
    eligible[g] = 1;
    eligibleCount++;
    ownedEligible[owners[0]!]!++;
  }
  const out: NodeRouteScan[] = [];
  for (const a of index.fresh) {
    if (!programsBlockRoutes(a)) continue;
    const routes = sectionList(index, a, 'routes');
    if (routes === null) continue;
    const held = carried<NodeRouteScan>(index, KEY, routes.key);
    if (held !== undefined) {
      out.push({ ...held, node: a });
      continue;
    }
    const ctx = contextOf(a);
    const memo = memoFor(index, routes.table, contextKey(ctx));
    const scan: NodeRouteScan = { node: a, uncovered: [], wrong: [] };
    let coveredCount = 0;
    const { ids } = routes;
    const values = routes.table.values;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k] as number;
      let v = memo[id] as number;
      if (v === UNSET) memo[id] = v = judge(index, ctx, values[id] as Route);
      if (v === SKIP) continue;
      const g = v >> 1;
      const owner = firstOwner[g];
      if (covered[g] !== a.i) {
        covered[g] = a.i;
        if (eligible[g] === 1 && owner !== a.i) coveredCount++;
      }
      if ((v & 1) === 1 && owner !== a.i) scan.wrong.push({ route: values[id] as Route, group: g, ctx });
    }
    if (coveredCount < eligibleCount - ownedEligible[a.i]!) {
      for (let g = 0; g < groups.length; g++) {
        if (covered[g] === a.i || eligible[g] === 0 || firstOwner[g] === a.i) continue;
        scan.uncovered.push(g);
      }
    }
    carry(index, KEY, routes.key, scan);
    out.push(scan);
  }
  index.shared.set(KEY, out);
  return out;
};
