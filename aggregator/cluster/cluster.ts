/**
 * The cluster as the correlation rules read it, built once per pass from the nodes' latest
 * reports (pure: `now` comes in). It answers in the domain's terms: the nodes (fresh or stale) and
 * their own truth (./node-view.ts), who owns a tunnel IP, VTEP MAC, node IP or block, and every
 * node's per-peer state checked against the peer's truth:
 *
 *   cluster.vxlanPeerEntries(a, 'neighbours', 'inet')  → entries that do not match their peer, peers without one
 *   cluster.blockRoutes(a)                             → peers' blocks a has no exact route for, routes leading elsewhere
 *   cluster.peersNotInHostSets(b, 'inet', sets)        → peers whose encapsulated traffic b's all-hosts sets refuse
 *
 * The store's packed layout, the per-entry memo and the results carried across passes stay behind
 * these (./peer-state.ts). Alongside, it builds the wire-shaped cluster map (GET /v1/cluster).
 *
 * Stale nodes (no report for more than staleAfterIntervals × their interval) stay in the map marked
 * `stale`, but are left out of the lookups: their state is neither checked nor used as the truth
 * peers must agree with (agent-stale reports them instead), so a dead node does not turn into N
 * findings on its peers.
 */
import { parseCidr, type Cidr, type Family } from '../../common/net.js';
import type { ClusterMap } from '../../contract/cluster.js';
import type { FdbEntry, Neighbour, Route } from '../../contract/snapshot.js';
import { nodeIsStale, type NodeState } from './node-state.js';
import { NodeView } from './node-view.js';
import { memberCount, PassMemo, scanHostSets, scanRouteForms, scanRoutes, scanVxlan, type Block, type Carry, type PassIndex, type VxlanKind } from './peer-state.js';

export type { Block } from './peer-state.js';
export { allowedSetGroups, HOST_SET_NAMES, NodeView } from './node-view.js';
export { isMainTable, ROUTE_DIRECT, ROUTE_TUNNEL } from './peer-state.js';

/**
 * Results carried across passes (the engine keeps one per process): per question and per node's
 * packed list, dropped whenever the cluster's truth (who owns which node IP, tunnel IP, VTEP MAC
 * and block, and who is fresh: the fingerprint) changes. WeakMaps keyed by the store's objects: a
 * replaced section takes its results with it.
 */
export interface ClusterCache {
  fingerprint: string | null;
  perQuestion: Carry;
}

export const createClusterCache = (): ClusterCache => ({ fingerprint: null, perQuestion: new Map() });

export interface ClusterInput {
  nodes: readonly NodeState[];
  /** ISO 8601 */
  now: string;
  staleAfterIntervals: number;
  cache?: ClusterCache | undefined;
}

export interface PeerEntry<E> {
  peer: NodeView;
  entry: E;
}

export class Cluster {
  /** every node, by name (stale ones included) */
  readonly nodes: readonly NodeView[];
  /** the nodes whose reports are recent enough to check and to hold peers to */
  readonly fresh: readonly NodeView[];
  /** the blocks fresh nodes whose routes could be read claim (a blackhole route each) */
  readonly blocks: readonly Block[];
  readonly map: ClusterMap;
  private readonly x: PassIndex;
  private readonly memo: PassMemo;
  private readonly byName: Map<string, NodeView>;

  constructor(input: ClusterInput) {
    const nowMs = Date.parse(input.now);
    const sorted = [...input.nodes].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const nodes: NodeView[] = [];
    this.byName = new Map();
    for (const st of sorted) {
      if (this.byName.has(st.node)) continue;
      const n = new NodeView(nodes.length, st, nodeIsStale(st, nowMs, input.staleAfterIntervals));
      nodes.push(n);
      this.byName.set(n.name, n);
    }
    this.nodes = nodes;
    this.fresh = nodes.filter((n) => !n.stale);
    this.x = indexOf(nodes, this.fresh);
    this.blocks = this.x.blocks;
    this.map = { nodes: nodes.map((n) => n.entry) };
    this.memo = new PassMemo(carryFor(input.cache, fingerprintOf(nodes)));
  }

  node(name: string): NodeView | undefined {
    return this.byName.get(name);
  }

  /** The fresh node that alone owns this tunnel IP, VTEP MAC, node IP; null when none or several do. */
  ownerOfTunnelIP(ip: string): NodeView | null {
    return this.at(this.x.byTunnelIP.get(ip));
  }
  ownerOfNodeIP(ip: string): NodeView | null {
    return this.at(this.x.byNodeIP.get(ip));
  }
  /** The fresh node whose encapsulated traffic alone comes from this address; null when none or several. */
  ownerOfEncapSource(ip: string): NodeView | null {
    return this.at(this.x.byEncapSourceIP.get(ip));
  }
  /** The node an address belongs to as tunnel IP, else as node IP. */
  ownerOfAddress(ip: string): NodeView | null {
    return this.ownerOfTunnelIP(ip) ?? this.ownerOfNodeIP(ip);
  }

