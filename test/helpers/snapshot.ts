/**
 * Builders of node snapshots for the derive and check tests. The healthy VXLAN node is modelled on
 * real outputs (corpus 9506hqwy worker: enp1s0 default route, enp2s0 VXLAN underlay 10.0.0.31,
 * vxlan.calico 66:ba:9d:ce:21:bb 172.17.255.128/32 VNI 4096, block 172.17.255.128/26, peer
 * 172.17.2.0 / 66:b9:7e:86:1e:53 / 10.0.0.11; pooriya control1: routes `via <tunnel IP> dev
 * vxlan.calico onlink`). The IPIP node follows rendoaw ubuntu-3 (ens3 1400, tunl0 1440 → MTU-fine
 * 1380 in the builder, block 10.201.0.128/26 proto bird, peer 100.64.1.23).
 * Every builder returns a fresh object: mutate freely.
 */
import type { Address, FdbEntry, Link, LinkStats, Neighbour, Route, Sections, Snapshot } from '../../contract/snapshot.js';
import { ok, unavailable, type UnavailableReason } from '../../contract/result.js';
import type { SectionName } from '../../contract/snapshot.js';
import { deriveIdentity } from '../../agent/derive/identity.js';
import { deriveMode } from '../../agent/derive/mode.js';

export const NODE = 'worker-1';
export const TAKEN_AT = '2026-11-21T15:00:00.000Z';

export const stats = (over: Partial<LinkStats> = {}): LinkStats => ({
  rxPackets: 1000,
  rxBytes: 100000,
  rxErrors: 0,
  rxDropped: 0,
  txPackets: 1000,
  txBytes: 100000,
  txErrors: 0,
  txDropped: 0,
  ...over,
});

export const link = (name: string, over: Partial<Link> = {}): Link => ({
  ifindex: 1,
  name,
  kind: null,
  flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
  operstate: 'UP',
  mtu: 1500,
  mac: null,
  master: null,
  parent: null,
  vxlan: null,
  stats: stats(),
  ...over,
});

export const addr = (ifname: string, cidr: string, scope = 'global'): Address => {
  const [local = '', len = '32'] = cidr.split('/');
  return { ifname, family: local.includes(':') ? 'inet6' : 'inet', local, prefixlen: Number(len), scope };
};

export const route = (dst: string, over: Partial<Route> = {}): Route => ({
  family: dst.includes(':') ? 'inet6' : 'inet',
  type: 'unicast',
  dst,
  gateway: null,
  dev: null,
  protocol: 'boot',
  scope: 'global',
  flags: [],
  table: 'main',
  metric: null,
  prefsrc: null,
  nexthops: [],
  ...over,
});

export const neigh = (dst: string, dev: string, lladdr: string | null, state: string[]): Neighbour => ({
  family: dst.includes(':') ? 'inet6' : 'inet',
  dst,
  dev,
  lladdr,
  state,
  router: false,
});

export const fdbEntry = (mac: string, dev: string, dst: string | null): FdbEntry => ({
  mac,
  dev,
  dst,
  flags: ['self'],
  state: 'permanent',
  vni: null,
  port: null,
});

