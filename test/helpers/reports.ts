/**
 * Builds resolved node reports (NodeState) for correlation tests: a healthy full mesh in VXLAN,
 * VXLAN CrossSubnet, IPIP or BGP (no encapsulation) mode, from per-node facts. The value shapes
 * follow real outputs (test/fixtures and /work/shared/corpus: pooriya-control1-* for the VXLAN and
 * BGP clusters, rendoaw-ubuntu3/4-* for IPIP, 9506hqwy-* for CrossSubnet): Felix routes `proto 80
 * onlink` via the peer tunnel IP, PERMANENT neighbours, `self permanent` FDB entries, blackhole
 * block routes, `cali*` /32 routes. Each call returns fresh objects, so tests may mutate them.
 */
import { hashSection } from '../../contract/hash.js';
import type { Report } from '../../contract/report.js';
import { SECTION_NAMES, type Address, type FdbEntry, type IpSets, type Link, type Mode, type Neighbour, type Route, type Sections, type Tunnel } from '../../contract/snapshot.js';
import type { NodeState, ResolvedReport } from '../../aggregator/cluster/node-state.js';
import { ReportStore } from '../../aggregator/cluster/store.js';
import type { CorrelateInput, DatastoreView } from '../../aggregator/correlate/types.js';
import { ok, unavailable, type UnavailableReason } from '../../contract/result.js';
import { addr, fdbEntry, link, neigh, route } from './snapshot.js';

export interface NodeSpec {
  name: string;
  nodeIP: string;
  uplink: string;
  uplinkMtu: number;
  gateway: string;
  block: string;
  /** VXLAN or IPIP tunnel address (unused in BGP mode) */
  tunnelIP: string;
  vtepMac: string;
  workloads: [ip: string, dev: string][];
}

export type MeshMode = 'vxlan' | 'vxlan-crosssubnet' | 'ipip' | 'bgp';

export const NOW = '2026-11-21T15:00:00.000Z';
export const INTERVAL_S = 30;

/** Three nodes modelled on the pooriya lab (AWS, ens5 MTU 9001, pool 10.48.0.0/16, /26 blocks). */
export const VXLAN_NODES: NodeSpec[] = [
  {
    name: 'control1',
    nodeIP: '10.0.1.20',
    uplink: 'ens5',
    uplinkMtu: 9001,
    gateway: '10.0.1.1',
    block: '10.48.0.128/26',
    tunnelIP: '10.48.0.129',
    vtepMac: '66:c9:ee:b1:9b:47',
    workloads: [
      ['10.48.0.128', 'cali1bff47cba53'],
      ['10.48.0.130', 'calic628ed26868'],
      ['10.48.0.131', 'calic7ceee6b788'],
      ['10.48.0.132', 'cali4b871599db0'],
      ['10.48.0.133', 'caliae0f159e5b3'],
      ['10.48.0.134', 'cali2135bcd7981'],
    ],
  },
  {
    name: 'worker1',
    nodeIP: '10.0.1.30',
    uplink: 'ens5',
    uplinkMtu: 9001,
    gateway: '10.0.1.1',
    block: '10.48.0.192/26',
    tunnelIP: '10.48.0.206',
    vtepMac: '66:14:9d:f4:2c:1f',
    workloads: [
      ['10.48.0.193', 'cali0cd00cf4c0f'],
      ['10.48.0.194', 'cali30782974e56'],
    ],
  },
  {
    name: 'worker2',
    nodeIP: '10.0.1.31',
    uplink: 'ens5',
    uplinkMtu: 9001,
    gateway: '10.0.1.1',
    block: '10.48.0.0/26',
    tunnelIP: '10.48.0.46',
    vtepMac: '66:4b:ff:e1:ef:01',
    workloads: [['10.48.0.2', 'cali90b386908a6']],
  },
];

/** Three nodes modelled on the rendoaw IPIP lab (ens3 MTU 1400, tunl0, pool 10.201.0.0/16). */
export const IPIP_NODES: NodeSpec[] = [
  {
    name: 'ubuntu-3',
    nodeIP: '100.64.1.24',
    uplink: 'ens3',
    uplinkMtu: 1400,
    gateway: '100.64.1.1',
    block: '10.201.0.128/26',
    tunnelIP: '10.201.0.128',
    vtepMac: '',
    workloads: [
      ['10.201.0.130', 'cali06827901978'],
      ['10.201.0.131', 'caliaf4e899510c'],
    ],
  },
  {
    name: 'ubuntu-4',
    nodeIP: '100.64.1.23',
    uplink: 'ens3',
    uplinkMtu: 1400,
    gateway: '100.64.1.1',
    block: '10.201.0.192/26',
    tunnelIP: '10.201.0.192',
    vtepMac: '',
    workloads: [
      ['10.201.0.196', 'cali5bed1c02fcb'],
      ['10.201.0.197', 'calidd49badf8e9'],
    ],
  },
  {
    name: 'ubuntu-5',
    nodeIP: '100.64.1.25',
    uplink: 'ens3',
    uplinkMtu: 1400,
    gateway: '100.64.1.1',
    block: '10.201.1.0/26',
    tunnelIP: '10.201.1.0',
    vtepMac: '',
    workloads: [['10.201.1.3', 'cali7a1c2d3e4f5']],
  },
];