  /** The block with exactly this CIDR (as reported, or normalised). */
  block(cidr: string): Block | undefined {
    const g = this.x.blockKey.get(cidr) ?? this.x.blockKey.get(parseCidr(cidr)?.text ?? '');
    return g === undefined ? undefined : this.blocks[g];
  }

  /** parseCidr of a block's text, parsed once per pass for the blocks of fresh nodes whose routes could be read. */
  blockCidr(raw: string): Cidr | null {
    const c = this.x.parsedBlocks.get(raw);
    return c !== undefined ? c : parseCidr(raw);
  }

  /** a's routes, or null when they could not be read. */
  routes(a: NodeView): readonly Route[] | null {
    const s = a.state.report.sections.routes;
    return s.status === 'ok' ? s.data : null;
  }

  /**
   * a's VXLAN neighbours (FDB entries) of a family, each judged against the peer it points at
   * (the neighbour for B's tunnel IP must hold B's VTEP MAC; the FDB entry for B's VTEP MAC must
   * send to one of B's node IPs): the entries that do not match, for peers with no entry that
   * does, and the peers a must hold an entry for and holds none. Null when the section could not be
   * read or a has no VXLAN tunnel of the family.
   */
  vxlanPeerEntries<K extends VxlanKind>(a: NodeView, kind: K, family: Family): { mismatched: PeerEntry<K extends 'fdb' ? FdbEntry : Neighbour>[]; missing: NodeView[] } | null {
    if (a.vxlanTunnel(family) === null) return null;
    const scan = scanVxlan(this.x, this.memo, a, kind)?.[family];
    if (scan === undefined) return null;
    return { mismatched: scan.mismatched.map((w) => ({ peer: this.nodes[w.peer]!, entry: w.entry })), missing: scan.missing.map((i) => this.nodes[i]!) };
  }

  /**
   * a's exact routes for its peers' blocks (a block with one owner, whose routes could be read):
   * the blocks a has no exact route for, and the routes whose next hop does not lead to the
   * block's owner (every ECMP hop must). Null when a's routes could not be read.
   */
  blockRoutes(a: NodeView): { missing: { peer: NodeView; block: Block }[]; mismatched: { peer: NodeView; block: Block; route: Route }[] } | null {
    const scan = scanRoutes(this.x, this.memo, a);
    if (scan === null) return null;
    const ownerOf = (g: number) => this.blocks[g]!.owners[0]!;
    return {
      missing: scan.uncovered.map((g) => ({ peer: ownerOf(g), block: this.blocks[g]! })),
      mismatched: scan.wrong.map((w) => ({ peer: ownerOf(w.block), block: this.blocks[w.block]!, route: w.route })),
    };
  }

  /**
   * a's exact IPv4 routes to another node's block (a block with one owner) that reach the owner
   * in one of the `wanted` forms (ROUTE_DIRECT: every hop via one of the owner's node IPs on a
   * non-tunnel device; ROUTE_TUNNEL: via its VXLAN tunnel IP on a's VXLAN device, or via its node
   * IP on tunl0), in a's route order. Null when a's routes could not be read.
   */
  formedRoutes(a: NodeView, wanted: number): { route: Route; block: Block; peer: NodeView; form: number }[] | null {
    const scan = scanRouteForms(this.x, this.memo, a, wanted);
    if (scan === null) return null;
    return scan.map((f) => ({ route: f.route, block: this.blocks[f.block]!, peer: this.blocks[f.block]!.owners[0]!, form: f.form }));
  }

  /** `make()` once per pass under `key`: what several rules of one pass share. */
  shared<T>(key: string, make: () => T): T {
    return this.memo.once(`shared|${key}`, make);
  }

  /**
   * The host sets of b named `names` (null when b's ipsets could not be read or those sets are
   * absent or empty there: ipset-all-hosts-missing on b says so once), and the fresh peers whose
   * encapsulated traffic of `family` they do not let in: none of the peer's source addresses is a
   * member or inside a CIDR member. Only peers whose source addresses are known and theirs alone
   * are judged.
   */
  peersNotInHostSets(b: NodeView, family: Family, names: readonly string[]): { sets: string[]; peers: NodeView[] } | null {
    const ipsets = b.state.report.sections.ipsets;
    if (ipsets.status !== 'ok') return null;
    const sets = ipsets.data.hostSets.filter((s) => names.includes(s.name));
    if (sets.every((s) => memberCount(this.memo, s) === 0)) return null;
    return { sets: sets.map((s) => s.name), peers: scanHostSets(this.x, this.memo, b, family, sets, ipsets.data).map((i) => this.nodes[i]!) };
  }

