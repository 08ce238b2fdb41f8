/**
 * A synthetic VXLAN full mesh of N nodes, as Felix programs it (docs/architecture.md, "What Felix programs"): per
 * remote node a `<block> via <tunnel IP> dev vxlan.calico onlink proto 80` route, a PERMANENT
 * neighbour `<tunnel IP> lladdr <VTEP MAC>`, an FDB entry `<VTEP MAC> dst <node IP> self
 * permanent`, and the node IP in cali40all-hosts-net. Used by the aggregator benchmark and as
 * report fixtures in the aggregator tests. Pure: counters come from `round`.
 */
import { hashSection } from '../contract/hash.js';
import type { Report } from '../contract/report.js';
import { SECTION_NAMES, type FdbEntry, type Neighbour, type Route, type Sections, type Snapshot } from '../contract/snapshot.js';

const quad = (n: number): string => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export const nodeName = (i: number): string => `node-${String(i).padStart(5, '0')}`;
export const nodeIP = (i: number): string => quad(((172 << 24) | (16 << 16)) + i + 1);
/** /26 blocks out of 10.0.0.0/8 */
export const blockOf = (i: number): string => `${quad((10 << 24) + i * 64)}/26`;
export const tunnelIP = (i: number): string => quad((10 << 24) + i * 64);
export const vtepMac = (i: number): string =>
  ['66', 'a5', (i >> 16) & 255, (i >> 8) & 255, i & 255, 0x42].map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0'))).join(':');

export interface MeshFaults {
  /** node `at` holds a wrong neighbour MAC for `peer` */
  wrongNeighbourMac?: { at: number; peer: number }[];
  /** node `at` has no route to `peer`'s block */
  missingRoute?: { at: number; peer: number }[];
  /** node `at` lacks `peer` in its all-hosts ipset */
  missingFromIpset?: { at: number; peer: number }[];
}

const has = (list: { at: number; peer: number }[] | undefined, at: number, peer: number): boolean =>
  list?.some((f) => f.at === at && f.peer === peer) ?? false;

const stats = (seed: number) => ({
  rxPackets: seed * 100,
  rxBytes: seed * 150_000,
  rxErrors: 0,
  rxDropped: seed % 3,
  txPackets: seed * 90,
  txBytes: seed * 120_000,
  txErrors: 0,
  txDropped: 0,
});

const WORKLOADS = 8;

const route = (dst: string, over: Partial<Route>): Route => ({
  family: 'inet',
  type: 'unicast',
  dst,
  gateway: null,
  dev: null,
  protocol: 'kernel',
  scope: 'global',
  flags: [],
  table: 'main',
  metric: null,
  prefsrc: null,
  nexthops: [],
  ...over,
});

/** What Felix programs on every other node for node `j`. */
export const peerRoute = (j: number): Route => route(blockOf(j), { gateway: tunnelIP(j), dev: 'vxlan.calico', protocol: '80', flags: ['onlink'] });
export const peerNeighbour = (j: number, wrongMac = false): Neighbour => ({
  family: 'inet',
  dst: tunnelIP(j),
  dev: 'vxlan.calico',
  lladdr: wrongMac ? '66:de:ad:be:ef:00' : vtepMac(j),
  state: ['PERMANENT'],
  router: false,
});
export const peerFdb = (j: number): FdbEntry => ({ mac: vtepMac(j), dev: 'vxlan.calico', dst: nodeIP(j), flags: ['self'], state: 'permanent', vni: null, port: null });

/**
 * The snapshot node `i` of an `n`-node mesh takes in round `round`. With `omitPeers` the per-peer
 * entries (peer routes, neighbours, FDB entries, ipset members) are left out: the benchmark
 * splices them in as precomputed JSON text (see meshPeerEntries).
 */
