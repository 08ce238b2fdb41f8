/**
 * Root causes (#18): one fault often shows as several findings (a tunnel device that goes down
 * also leaves its node without routes and neighbours; a wrong neighbour MAC also has "no FDB
 * entry"). This pass links each finding that follows from another finding on the same node or
 * pair to that finding (`explainedBy`, the root's id), by the explicit rules below. Pure: findings
 * in, findings out (same order), nothing else read. It runs after the engine has merged the
 * nodes' local findings with the correlation findings, so roots and consequences may come from
 * either side.
 *
 * `explainedBy` always names a root (a finding that is itself unexplained): chains are followed
 * (A explained by B explained by C → A's explainedBy is C) and cycles are broken by leaving the
 * finding of the first rule in CAUSE_RULES unexplained.
 */
import type { Finding } from '../contract/finding.js';

type Rel = (root: Finding, f: Finding) => boolean;

export interface CauseRule {
  /** the root's rule */
  root: string;
  /** rules of the findings it explains */
  explains: readonly string[];
  /** when the root explains a finding of those rules (default: same node) */
  when?: Rel;
  /** for the README and logs: why the consequence follows */
  why: string;
  /** the root may explain findings of its own rule (`when` must order them: no finding explains itself) */
  sameRule?: boolean;
  /**
   * where the root is looked for: on the finding's node (default; `when` must hold only for
   * roots on that node) or among findings naming the same peer
   */
  scope?: 'node' | 'peer';
}

const d = (f: Finding, key: string): unknown => f.evidence.details[key];
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const sameNode: Rel = (r, f) => r.node === f.node;
const samePair: Rel = (r, f) => r.node === f.node && r.peer !== undefined && r.peer === f.peer;
const normMac = (m: unknown): string | undefined => str(m)?.toLowerCase();

/** Findings that say per-peer state Felix programs is absent or wrong on the node. */
const PROGRAMMED_STATE = [
  'route-missing',
  'route-not-onlink',
  'route-wrong-device',
  'route-wrong-next-hop',
  'vxlan-fdb-missing',
  'vxlan-fdb-mismatch',
  'vxlan-neighbor-mac-mismatch',
  'vxlan-neighbor-not-permanent',
] as const;

/** The neighbour finding's wrong MAC is the FDB finding's MAC, or its tunnel IP is the neighbour's. */
const wrongMacOf: Rel = (r, f) => {
  if (r.node !== f.node) return false;
  const seen = normMac(d(r, 'seenMac'));
  if (f.rule === 'vxlan-neighbor-not-permanent') return str(d(r, 'tunnelIP')) !== undefined && str(d(f, 'dst')) === str(d(r, 'tunnelIP'));
  return seen !== undefined && normMac(d(f, 'mac')) === seen;
};

/** BIRD's protocol name for a mesh or explicit peer encodes its address: Mesh_10_0_0_2, Node_fd00__2. */
const bgpPeerAddress = (protocol: string): string | undefined => {
  const m = /^(?:Mesh|Node|Global)_(.+)$/.exec(protocol);
  if (!m) return undefined;
  const raw = m[1]!;
  return /^\d+_\d+_\d+_\d+$/.test(raw) ? raw.replaceAll('_', '.') : raw.replaceAll('_', ':');
};
const bgpPeerOf: Rel = (r, f) => {
  if (r.node !== f.node) return false;
  const addr = bgpPeerAddress(str(d(r, 'protocol')) ?? '');
  return addr !== undefined && strs(d(f, 'peerNodeIPs')).includes(addr);
};

/** A rising drop counter that is the guard rule of the set, or the drop rule the finding names. */
const guardDrop: Rel = (r, f) => {
  if (r.node !== f.node) return false;
  if (d(f, 'guard') !== undefined) return true;
  const sources = strs(d(f, 'sources'));
  const peerAddrs = strs(d(r, 'peerAddresses'));
  if (sources.some((s) => peerAddrs.some((a) => s === a || s === `${a}/32` || s === `${a}/128`))) return true;
  return str(d(r, 'chain')) !== undefined && d(r, 'chain') === d(f, 'chain') && d(r, 'table') === d(f, 'table') && d(r, 'caliId') === d(f, 'caliId') && d(r, 'index') !== undefined;
};