const loLink = (): Link => link('lo', { ifindex: 1, flags: ['LOOPBACK', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 65536, mac: '00:00:00:00:00:00' });

/** Sections of a healthy VXLAN node (9506hqwy worker, VXLAN Always). */
export const healthyVxlanSections = (): Sections => ({
  links: ok([
    loLink(),
    link('enp1s0', { ifindex: 2, mac: '52:54:00:2b:8a:0d' }),
    link('enp2s0', { ifindex: 3, mac: '52:54:00:11:d1:97' }),
    link('vxlan.calico', {
      ifindex: 4,
      kind: 'vxlan',
      operstate: 'UNKNOWN',
      mtu: 1450,
      mac: '66:ba:9d:ce:21:bb',
      parent: 'enp2s0',
      vxlan: { id: 4096, port: 4789, local: '10.0.0.31', link: 'enp2s0', learning: false },
    }),
    link('cali90b386908a6', { ifindex: 7, kind: 'veth', mtu: 1450, mac: 'ee:ee:ee:ee:ee:ee' }),
  ]),
  addresses: ok([
    addr('lo', '127.0.0.1/8', 'host'),
    addr('lo', '::1/128', 'host'),
    addr('enp1s0', '172.16.0.31/24'),
    addr('enp2s0', '10.0.0.31/24'),
    addr('vxlan.calico', '172.17.255.128/32'),
    addr('vxlan.calico', 'fe80::64ba:9dff:fece:21bb/64', 'link'),
    addr('cali90b386908a6', 'fe80::ecee:eeff:feee:eeee/64', 'link'),
  ]),
  routes: ok([
    route('default', { gateway: '172.16.0.254', dev: 'enp1s0', protocol: 'static', metric: 100 }),
    route('10.0.0.0/24', { dev: 'enp2s0', protocol: 'kernel', scope: 'link', prefsrc: '10.0.0.31', metric: 101 }),
    route('172.16.0.0/24', { dev: 'enp1s0', protocol: 'kernel', scope: 'link', prefsrc: '172.16.0.31', metric: 100 }),
    route('172.17.2.0/26', { gateway: '172.17.2.0', dev: 'vxlan.calico', protocol: '80', flags: ['onlink'] }),
    route('172.17.255.128/26', { type: 'blackhole', protocol: '80' }),
    route('172.17.255.130', { dev: 'cali90b386908a6', scope: 'link' }),
  ]),
  neighbours: ok([
    neigh('172.16.0.254', 'enp1s0', '52:54:00:65:c6:68', ['DELAY']),
    neigh('172.17.2.0', 'vxlan.calico', '66:b9:7e:86:1e:53', ['PERMANENT']),
    neigh('10.0.0.11', 'enp2s0', '52:54:00:91:a0:96', ['REACHABLE']),
    neigh('172.17.255.130', 'cali90b386908a6', 'fa:c1:de:7f:7c:42', ['REACHABLE']),
  ]),
  fdb: ok([fdbEntry('66:b9:7e:86:1e:53', 'vxlan.calico', '10.0.0.11')]),
  sysctls: ok({
    ipv4Forward: 1,
    ipv6Forwarding: 0,
    interfaces: [
      { scope: 'all', rpFilter: 0, forwarding: 1, proxyArp: 0 },
      { scope: 'default', rpFilter: 2, forwarding: 1, proxyArp: 0 },
      { scope: 'enp1s0', rpFilter: 2, forwarding: 1, proxyArp: 0 },
      { scope: 'enp2s0', rpFilter: 2, forwarding: 1, proxyArp: 0 },
      { scope: 'vxlan.calico', rpFilter: 2, forwarding: 1, proxyArp: 0 },
    ],
    workloadDevices: { count: 1, rpFilter: { '1': 1 }, proxyArpOff: [], forwardingOff: [] },
    conntrack: { count: 1200, max: 262144 },
  }),
  iptables: ok({
    backend: 'nft',
    backendReason: 'kube hint chains in nft tables',
    ipv4: ok({ tables: ['filter', 'nat', 'mangle', 'raw'], chains: 120, rules: 600, caliChains: 80 }),
    ipv6: ok({ tables: ['filter'], chains: 5, rules: 0, caliChains: 0 }),
    chains: [],
    dropRules: [
      {
        family: 'ipv4',
        table: 'filter',
        chain: 'cali-INPUT',
        index: 2,
        target: 'DROP',
        packets: 0,
        bytes: 0,
        caliId: 'kAv1vIcdB-ZnfUn0',
        comments: ['Drop IPv4 VXLAN packets from non-Calico hosts'],
        matchSets: [{ name: 'cali40all-vxlan-net', negated: true, direction: 'src' }],
        rule: '-A cali-INPUT -p udp -m comment --comment "cali:kAv1vIcdB-ZnfUn0" -m comment --comment "Drop IPv4 VXLAN packets from non-Calico hosts" -m set ! --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -m udp --dport 4789 -j DROP',
      },
      {
        family: 'ipv4',
        table: 'filter',
        chain: 'cali-tw-cali90b386908a6',
        index: 5,
        target: 'DROP',
        packets: 3,
        bytes: 180,
        caliId: 'fZ6_BRZ6PObj3Gk7',
        comments: ['Drop if no profiles matched'],
        matchSets: [],
        rule: '-A cali-tw-cali90b386908a6 -m comment --comment "cali:fZ6_BRZ6PObj3Gk7" -m comment --comment "Drop if no profiles matched" -j DROP',
      },
    ],
  }),
  ipsets: ok({
    hostSets: [{ name: 'cali40all-vxlan-net', type: 'hash:net', family: 'inet', members: ['10.0.0.11', '10.0.0.31'] }],
    caliSetSizes: { 'cali40all-vxlan-net': 2, 'cali40masq-ipam-pools': 1 },
  }),
  felix: ok({ url: 'http://127.0.0.1:9099', readiness: 'ready', liveness: 'ready', detail: '' }),
  bgp: unavailable('not-present', 'no BIRD socket at /var/run/calico/bird.ctl'),
});

/** Sections of a healthy IPIP node (rendoaw ubuntu-3: tunl0, proto bird, BIRD peers). */
export const healthyIpipSections = (): Sections => ({
  ...healthyVxlanSections(),
  links: ok([
    loLink(),
    link('ens3', { ifindex: 2, mtu: 1400, mac: '02:a2:f0:89:15:28' }),
    link('docker0', { ifindex: 4, flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], operstate: 'DOWN', mac: '02:42:8f:0e:1c:cf' }),
    link('tunl0', { ifindex: 5, kind: 'ipip', flags: ['NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 1380 }),
    link('cali06827901978', { ifindex: 6, kind: 'veth', mac: 'ee:ee:ee:ee:ee:ee' }),
  ]),
  addresses: ok([
    addr('lo', '127.0.0.1/8', 'host'),
    addr('ens3', '100.64.1.24/24'),
    addr('ens3', 'fe80::a2:f0ff:fe89:1528/64', 'link'),
    addr('docker0', '172.17.0.1/16'),
    addr('tunl0', '10.201.0.128/32'),
  ]),
  routes: ok([
    route('default', { gateway: '100.64.1.1', dev: 'ens3' }),
    route('10.201.0.128/26', { type: 'blackhole', protocol: 'bird' }),
    route('10.201.0.130', { dev: 'cali06827901978', scope: 'link' }),
    route('10.201.0.192/26', { gateway: '100.64.1.23', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] }),
    route('100.64.1.0/24', { dev: 'ens3', protocol: 'kernel', scope: 'link', prefsrc: '100.64.1.24' }),
    route('172.17.0.0/16', { dev: 'docker0', protocol: 'kernel', scope: 'link', prefsrc: '172.17.0.1', flags: ['linkdown'] }),
  ]),
  neighbours: ok([neigh('100.64.1.1', 'ens3', '02:00:00:00:00:01', ['REACHABLE']), neigh('100.64.1.23', 'ens3', '02:00:00:00:00:23', ['STALE'])]),
  fdb: ok([]),
  sysctls: ok({
    ipv4Forward: 1,
    ipv6Forwarding: 0,
    interfaces: [
      { scope: 'all', rpFilter: 0, forwarding: 1, proxyArp: 0 },
      { scope: 'ens3', rpFilter: 2, forwarding: 1, proxyArp: 0 },
      { scope: 'tunl0', rpFilter: 0, forwarding: 1, proxyArp: 0 },
    ],
    workloadDevices: { count: 1, rpFilter: { '1': 1 }, proxyArpOff: [], forwardingOff: [] },
    conntrack: { count: 300, max: 131072 },
  }),
  iptables: ok({
    backend: 'legacy',
    backendReason: 'more rules in legacy tables',
    ipv4: ok({ tables: ['filter', 'nat', 'mangle', 'raw'], chains: 90, rules: 400, caliChains: 60 }),
    ipv6: ok({ tables: ['filter'], chains: 5, rules: 0, caliChains: 0 }),
    chains: [],
    dropRules: [
      {
        family: 'ipv4',
        table: 'filter',
        chain: 'cali-INPUT',
        index: 1,
        target: 'DROP',
        packets: 0,
        bytes: 0,
        caliId: 'PajejrV4aFdkZojI',
        comments: ['Drop IPIP packets from non-Calico hosts'],
        matchSets: [{ name: 'cali40all-hosts-net', negated: true, direction: 'src' }],
        rule: '-A cali-INPUT -p ipencap -m comment --comment "cali:PajejrV4aFdkZojI" -m comment --comment "Drop IPIP packets from non-Calico hosts" -m set ! --match-set cali40all-hosts-net src -j DROP',
      },
    ],
  }),
  ipsets: ok({
    hostSets: [{ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: ['100.64.1.23', '100.64.1.24'] }],
    caliSetSizes: { 'cali40all-hosts-net': 2 },
  }),
  bgp: ok({
    socket: '/var/run/calico/bird.ctl',
    protocols: [
      { name: 'static1', proto: 'Static', table: 'master', state: 'up', since: '2026-11-20', info: '' },
      { name: 'kernel1', proto: 'Kernel', table: 'master', state: 'up', since: '2026-11-20', info: '' },
      { name: 'device1', proto: 'Device', table: 'master', state: 'up', since: '2026-11-20', info: '' },
      { name: 'Mesh_100_64_1_23', proto: 'BGP', table: 'master', state: 'up', since: '2026-11-20', info: 'Established' },
    ],
  }),
});

/** A snapshot from sections, with identity and mode derived the way the agent derives them. */
export const snapshotOf = (sections: Sections, over: Partial<Omit<Snapshot, 'sections'>> = {}): Snapshot => {
  const identity = deriveIdentity(sections);
  return {
    schemaVersion: 1,
    node: NODE,
    takenAt: TAKEN_AT,
    durationMs: 120,
    agentVersion: '0.1.0-test',
    sections,
    timings: {},
    mode: deriveMode(sections, identity),
    identity,
    ...over,
  };
};

export const healthyVxlanSnapshot = (): Snapshot => snapshotOf(healthyVxlanSections());
export const healthyIpipSnapshot = (): Snapshot => snapshotOf(healthyIpipSections());

/** Copy of `sections` with `edit` applied to one ok section's data (throws if that section is not ok: test bug). */
export const editSection = <K extends SectionName>(
  sections: Sections,
  name: K,
  edit: (data: Extract<Sections[K], { status: 'ok' }>['data']) => Extract<Sections[K], { status: 'ok' }>['data'] | void,
): Sections => {
  const copy = structuredClone(sections);
  const s = copy[name];
  if (s.status !== 'ok') throw new Error(`editSection: ${name} is not ok`);
  const data = s.data as Extract<Sections[K], { status: 'ok' }>['data'];
  const out = edit(data);
  (copy[name] as { status: 'ok'; data: unknown }).data = out === undefined ? data : out;
  return copy;
};

/** A healthy VXLAN snapshot with one section edited, identity and mode re-derived. */
export const vxlanWith = <K extends SectionName>(
  name: K,
  edit: (data: Extract<Sections[K], { status: 'ok' }>['data']) => Extract<Sections[K], { status: 'ok' }>['data'] | void,
): Snapshot => snapshotOf(editSection(healthyVxlanSections(), name, edit));

/** A snapshot with the named sections unavailable (identity and mode re-derived). */
export const withUnavailable = (base: Sections, names: SectionName[], reason: UnavailableReason = 'timeout', detail = 'took too long'): Snapshot => {
  const copy = structuredClone(base);
  for (const n of names) (copy as Record<SectionName, unknown>)[n] = unavailable(reason, detail);
  return snapshotOf(copy);
};