const subnet24 = (ip: string): string => `${ip.split('.').slice(0, 3).join('.')}.0/24`;

const tunnelOf = (spec: NodeSpec, mode: MeshMode): Tunnel | null => {
  if (mode === 'vxlan' || mode === 'vxlan-crosssubnet')
    return {
      device: 'vxlan.calico',
      kind: 'vxlan',
      family: 'inet',
      ip: spec.tunnelIP,
      mac: spec.vtepMac,
      vni: 4096,
      port: 4789,
      mtu: spec.uplinkMtu - 50,
      operstate: 'UNKNOWN',
      local: spec.nodeIP,
    };
  if (mode === 'ipip')
    return { device: 'tunl0', kind: 'ipip', family: 'inet', ip: spec.tunnelIP, mac: null, vni: null, port: null, mtu: spec.uplinkMtu - 20, operstate: 'UNKNOWN', local: null };
  return null;
};

const modeOf = (mode: MeshMode): Mode => ({
  encapsulation: mode === 'vxlan' || mode === 'vxlan-crosssubnet' ? 'vxlan' : mode === 'ipip' ? 'ipip' : 'none',
  wireguard: false,
  ebpf: false,
  bgp: mode === 'ipip' || mode === 'bgp',
  evidence: [mode === 'bgp' ? 'bird routes without tunnel device' : `${mode} device present`],
});

