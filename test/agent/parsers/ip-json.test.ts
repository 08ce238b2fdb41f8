import { describe, expect, it } from 'vitest';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { Address, Link, Neighbour, Route } from '../../../contract/snapshot.js';
import { fixture } from './fixture.js';

const must = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(`parse failed: ${JSON.stringify(p.error)}`);
  return p.value;
};

describe('parseIpLinks (ip -j -d -s link show, recorded from a cdA namespace)', () => {
  const links = must(parseIpLinks(fixture('ip/cdA-vxlan-node-ip-j-d-s-link-show.json')));
  const byName = new Map(links.map((l) => [l.name, l]));

  it('reads every device and matches the contract schema', () => {
    expect(links.map((l) => l.name)).toEqual(['lo', 'eth0', 'vxlan.calico', 'vxlan-v6.calico', 'calia1b2c3d4e5f']);
    for (const l of links) expect(Link.safeParse(l).success).toBe(true);
  });

  it('reads vxlan.calico as Felix programs it', () => {
    const v = byName.get('vxlan.calico');
    expect(v).toMatchObject({ kind: 'vxlan', mtu: 1450, mac: '66:6a:2b:1c:3d:4e', operstate: 'UNKNOWN', master: null });
    expect(v?.vxlan).toEqual({ id: 4096, port: 4789, local: '10.99.0.2', link: 'eth0', learning: false });
    expect(v?.flags).toContain('UP');
  });

  it('reads the IPv6 VXLAN source from "local6"', () => {
    expect(byName.get('vxlan-v6.calico')?.vxlan).toEqual({ id: 4096, port: 4789, local: 'fd00:99::2', link: 'eth0', learning: false });
  });

  it('reads stats64 counters', () => {
    const s = byName.get('eth0')?.stats;
    expect(s).not.toBeNull();
    expect(s?.txPackets).toBeGreaterThan(0);
    expect(Object.keys(s ?? {})).toHaveLength(8);
  });

  it('does not name a parent that lives in another namespace (link_netnsid)', () => {
    expect(byName.get('calia1b2c3d4e5f')).toMatchObject({ kind: 'veth', parent: null, mac: 'ee:ee:ee:ee:ee:ee' });
  });

  it('reads plain `ip -j link show` (no -d/-s) from a flannel node (corpus, Apache-2.0)', () => {
    const l = must(parseIpLinks(fixture('ip/kaweezle-iknite-ip-j-link-show-flannel-node.json')));
    expect(l).toHaveLength(17);
    const veth = l.find((x) => x.name === 'vethceed7ade');
    expect(veth).toMatchObject({ master: 'cni0', kind: null, stats: null, vxlan: null, parent: null });
    expect(l.find((x) => x.name === 'flannel.1')?.mtu).toBe(1450);
  });

  it('resolves link_index to a name when the parent is in the same namespace', () => {
    const text = JSON.stringify([
      { ifindex: 2, ifname: 'eth0', flags: [], mtu: 1500, operstate: 'UP', address: '52:54:00:12:34:56' },
      { ifindex: 7, link_index: 2, ifname: 'eth0.10', flags: [], mtu: 1500, operstate: 'UP', linkinfo: { info_kind: 'vlan' } },
    ]);
    expect(must(parseIpLinks(text))[1]?.parent).toBe('eth0');
  });

  it('reads an ipip tunl0 entry (field names of iproute2 ip/link_iptnl.c; no real capture available)', () => {
    const text = JSON.stringify([
      {
        ifindex: 4,
        link: null,
        ifname: 'tunl0',
        flags: ['NOARP', 'UP', 'LOWER_UP'],
        mtu: 1480,
        operstate: 'UNKNOWN',
        link_type: 'ipip',
        address: '0.0.0.0',
        linkinfo: { info_kind: 'ipip', info_data: { proto: 'ip', remote: 'any', local: 'any', ttl: 0, pmtudisc: false } },
      },
    ]);
    expect(must(parseIpLinks(text))[0]).toMatchObject({ name: 'tunl0', kind: 'ipip', mtu: 1480, mac: null, parent: null, vxlan: null });
  });

  it('gives null stats rather than a wrong number when a counter is beyond 2^53 (found by the fuzz test)', () => {
    const side = { bytes: 2 ** 60, packets: 1, errors: 0, dropped: 0 };
    const text = JSON.stringify([{ ifindex: 1, ifname: 'eth0', flags: [], mtu: 1500, stats64: { rx: side, tx: { ...side, bytes: 1 } } }]);
    expect(must(parseIpLinks(text))[0]?.stats).toBeNull();
  });

  it('skips the empty objects old iproute2 (4.20) prints for filtered entries', () => {
    expect(must(parseIpLinks('[{},{"ifindex":1,"ifname":"lo","flags":[],"mtu":65536}]'))).toHaveLength(1);
  });

  it('returns typed errors for bad output', () => {
    expect(parseIpLinks('')).toMatchObject({ ok: false, error: { code: 'empty' } });
    expect(parseIpLinks('[{"ifindex":1,"ifname":"lo"')).toMatchObject({ ok: false, error: { code: 'truncated' } });
    expect(parseIpLinks('[]\nError: something\n')).toMatchObject({ ok: false, error: { code: 'invalid-json', line: 2 } });
    expect(parseIpLinks('{"ifindex":1}')).toMatchObject({ ok: false, error: { code: 'invalid-shape' } });
    expect(parseIpLinks('[{"ifindex":"1","ifname":"lo","mtu":1}]')).toMatchObject({ ok: false, error: { code: 'invalid-shape' } });
    expect(parseIpLinks('[{"ifindex":1,"ifname":"lo"}]')).toMatchObject({ ok: false, error: { code: 'invalid-shape' } });
  });

  it('concatenates several top-level arrays', () => {
    const a = '[{"ifindex":1,"ifname":"lo","flags":[],"mtu":65536}]';
    const b = '[{"ifindex":2,"ifname":"eth0","flags":[],"mtu":1500}]';
    expect(must(parseIpLinks(`${a}\n${b}\n`)).map((l) => l.name)).toEqual(['lo', 'eth0']);
  });
});