/** Order matters: a finding is attached to the root of the first rule that explains it. */
export const CAUSE_RULES: readonly CauseRule[] = [
  {
    root: 'agent-stale',
    explains: ['*'],
    why: "the node's report is old: what it says about the node may no longer hold",
  },
  {
    root: 'node-not-reporting',
    explains: ['*'],
    why: 'the node sends no reports',
  },
  {
    root: 'tunnel-missing',
    explains: [...PROGRAMMED_STATE, 'tunnel-down', 'tunnel-mtu', 'vxlan-learning-on', 'vxlan-vni-nondefault', 'tunnel-ip-outside-block'],
    why: 'without the tunnel device the kernel holds no routes, neighbours or FDB entries through it',
  },
  {
    root: 'tunnel-down',
    explains: PROGRAMMED_STATE,
    why: 'the kernel drops routes and neighbours through a device that goes down',
  },
  {
    root: 'vxlan-neighbor-mac-mismatch',
    explains: ['vxlan-fdb-missing', 'vxlan-fdb-mismatch', 'vxlan-neighbor-not-permanent'],
    when: wrongMacOf,
    why: 'the FDB has no entry for a MAC that is wrong in the first place',
  },
  {
    root: 'vxlan-fdb-mismatch',
    explains: ['underlay-neighbor-failed'],
    when: (r, f) => r.node === f.node && str(d(r, 'seenDst')) !== undefined && d(r, 'seenDst') === d(f, 'peerIp'),
    why: 'the wrong FDB destination is an address nobody answers ARP for',
  },
  {
    root: 'ipset-all-hosts-missing',
    explains: ['host-not-in-allowed-set', 'iptables-drops-rising'],
    when: (r, f) => r.node === f.node && (f.rule === 'host-not-in-allowed-set' || d(f, 'guard') !== undefined),
    why: 'an empty or absent guarding set lacks every peer',
  },
  {
    root: 'host-not-in-allowed-set',
    explains: ['iptables-drops-rising'],
    when: guardDrop,
    why: "the guard rule's counter rises with the dropped encapsulated packets",
  },
  {
    root: 'host-not-in-allowed-set',
    explains: ['host-not-in-allowed-set'],
    sameRule: true,
    scope: 'peer',
    when: (r, f) =>
      r.peer !== undefined && r.peer === f.peer && r.node < f.node && strs(d(r, 'peerAddresses')).length > 0 && strs(d(r, 'peerAddresses')).join() === strs(d(f, 'peerAddresses')).join(),
    why: "several nodes lacking the same address of one peer: the cause lies with the peer (the address it sends from, its Node resource), one fault; the first node's finding is the root",
  },
  {
    root: 'bgp-session-down',
    explains: ['bgp-peer-down'],
    when: (r, f) => {
      const local = d(r, 'local');
      const protocol = typeof local === 'object' && local !== null ? str((local as Record<string, unknown>)['protocol']) : undefined;
      return r.node === f.node && protocol !== undefined && protocol === str(d(f, 'protocol'));
    },
    why: "the node's own view of the session that the cluster-wide finding compares with the peer's end",
  },
  {
    root: 'bgp-peer-down',
    explains: ['route-missing'],
    when: bgpPeerOf,
    why: "routes to the peer's blocks come from the BGP session",
  },
  {
    root: 'felix-not-ready',
    explains: [...PROGRAMMED_STATE, 'host-not-in-allowed-set', 'ipset-all-hosts-missing'],
    why: 'Felix does not program the dataplane while it is not ready',
  },
  {
    root: 'calico-node-not-ready',
    explains: [...PROGRAMMED_STATE, 'host-not-in-allowed-set', 'ipset-all-hosts-missing', 'felix-not-ready'],
    why: 'calico-node (Felix) is not ready on the node',
  },
  {
    root: 'ip-forward-disabled',
    explains: ['iptables-drops-rising'],
    when: (r, f) => r.node === f.node && d(f, 'chain') !== undefined && /FORWARD/.test(str(d(f, 'chain')) ?? ''),
    why: 'forwarded pod traffic is dropped',
  },
  {
    root: 'route-missing',
    explains: ['vxlan-neighbor-not-permanent'],
    when: samePair,
    why: 'the route and neighbour for the peer are missing together',
  },
];