export const meshSnapshot = (i: number, n: number, round: number, faults: MeshFaults = {}, takenAt = '2026-01-01T00:00:00.000Z', omitPeers = false): Snapshot => {
  const name = nodeName(i);
  const ip = nodeIP(i);
  const tip = tunnelIP(i);
  const mac = vtepMac(i);
  const base = (10 << 24) + i * 64;
  const workloads = Array.from({ length: WORKLOADS }, (_, w) => ({ ip: quad(base + 2 + w), dev: `cali${(i * 31 + w).toString(16).padStart(11, '0')}` }));
  const peers = omitPeers ? [] : Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
  const links = [
    { ifindex: 1, name: 'lo', kind: null, flags: ['LOOPBACK', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 65536, mac: '00:00:00:00:00:00', master: null, parent: null, vxlan: null, stats: stats(round + 1) },
    { ifindex: 2, name: 'eth0', kind: null, flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], operstate: 'UP', mtu: 1500, mac: `02:00:00:${vtepMac(i).slice(9)}`, master: null, parent: null, vxlan: null, stats: stats(round * 7 + i) },
    {
      ifindex: 3,
      name: 'vxlan.calico',
      kind: 'vxlan',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      operstate: 'UNKNOWN',
      mtu: 1450,
      mac,
      master: null,
      parent: null,
      vxlan: { id: 4096, port: 4789, local: ip, link: 'eth0', learning: false },
      stats: stats(round * 5 + i),
    },
    ...workloads.map((w, k) => ({
      ifindex: 10 + k,
      name: w.dev,
      kind: 'veth',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      operstate: 'UP',
      mtu: 1450,
      mac: 'ee:ee:ee:ee:ee:ee',
      master: null,
      parent: null,
      vxlan: null,
      stats: stats(round + k),
    })),
  ];
  const routes = [
    route('default', { gateway: '172.16.0.1', dev: 'eth0', protocol: 'dhcp', metric: 100 }),
    route('172.16.0.0/16', { dev: 'eth0', scope: 'link', prefsrc: ip }),
    route(blockOf(i), { type: 'blackhole', protocol: '80' }),
    ...workloads.map((w) => route(`${w.ip}/32`, { dev: w.dev, scope: 'link', protocol: 'boot' })),
    ...peers.filter((j) => !has(faults.missingRoute, i, j)).map((j) => peerRoute(j)),
  ];
  const neighbours = peers.map((j) => peerNeighbour(j, has(faults.wrongNeighbourMac, i, j)));
  const fdb = peers.map(peerFdb);
  const members = omitPeers
    ? []
    : Array.from({ length: n }, (_, j) => j)
        .filter((j) => !has(faults.missingFromIpset, i, j))
        .map(nodeIP);
  const dropRule = (chain: string, index: number, caliId: string, comment: string, packets: number) => ({
    family: 'ipv4' as const,
    table: 'filter',
    chain,
    index,
    target: 'DROP',
    packets,
    bytes: packets * 60,
    caliId,
    comments: [comment],
    matchSets: [] as { name: string; negated: boolean; direction: string }[],
    rule: `-A ${chain} -m comment --comment "cali:${caliId}" -m comment --comment "${comment}" -j DROP`,
  });
  const sections: Sections = {
    links: { status: 'ok', data: links },
    addresses: {
      status: 'ok',
      data: [
        { ifname: 'lo', family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' },
        { ifname: 'eth0', family: 'inet', local: ip, prefixlen: 16, scope: 'global' },
        { ifname: 'vxlan.calico', family: 'inet', local: tip, prefixlen: 32, scope: 'global' },
      ],
    },
    routes: { status: 'ok', data: routes },
    neighbours: { status: 'ok', data: neighbours },
    fdb: { status: 'ok', data: fdb },
    sysctls: {
      status: 'ok',
      data: {
        ipv4Forward: 1,
        ipv6Forwarding: 0,
        interfaces: [
          { scope: 'all', rpFilter: 0, forwarding: 1, proxyArp: 0 },
          { scope: 'eth0', rpFilter: 1, forwarding: 1, proxyArp: 0 },
          { scope: 'vxlan.calico', rpFilter: 0, forwarding: 1, proxyArp: 0 },
        ],
        workloadDevices: { count: WORKLOADS, rpFilter: { '1': WORKLOADS }, proxyArpOff: [], forwardingOff: [] },
        conntrack: { count: 1000 + round, max: 262144 },
      },
    },
    iptables: {
      status: 'ok',
      data: {
        backend: 'legacy',
        backendReason: 'kube hint chains in legacy tables',
        ipv4: { status: 'ok', data: { tables: ['filter', 'nat', 'mangle', 'raw'], chains: 120, rules: 600, caliChains: 100 } },
        ipv6: { status: 'unavailable', reason: 'not-present', detail: 'no ip6tables' },
        chains: [
          { family: 'ipv4', table: 'filter', chain: 'INPUT', policy: 'ACCEPT', packets: round * 1000, bytes: round * 90_000, rules: 3 },
          { family: 'ipv4', table: 'filter', chain: 'FORWARD', policy: 'ACCEPT', packets: round * 500, bytes: round * 40_000, rules: 4 },
        ],
        dropRules: [
          dropRule('cali-INPUT', 3, 'aBcDeFgHiJkLmNoP', 'Drop IPv4 VXLAN packets from non-Calico hosts', round % 7),
          dropRule('cali-FORWARD', 5, 'qRsTuVwXyZ012345', 'Drop if no policies passed packet', round * 2),
          dropRule('cali-tw-cali0001', 9, 'ZyXwVuTsRqPoNmLk', 'Drop if no profiles matched', round),
        ],
      },
    },
    ipsets: {
      status: 'ok',
      data: { hostSets: [{ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members }], caliSetSizes: { 'cali40all-hosts-net': members.length, 'cali40masq-ipam-pools': 1 } },
    },
    felix: { status: 'ok', data: { url: 'http://127.0.0.1:9099', readiness: 'ready', liveness: 'ready', detail: '' } },
    bgp: { status: 'unavailable', reason: 'not-present', detail: 'no BIRD socket (VXLAN mode)' },
  };
  return {
    schemaVersion: 1,
    node: name,
    takenAt,
    durationMs: 120,
    agentVersion: '0.1.0',
    sections,
    timings: {},
    mode: { encapsulation: 'vxlan', wireguard: false, ebpf: false, bgp: false, evidence: ['vxlan.calico present'] },
    identity: {
      nodeIPs: [ip],
      uplinks: [{ name: 'eth0', mtu: 1500 }],
      tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: tip, mac, vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: ip }],
      blocks: [blockOf(i)],
      workloads,
    },
  };
};

/**
 * A report for a snapshot; sections whose hash is in `acked` travel as hash only (the agent's
 * delta rule, contract/report.ts).
 */
export const toReport = (
  s: Snapshot,
  meta: { agentId: string; seq: number; intervalSeconds?: number; sentAt?: string },
  acked: ReadonlyMap<string, string> = new Map(),
): Report => {
  const sections = {} as Record<string, { hash: string; data?: unknown }>;
  for (const name of SECTION_NAMES) {
    const data = s.sections[name];
    const hash = hashSection(data);
    sections[name] = acked.get(name) === hash ? { hash } : { hash, data };
  }
  return {
    schemaVersion: 1,
    node: s.node,
    agentId: meta.agentId,
    seq: meta.seq,
    agentVersion: s.agentVersion,
    intervalSeconds: meta.intervalSeconds ?? 30,
    takenAt: s.takenAt,
    sentAt: meta.sentAt ?? s.takenAt,
    mode: s.mode,
    identity: s.identity,
    sections: sections as Report['sections'],
    checks: [],
    findings: [],
  };
};

/** The hashes a report carried, to pass as `acked` for the next one. */
export const ackedOf = (r: Report): Map<string, string> => new Map(SECTION_NAMES.map((n) => [n, r.sections[n].hash]));