  private at(i: number | undefined): NodeView | null {
    return i === undefined || i < 0 ? null : (this.nodes[i] ?? null);
  }
}

const put = (m: Map<string, number>, key: string, i: number): void => {
  const had = m.get(key);
  if (had === undefined) m.set(key, i);
  else if (had !== i) m.set(key, -1);
};

/** The lookups over the fresh nodes. */
const indexOf = (nodes: readonly NodeView[], fresh: readonly NodeView[]): PassIndex => {
  const byTunnelIP = new Map<string, number>();
  const byVtepMac = new Map<string, number>();
  const byNodeIP = new Map<string, number>();
  const byEncapSourceIP = new Map<string, number>();
  const blocks: Block[] = [];
  const blockKey = new Map<string, number>();
  const parsedBlocks = new Map<string, Cidr | null>();
  // indexed loops: this runs once per pass, mostly before V8 optimises it (a for-of there allocates per step)
  for (let j = 0; j < fresh.length; j++) {
    const n = fresh[j]!;
    const tunnels = n.entry.tunnels;
    for (let k = 0; k < tunnels.length; k++) {
      const t = tunnels[k]!;
      if (t.ip !== null) put(byTunnelIP, t.ip, n.i);
      if (t.kind === 'vxlan' && t.mac !== null) put(byVtepMac, t.mac.toLowerCase(), n.i);
    }
    for (let k = 0; k < n.underlayIPs.length; k++) put(byNodeIP, n.underlayIPs[k]!, n.i);
    for (let k = 0; k < n.encapSourceIPs.length; k++) put(byEncapSourceIP, n.encapSourceIPs[k]!, n.i);
    if (!n.has('routes')) continue;
    for (let k = 0; k < n.blocks.length; k++) {
      const raw = n.blocks[k]!;
      let cidr = parsedBlocks.get(raw);
      if (cidr === undefined) parsedBlocks.set(raw, (cidr = parseCidr(raw)));
      if (cidr === null) continue;
      let g = blockKey.get(raw) ?? blockKey.get(cidr.text);
      if (g === undefined) {
        g = blocks.length;
        blocks.push({ raw, cidr, owners: [] });
        blockKey.set(raw, g);
        blockKey.set(cidr.text, g);
      }
      const owners = blocks[g]!.owners;
      if (!owners.includes(n)) owners.push(n);
    }
  }
  // destinations that are not a block's text as reported, parsed once per pass (in a mesh every
  // node's own subnet route is a distinct entry with the same destination)
  const byDst = new Map<string, number | null>();
  const blockOfRoute = (r: Route): number | undefined => {
    const g = blockKey.get(r.dst);
    if (g !== undefined) return g;
    if (r.dst === 'default' || !r.dst.includes('/') || (r.dev !== null && r.dev.startsWith('cali'))) return undefined;
    let h = byDst.get(r.dst);
    if (h === undefined) {
      const c = parseCidr(r.dst);
      byDst.set(r.dst, (h = c === null ? null : (blockKey.get(c.text) ?? null)));
    }
    return h ?? undefined;
  };
  return { nodes, fresh, byTunnelIP, byVtepMac, byNodeIP, byEncapSourceIP, blocks, blockKey, parsedBlocks, blockOfRoute };
};

/** Who owns what and who is fresh, as one string: carried results stay valid while it is unchanged. */
const fingerprintOf = (nodes: readonly NodeView[]): string => {
  const parts: string[] = [];
  for (const n of nodes) {
    const m = n.mode;
    const tunnels = n.entry.tunnels.map((t) => `${t.device},${t.kind},${t.family},${t.ip},${t.mac},${t.vni},${t.port},${t.local}`).join(';');
    parts.push(`${n.name}|${n.stale ? 1 : 0}|${m.encapsulation}|${m.bgp ? 1 : 0}|${n.has('routes') ? 1 : 0}|${tunnels}|${n.underlayIPs.join(',')}|${n.encapSourceIPs.join(',')}|${n.blocks.join(',')}`);
  }
  return parts.join('\n');
};

const carryFor = (cache: ClusterCache | undefined, fingerprint: string): Carry | null => {
  if (cache === undefined) return null;
  if (cache.fingerprint !== fingerprint) {
    cache.fingerprint = fingerprint;
    cache.perQuestion = new Map();
  }
  return cache.perQuestion;
};