const applies = (c: CauseRule, root: Finding, f: Finding): boolean =>
  root !== f && root.rule === c.root && (f.rule !== c.root || c.sameRule === true) && (c.explains.includes('*') || c.explains.includes(f.rule)) && (c.when ?? sameNode)(root, f);

/** Sets `explainedBy` (a root's id) on every finding a root explains; clears any stale value. */
export const explainFindings = (findings: readonly Finding[], rules: readonly CauseRule[] = CAUSE_RULES): Finding[] => {
  // candidate roots indexed by (rule, node) and (rule, peer), node-sorted: a pass over thousands of
  // findings looks at the few on the same node (or naming the same peer), never at all of them
  const index = { node: new Map<string, Finding[]>(), peer: new Map<string, Finding[]>() };
  const rootRules = new Set(rules.map((c) => c.root));
  const put = (m: Map<string, Finding[]>, k: string, f: Finding) => {
    const list = m.get(k);
    if (list) list.push(f);
    else m.set(k, [f]);
  };
  for (const f of findings) {
    if (!rootRules.has(f.rule)) continue;
    put(index.node, `${f.rule}\u0000${f.node}`, f);
    if (f.peer !== undefined) put(index.peer, `${f.rule}\u0000${f.peer}`, f);
  }
  for (const list of index.peer.values()) list.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const direct = new Map<string, string>();
  // per consequence rule, the cause rules that may explain it and have a root present at all
  const present = new Set([...index.node.keys()].map((k) => k.slice(0, k.indexOf('\u0000'))));
  const active = rules.filter((c) => present.has(c.root));
  const byConsequence = new Map<string, CauseRule[]>();
  const causesOf = (rule: string): CauseRule[] => {
    let list = byConsequence.get(rule);
    if (list === undefined) byConsequence.set(rule, (list = active.filter((c) => c.explains.includes('*') || c.explains.includes(rule))));
    return list;
  };
  for (const f of findings) {
    for (const c of causesOf(f.rule)) {
      const scope = c.scope ?? 'node';
      if (scope === 'peer' && f.peer === undefined) continue;
      const candidates = index[scope].get(`${c.root}\u0000${scope === 'node' ? f.node : f.peer}`) ?? [];
      const root = candidates.find((r) => applies(c, r, f));
      if (root !== undefined) {
        direct.set(f.id, root.id);
        break;
      }
    }
  }
  // Break cycles (A explains B explains A): the member whose rule comes first as a root stays a root.
  const ruleOf = new Map(findings.map((f) => [f.id, f.rule]));
  const rank = (id: string): number => {
    const rule = ruleOf.get(id);
    const i = rules.findIndex((c) => c.root === rule);
    return i < 0 ? rules.length : i;
  };
  for (const f of findings) {
    const path: string[] = [];
    let cur: string | undefined = f.id;
    while (cur !== undefined && !path.includes(cur)) {
      path.push(cur);
      cur = direct.get(cur);
    }
    if (cur === undefined) continue;
    const cycle = path.slice(path.indexOf(cur));
    const keep = cycle.reduce((a, b) => (rank(b) < rank(a) ? b : a));
    direct.delete(keep);
  }
  const rootOf = (id: string): string | undefined => {
    let cur = direct.get(id);
    if (cur === undefined) return undefined;
    for (let next = direct.get(cur); next !== undefined; next = direct.get(cur)) cur = next;
    return cur;
  };
  return findings.map((f) => {
    const { explainedBy: _old, ...rest } = f;
    const root = rootOf(f.id);
    return root === undefined ? rest : { ...rest, explainedBy: root };
  });
};

export interface FindingGroup {
  root: Finding;
  consequences: Finding[];
}

/** Roots in their given order, each with the findings it explains (in their given order). */
export const groupFindings = (findings: readonly Finding[]): FindingGroup[] => {
  const ids = new Set(findings.map((f) => f.id));
  const groups = new Map<string, FindingGroup>();
  for (const f of findings) if (f.explainedBy === undefined || !ids.has(f.explainedBy)) groups.set(f.id, { root: f, consequences: [] });
  for (const f of findings) if (f.explainedBy !== undefined && ids.has(f.explainedBy)) groups.get(f.explainedBy)?.consequences.push(f);
  return [...groups.values()];
};