describe('parseIpAddrs (ip -j addr show)', () => {
  it('reads both families', () => {
    const addrs = must(parseIpAddrs(fixture('ip/cdA-vxlan-node-ip-j-addr-show.json')));
    for (const a of addrs) expect(Address.safeParse(a).success).toBe(true);
    expect(addrs).toContainEqual({ ifname: 'vxlan.calico', family: 'inet', local: '10.244.1.0', prefixlen: 32, scope: 'global' });
    expect(addrs).toContainEqual({ ifname: 'eth0', family: 'inet6', local: 'fd00:99::2', prefixlen: 64, scope: 'global' });
    expect(addrs).toContainEqual({ ifname: 'vxlan-v6.calico', family: 'inet6', local: 'fd00:244:1::', prefixlen: 128, scope: 'global' });
  });

  it('reads the -4 form', () => {
    const addrs = must(parseIpAddrs(fixture('ip/cdA-vxlan-node-ip-j-4-addr-show.json')));
    expect(addrs.every((a) => a.family === 'inet')).toBe(true);
    expect(addrs.map((a) => a.local)).toEqual(['127.0.0.1', '10.99.0.2', '10.244.1.0']);
  });

  it('skips the empty first object iproute2 4.20 prints in `ip -j addr show`', () => {
    const text = '[{},{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"}]}]';
    expect(must(parseIpAddrs(text))).toEqual([{ ifname: 'lo', family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }]);
  });

  it('rejects an address without prefixlen', () => {
    expect(parseIpAddrs('[{"ifname":"x","addr_info":[{"family":"inet","local":"1.2.3.4"}]}]')).toMatchObject({
      ok: false,
      error: { code: 'invalid-shape' },
    });
  });
});