const linksOf = (spec: NodeSpec, tunnel: Tunnel | null): Link[] => {
  const links: Link[] = [
    link('lo', { flags: ['LOOPBACK', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 65536, mac: '00:00:00:00:00:00', stats: null }),
    link(spec.uplink, { ifindex: 2, mtu: spec.uplinkMtu, mac: '02:79:d5:90:06:0b', stats: null }),
  ];
  if (tunnel?.kind === 'vxlan')
    links.push(
      link('vxlan.calico', {
        ifindex: 17,
        kind: 'vxlan',
        operstate: 'UNKNOWN',
        mtu: tunnel.mtu,
        mac: tunnel.mac,
        vxlan: { id: 4096, port: 4789, local: spec.nodeIP, link: spec.uplink, learning: false },
        stats: null,
      }),
    );
  if (tunnel?.kind === 'ipip')
    links.push(link('tunl0', { ifindex: 5, kind: 'ipip', flags: ['NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: tunnel.mtu, stats: null }));
  spec.workloads.forEach(([, dev], k) =>
    links.push(link(dev, { ifindex: 20 + k, kind: 'veth', mtu: tunnel?.mtu ?? spec.uplinkMtu, mac: 'ee:ee:ee:ee:ee:ee', parent: 'if3', stats: null })),
  );
  return links;
};

/** The NodeState of `spec` in a healthy mesh with `peers` (the other nodes). */
export const buildNodeState = (spec: NodeSpec, peers: readonly NodeSpec[], mode: MeshMode, opts: { now?: string; hostSet?: string } = {}): NodeState => {
  const now = opts.now ?? NOW;
  const tunnel = tunnelOf(spec, mode);
  const proto = mode === 'vxlan' || mode === 'vxlan-crosssubnet' ? '80' : 'bird';
  const routes: Route[] = [
    route('default', { gateway: spec.gateway, dev: spec.uplink, protocol: 'dhcp', prefsrc: spec.nodeIP, metric: 100 }),
    route(subnet24(spec.nodeIP), { dev: spec.uplink, protocol: 'kernel', scope: 'link', prefsrc: spec.nodeIP }),
    route(spec.block, { type: 'blackhole', protocol: proto }),
    ...spec.workloads.map(([ip, dev]) => route(`${ip}/32`, { dev, scope: 'link' })),
  ];
  const neighbours: Neighbour[] = [neigh(spec.gateway, spec.uplink, '02:04:7a:86:55:c1', ['REACHABLE'])];
  const fdb: FdbEntry[] = [fdbEntry('01:00:5e:00:00:01', spec.uplink, null)];
  for (const p of peers) {
    if (mode === 'vxlan')
      routes.push(route(p.block, { gateway: p.tunnelIP, dev: 'vxlan.calico', protocol: '80', flags: ['onlink'] }));
    else if (mode === 'vxlan-crosssubnet')
      routes.push(route(p.block, { gateway: p.nodeIP, dev: spec.uplink, protocol: '80', flags: ['onlink'] }));
    else if (mode === 'ipip') routes.push(route(p.block, { gateway: p.nodeIP, dev: 'tunl0', protocol: 'bird', flags: ['onlink'] }));
    else routes.push(route(p.block, { gateway: p.nodeIP, dev: spec.uplink, protocol: 'bird' }));
    if (tunnel?.kind === 'vxlan') {
      neighbours.push(neigh(p.tunnelIP, 'vxlan.calico', p.vtepMac, ['PERMANENT']));
      fdb.push(fdbEntry(p.vtepMac, 'vxlan.calico', p.nodeIP));
    }
  }
  for (const [ip, dev] of spec.workloads) neighbours.push(neigh(ip, dev, 'fa:67:13:92:26:c8', ['REACHABLE']));
  const addresses: Address[] = [
    addr('lo', '127.0.0.1/8', 'host'),
    addr(spec.uplink, `${spec.nodeIP}/24`),
  ];
  if (tunnel !== null) addresses.push(addr(tunnel.device, `${spec.tunnelIP}/32`));
  const all = [spec, ...peers].map((s) => s.nodeIP);
  const ipsets: IpSets = {
    hostSets: [{ name: opts.hostSet ?? 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: all }],
    caliSetSizes: { [opts.hostSet ?? 'cali40all-hosts-net']: all.length, 'cali40masq-ipam-pools': 1 },
  };
  const sections: Sections = {
    links: ok(linksOf(spec, tunnel)),
    addresses: ok(addresses),
    routes: ok(routes),
    neighbours: ok(neighbours),
    fdb: ok(fdb),
    sysctls: ok({
      ipv4Forward: 1,
      ipv6Forwarding: 0,
      interfaces: [{ scope: 'all', rpFilter: 1, forwarding: 1, proxyArp: 0 }],
      workloadDevices: { count: spec.workloads.length, rpFilter: { '1': spec.workloads.length }, proxyArpOff: [], forwardingOff: [] },
      conntrack: { count: 412, max: 262144 },
    }),
    iptables: unavailable('not-present', 'not needed by correlation tests'),
    ipsets: ok(ipsets),
    felix: ok({ url: 'http://127.0.0.1:9099', readiness: 'ready', liveness: 'ready', detail: '' }),
    bgp: mode === 'vxlan' || mode === 'vxlan-crosssubnet' ? unavailable('not-present', 'no BIRD socket') : ok({ socket: '/var/run/calico/bird.ctl', protocols: [] }),
  };
  const report: ResolvedReport = {
    schemaVersion: 1,
    node: spec.name,
    agentId: `agent-${spec.name}`,
    seq: 7,
    agentVersion: '0.1.0',
    intervalSeconds: INTERVAL_S,
    takenAt: now,
    sentAt: now,
    mode: modeOf(mode),
    identity: {
      nodeIPs: [spec.nodeIP],
      uplinks: [{ name: spec.uplink, mtu: spec.uplinkMtu }],
      tunnels: tunnel === null ? [] : [tunnel],
      blocks: [spec.block],
      workloads: spec.workloads.map(([ip, dev]) => ({ ip, dev })),
    },
    sections,
    checks: [],
    findings: [],
    agentUrl: `http://${spec.nodeIP}:9477`,
  } satisfies Omit<Report, 'sections'> & { sections: Sections };
  return { node: spec.name, receivedAt: now, report };
};

/** A healthy full mesh of `specs` in `mode`. */
export const buildCluster = (specs: readonly NodeSpec[], mode: MeshMode, opts: { now?: string; hostSet?: string } = {}): NodeState[] =>
  specs.map((s) => buildNodeState(s, specs.filter((p) => p !== s), mode, opts));

/** A resolved report as an agent sends it: every section in full with its hash (a copy: the store freezes what it interns). */
export const wireReport = (r: ResolvedReport, seq = r.seq): Report => {
  const sections = {} as Record<string, { hash: string; data: unknown }>;
  for (const name of SECTION_NAMES) {
    const data = JSON.parse(JSON.stringify(r.sections[name])) as unknown;
    sections[name] = { hash: hashSection(data), data };
  }
  return { ...r, seq, sections } as unknown as Report;
};

/** `nodes` ingested into `store` (a new one by default) the way reports arrive; the store's states. */
export const stored = (nodes: readonly NodeState[], store = new ReportStore()): NodeState[] => {
  for (const n of nodes) {
    const held = store.get(n.node);
    const seq = held === undefined || held.report.agentId !== n.report.agentId ? n.report.seq : held.report.seq + 1;
    const r = store.ingest(wireReport(n.report, seq), n.receivedAt);
    if (r.kind !== 'accepted') throw new Error(`${n.node}: the store did not take the report: ${JSON.stringify(r)}`);
  }
  const names = new Set(nodes.map((n) => n.node));
  return store.nodes().filter((n) => names.has(n.node));
};

/** The correlation input over `nodes` as the aggregator holds them (through the store's ingest). */
export const inputOf = (nodes: NodeState[], extra: { now?: string; datastore?: DatastoreView; staleAfterIntervals?: number; store?: ReportStore } = {}): CorrelateInput => ({
  nodes: stored(nodes, extra.store),
  now: extra.now ?? NOW,
  staleAfterIntervals: extra.staleAfterIntervals ?? 3,
  datastore: extra.datastore,
});

export const nodeNamed = (nodes: NodeState[], name: string): NodeState => {
  const n = nodes.find((x) => x.node === name);
  if (n === undefined) throw new Error(`no node ${name} in fixture`);
  return n;
};

/** Marks one section of a node unavailable. */
export const makeUnavailable = (n: NodeState, section: keyof Sections, reason: UnavailableReason = 'timeout'): void => {
  (n.report.sections as Record<keyof Sections, unknown>)[section] = unavailable(reason, `${section} collector failed in test`);
};

/** The section data of a node, asserting it is ok (for tests that edit state). */
export const okData = <K extends keyof Sections>(n: NodeState, section: K): Extract<Sections[K], { status: 'ok' }>['data'] => {
  const s = n.report.sections[section];
  if (s.status !== 'ok') throw new Error(`${n.node}: ${section} is not ok in fixture`);
  return (s as Extract<Sections[K], { status: 'ok' }>).data;
};

/** `count` synthetic nodes: node i has node IP 10.(i>>8).(i&255).10 and the i-th /26 of 172.16.0.0/12 as block. */
export const syntheticSpecs = (count: number): NodeSpec[] => {
  const out: NodeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const hi = (i >> 8) & 255;
    const lo = i & 255;
    // blocks: 172.16.0.0/12 carved into /26s: block i starts at 172.16.0.0 + 64*i
    const base = (172 << 24) + (16 << 16) + 64 * i;
    const b = [(base >>> 24) & 255, (base >>> 16) & 255, (base >>> 8) & 255, base & 255];
    const hex = (v: number) => v.toString(16).padStart(2, '0');
    out.push({
      name: `node-${String(i).padStart(5, '0')}`,
      nodeIP: `10.${hi}.${lo}.10`,
      uplink: 'eth0',
      uplinkMtu: 1500,
      gateway: `10.${hi}.${lo}.1`,
      block: `${b.join('.')}/26`,
      tunnelIP: `${b[0]}.${b[1]}.${b[2]}.${(b[3] as number) + 1}`,
      vtepMac: `66:00:00:${hex(hi)}:${hex(lo)}:01`,
      workloads: [[`${b[0]}.${b[1]}.${b[2]}.${(b[3] as number) + 2}`, `cali${String(i).padStart(11, '0')}`]],
    });
  }
  return out;
};

/** A datastore view matching the 3-node VXLAN fixture (VXLAN_NODES): all healthy. */

export const healthyDatastore = (): DatastoreView => ({
  nodes: [
    { name: 'control1', internalIPs: ['10.0.1.20'] },
    { name: 'worker1', internalIPs: ['10.0.1.30'] },
    { name: 'worker2', internalIPs: ['10.0.1.31'] },
  ],
  calicoNodePods: [
    { node: 'control1', name: 'calico-node-7xk2p', ready: true, restarts: 0 },
    { node: 'worker1', name: 'calico-node-b9wq4', ready: true, restarts: 1 },
    { node: 'worker2', name: 'calico-node-lm5rd', ready: true, restarts: 0 },
  ],
  ipPools: [{ name: 'default-ipv4-ippool', cidr: '10.48.0.0/16', blockSize: 26, vxlanMode: 'Always', ipipMode: 'Never', disabled: false, natOutgoing: true }],
  blockAffinities: [
    { node: 'control1', cidr: '10.48.0.128/26', state: 'confirmed' },
    { node: 'worker1', cidr: '10.48.0.192/26', state: 'confirmed' },
    { node: 'worker2', cidr: '10.48.0.0/26', state: 'confirmed' },
  ],
});