describe('parseIpRoutes', () => {
  const v4 = must(parseIpRoutes(fixture('ip/cdA-vxlan-node-ip-j-4-route-show-table-all.json'), 'inet'));
  const v6 = must(parseIpRoutes(fixture('ip/cdA-vxlan-node-ip-j-6-route-show-table-all.json'), 'inet6'));

  it('matches the contract schema', () => {
    for (const r of [...v4, ...v6]) expect(Route.safeParse(r).success).toBe(true);
  });

  it('reads Felix VXLAN routes: onlink via the peer tunnel IP, blackhole/unreachable blocks, /32 workload routes', () => {
    expect(v4).toContainEqual({
      family: 'inet',
      type: 'unicast',
      dst: '10.244.2.0/26',
      gateway: '10.244.2.0',
      dev: 'vxlan.calico',
      protocol: '80',
      scope: 'global',
      flags: ['onlink'],
      table: 'main',
      metric: null,
      prefsrc: null,
      nexthops: [],
    });
    expect(v4.find((r) => r.dst === '10.244.1.0/26')).toMatchObject({ type: 'blackhole', protocol: '80', dev: null });
    expect(v4.find((r) => r.dst === '10.244.9.0/26')).toMatchObject({ type: 'unreachable' });
    expect(v4.find((r) => r.dst === '10.244.1.5/32')).toMatchObject({ dev: 'calia1b2c3d4e5f', scope: 'link', protocol: '80' });
  });

  it('reads defaults, other tables, local routes and ECMP next hops', () => {
    expect(v4.find((r) => r.dst === 'default')).toMatchObject({ gateway: '10.99.0.1', dev: 'eth0', protocol: 'boot', table: 'main' });
    expect(v4.find((r) => r.dst === '10.97.0.0/16')).toMatchObject({ table: '100', metric: 10 });
    expect(v4.find((r) => r.type === 'local' && r.dst === '10.99.0.2/32')).toMatchObject({ table: 'local', scope: 'host' });
    expect(v4.find((r) => r.dst === '10.98.0.0/16')?.nexthops).toEqual([
      { gateway: '10.99.0.1', dev: 'eth0', flags: [] },
      { gateway: '10.99.0.3', dev: 'eth0', flags: [] },
    ]);
  });

  it('reads IPv6 routes with /128 host routes', () => {
    expect(v6.every((r) => r.family === 'inet6')).toBe(true);
    expect(v6.find((r) => r.dst === 'fd00:244:2::/122')).toMatchObject({ gateway: 'fd00:244:2::', flags: ['onlink'], metric: 1024 });
    expect(v6.find((r) => r.dst === 'fd00:244:1::/128' && r.type === 'local')).toBeDefined();
    expect(v6.find((r) => r.dst === 'default')?.gateway).toBe('fd00:99::1');
  });

  it('tells the families apart in the unfiltered `table all` dump (both families in one output)', () => {
    const all = must(parseIpRoutes(fixture('ip/cdA-vxlan-node-ip-j-route-show-table-all.json'), 'inet'));
    expect(all.filter((r) => r.family === 'inet')).toHaveLength(v4.length);
    expect(all.filter((r) => r.family === 'inet6')).toHaveLength(v6.length);
    expect(all.filter((r) => r.dst === 'default').map((r) => r.family).sort()).toEqual(['inet', 'inet6']);
  });

  it('reads a `via` object gateway', () => {
    const r = must(parseIpRoutes('[{"dst":"10.0.0.0/8","via":{"family":"inet6","host":"fe80::1"},"dev":"eth0","flags":[]}]', 'inet'));
    expect(r[0]).toMatchObject({ family: 'inet', gateway: 'fe80::1' });
  });

  // iproute2/iproute2 issue #37
  it('reads iproute2 5.9/5.10 output with the route type as a bare string', () => {
    // shape of the bug report's `ip -j route show table local` output, with this fixture's addresses
    const text =
      '[{"broadcast","dst":"10.99.0.255","dev":"eth0","table":"local","protocol":"kernel","scope":"link","prefsrc":"10.99.0.2","flags":[]},' +
      '{"local","dst":"10.99.0.2","dev":"eth0","table":"local","protocol":"kernel","scope":"host","prefsrc":"10.99.0.2","flags":[]}]';
    const r = must(parseIpRoutes(text, 'inet'));
    expect(r.map((x) => [x.type, x.dst])).toEqual([
      ['broadcast', '10.99.0.255/32'],
      ['local', '10.99.0.2/32'],
    ]);
  });

  it('iproute2 4.15 (Ubuntu 18.04) ignores -j for routes: plain text is an "incompatible" error, not a crash', () => {
    expect(parseIpRoutes('default via 10.99.0.1 dev eth0\n10.99.0.0/24 dev eth0 proto kernel scope link src 10.99.0.2\n', 'inet')).toMatchObject({
      ok: false,
      error: { code: 'incompatible', line: 1 },
    });
  });

  it('rejects a route without dst', () => {
    expect(parseIpRoutes('[{"dev":"eth0"}]', 'inet')).toMatchObject({ ok: false, error: { code: 'invalid-shape' } });
  });
});

describe('parseIpNeigh', () => {
  it('reads PERMANENT VTEP neighbours of both families', () => {
    const n = must(parseIpNeigh(fixture('ip/cdA-vxlan-node-ip-j-neigh-show.json')));
    for (const x of n) expect(Neighbour.safeParse(x).success).toBe(true);
    expect(n).toContainEqual({ family: 'inet', dst: '10.244.2.0', dev: 'vxlan.calico', lladdr: '66:aa:bb:cc:dd:02', state: ['PERMANENT'], router: false });
    expect(n).toContainEqual({
      family: 'inet6',
      dst: 'fd00:244:2::',
      dev: 'vxlan-v6.calico',
      lladdr: '66:aa:bb:cc:dd:03',
      state: ['PERMANENT'],
      router: false,
    });
    const v6only = must(parseIpNeigh(fixture('ip/cdA-vxlan-node-ip-j-6-neigh-show.json')));
    expect(v6only.map((x) => x.family)).toEqual(['inet6']);
  });

  it('reads router entries, FAILED entries without lladdr, and a string state', () => {
    const n = must(parseIpNeigh('[{"dst":"fe80::1","dev":"eth0","lladdr":"52:54:00:AA:BB:CC","router":null,"state":["STALE"]},{"dst":"10.0.0.9","dev":"eth0","state":"FAILED"}]'));
    expect(n[0]).toMatchObject({ router: true, lladdr: '52:54:00:aa:bb:cc' });
    expect(n[1]).toMatchObject({ lladdr: null, state: ['FAILED'], family: 'inet' });
  });
});
