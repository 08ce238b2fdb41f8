import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseIpTextAddrs, parseIpTextLinks, parseIpTextNeigh, parseIpTextRoutes } from '../../../agent/parsers/ip-text.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { Address, Link, Neighbour, Route } from '../../../contract/snapshot.js';
import { transcript } from '../../helpers/transcript.js';
import { fixture } from './fixture.js';

const value = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(JSON.stringify(p.error));
  return p.value;
};

describe('ip-text parsers vs ip -j parsers on the same namespace (cdT, iproute2 6.1)', () => {
  it('links: text and JSON agree on every field (veth name@peer, @ifN into another netns, vxlan, stats)', () => {
    const text = value(parseIpTextLinks(fixture('ip-text/cdT-node-ip-d-s-link-show.txt')));
    expect(text).toEqual(value(parseIpLinks(fixture('ip-text/cdT-node-ip-j-d-s-link-show.json'))));
    for (const l of text) expect(Link.safeParse(l).success).toBe(true);
    const vx = text.find((l) => l.name === 'vxlan.calico');
    expect(vx).toMatchObject({ kind: 'vxlan', mtu: 1450, mac: '66:0a:0b:0c:0d:0e', vxlan: { id: 4096, port: 4789, local: '10.78.0.2', link: 'eth0', learning: false } });
    expect(vx?.stats?.txDropped).toBe(3);
    expect(text.find((l) => l.name === 'cali12345abcdef')).toMatchObject({ kind: 'veth', parent: null });
    expect(text.find((l) => l.name === 'eth0')).toMatchObject({ kind: 'veth', parent: 'eth1' });
  });

  it('addresses, routes (-4 and -6 table all) and neighbours: text and JSON agree', () => {
    const addrs = value(parseIpTextAddrs(fixture('ip-text/cdT-node-ip-addr-show.txt')));
    expect(addrs).toEqual(value(parseIpAddrs(fixture('ip-text/cdT-node-ip-j-addr-show.json'))));
    for (const a of addrs) expect(Address.safeParse(a).success).toBe(true);
    const r4 = value(parseIpTextRoutes(fixture('ip-text/cdT-node-ip-4-route-show-table-all.txt'), 'inet'));
    expect(r4).toEqual(value(parseIpRoutes(fixture('ip-text/cdT-node-ip-j-4-route-show-table-all.json'), 'inet')));
    const r6 = value(parseIpTextRoutes(fixture('ip-text/cdT-node-ip-6-route-show-table-all.txt'), 'inet6'));
    expect(r6).toEqual(value(parseIpRoutes(fixture('ip-text/cdT-node-ip-j-6-route-show-table-all.json'), 'inet6')));
    for (const r of [...r4, ...r6]) expect(Route.safeParse(r).success).toBe(true);
    expect(r4.find((r) => r.dst === '10.246.1.0/26')).toMatchObject({ type: 'blackhole', protocol: '80' });
    expect(r4.find((r) => r.dst === '10.246.9.0/26')).toMatchObject({ type: 'unreachable', protocol: 'bird' });
    expect(r4.find((r) => r.dst === '10.246.2.0/26')).toMatchObject({ gateway: '10.246.2.0', dev: 'vxlan.calico', flags: ['onlink'] });
    expect(r4.find((r) => r.dst === '10.246.4.0/26')?.nexthops).toEqual([
      { gateway: '10.78.0.4', dev: 'eth0', flags: [] },
      { gateway: '10.79.0.4', dev: 'eth2', flags: [] },
    ]);
    expect(r4.find((r) => r.dst === '10.78.0.2/32')).toMatchObject({ type: 'local', table: 'local', scope: 'host' });
    const neigh = value(parseIpTextNeigh(fixture('ip-text/cdT-node-ip-neigh-show.txt')));
    expect(neigh).toEqual(value(parseIpNeigh(fixture('ip-text/cdT-node-ip-j-neigh-show.json'))));
    for (const n of neigh) expect(Neighbour.safeParse(n).success).toBe(true);
    expect(neigh.find((n) => n.dst === 'fd78::3')).toMatchObject({ router: true, state: ['PERMANENT'] });
    expect(neigh.find((n) => n.dst === '10.78.0.9')).toMatchObject({ lladdr: null, state: ['INCOMPLETE'] });
  });
});

describe('ip-text parsers on recorded Calico IPIP nodes (CC-BY-4.0 blog posts, iproute2 of Ubuntu 16.04)', () => {
  it('ip a: tunl0@NONE link/ipip is kind ipip with its /32, cali*@if4 in a pod netns have no parent', () => {
    for (const [file, tunl] of [
      ['ip-text/rendoaw-ubuntu3-ip-a-tunl0-cali.txt', '10.201.0.128'],
      ['ip-text/rendoaw-ubuntu4-ip-a-tunl0-cali.txt', '10.201.0.192'],
    ] as const) {
      const out = transcript(fixture(file));
      const text = out.get('ip a') ?? '';
      const links = value(parseIpTextLinks(text));
      expect(links.map((l) => l.name)).toEqual(['lo', 'ens3', 'ens4', 'docker0', 'tunl0', expect.stringMatching(/^cali/), expect.stringMatching(/^cali/)]);
      expect(links.find((l) => l.name === 'tunl0')).toEqual({
        ifindex: 5, name: 'tunl0', kind: 'ipip', flags: ['NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', mtu: 1440,
        mac: null, master: null, parent: null, vxlan: null, stats: null,
      });
      expect(links[5]).toMatchObject({ kind: null, parent: null, mtu: 1500 });
      const addrs = value(parseIpTextAddrs(text));
      expect(addrs.find((a) => a.ifname === 'tunl0')).toEqual({ ifname: 'tunl0', family: 'inet', local: tunl, prefixlen: 32, scope: 'global' });
      expect(addrs.filter((a) => a.family === 'inet6' && a.ifname.startsWith('cali'))).toHaveLength(1);
    }
  });

  it('ip r (old double-space format): proto bird onlink via tunl0, blackhole, linkdown', () => {
    const text = transcript(fixture('ip-text/rendoaw-ubuntu3-ip-route-bird-tunl0.txt')).get('ip r') ?? '';
    const routes = value(parseIpTextRoutes(text, 'inet'));
    expect(routes).toHaveLength(7);
    expect(routes.find((r) => r.dev === 'tunl0')).toEqual({
      family: 'inet', type: 'unicast', dst: '10.201.0.192/26', gateway: '100.64.1.23', dev: 'tunl0', protocol: 'bird',
      scope: 'global', flags: ['onlink'], table: 'main', metric: null, prefsrc: null, nexthops: [],
    });
    expect(routes.find((r) => r.type === 'blackhole')).toMatchObject({ dst: '10.201.0.128/26', protocol: 'bird', dev: null });
    expect(routes.find((r) => r.dst === '10.201.0.130/32')).toMatchObject({ scope: 'link', dev: 'cali06827901978' });
    expect(routes.find((r) => r.dev === 'docker0')).toMatchObject({ flags: ['linkdown'], prefsrc: '172.17.0.1' });
    expect(value(parseIpTextRoutes(transcript(fixture('ip-text/rendoaw-ubuntu4-ip-route-bird-tunl0.txt')).get('ip r') ?? '', 'inet')).filter((r) => r.dev === 'tunl0')).toHaveLength(1);
  });

  it('ip r / ip -6 r: unreachable and blackhole in both families (error -113, pref, mtu skipped)', () => {
    const out = transcript(fixture('ip-text/rendoaw-kube2-ip-r-ip-6-r-unreachable.txt'));
    const v4 = value(parseIpTextRoutes(out.get('ip r') ?? '', 'inet'));
    const v6 = value(parseIpTextRoutes(out.get('ip -6 r') ?? '', 'inet6'));
    expect(v4.filter((r) => r.type === 'unreachable').map((r) => r.dst)).toEqual(['10.202.0.64/26']);
    expect(v4.filter((r) => r.type === 'blackhole')).toHaveLength(2);
    expect(v6.find((r) => r.type === 'unreachable')).toMatchObject({ family: 'inet6', dst: 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/122', dev: 'lo', protocol: 'bird', metric: 1024 });
    expect(v6.find((r) => r.dst === '3000:1:101:0:7e48:cff1:8353:e140/128')).toMatchObject({ dev: 'calice0906292e2', metric: 1024 });
    for (const r of [...v4, ...v6]) expect(Route.safeParse(r).success).toBe(true);
  });
});

describe('ip-text parsers on the copied public files (CC-BY-4.0 and Apache-2.0; test/fixtures/ip-text/SOURCES.md)', () => {
  it('inside a Calico pod: tunl0@NONE DOWN is ipip, eth0@ifN /32 has no parent here; default via 169.254.1.1 and its link route', () => {
    for (const [file, mac, ip] of [
      ['ip-text/rendoaw-pod-ip-a-ip-r.txt', 'ea:ff:92:a4:32:63', '10.201.0.197'],
      ['ip-text/rendoaw-pod-ip-a-ip-r-ip-6-r-dualstack.txt', 'be:7f:e9:4a:c3:67', '10.91.101.192'],
    ] as const) {
      const out = transcript(fixture(file));
      const links = value(parseIpTextLinks(out.get('ip a') ?? ''));
      expect(links.map((l) => l.name)).toEqual(['lo', 'tunl0', 'eth0']);
      expect(links[1]).toMatchObject({ kind: 'ipip', flags: ['NOARP'], operstate: 'DOWN', mtu: 1480, mac: null });
      expect(links[2]).toMatchObject({ ifindex: 4, kind: null, parent: null, mac, operstate: 'UP' });
      expect(value(parseIpTextAddrs(out.get('ip a') ?? '')).find((a) => a.ifname === 'eth0' && a.family === 'inet')).toEqual({ ifname: 'eth0', family: 'inet', local: ip, prefixlen: 32, scope: 'global' });
      const routes = value(parseIpTextRoutes(out.get('ip r') ?? '', 'inet'));
      expect(routes).toEqual([
        expect.objectContaining({ dst: 'default', gateway: '169.254.1.1', dev: 'eth0', scope: 'global' }),
        expect.objectContaining({ dst: '169.254.1.1/32', gateway: null, dev: 'eth0', scope: 'link' }),
      ]);
    }
  });

  it('dual-stack pod: ip -6 r host route proto kernel and the default via a link-local gateway; a trailing bare prompt is not output', () => {
    const out = transcript(fixture('ip-text/rendoaw-pod-ip-a-ip-r-ip-6-r-dualstack.txt'));
    const v6 = value(parseIpTextRoutes(out.get('ip -6 r') ?? '', 'inet6'));
    expect(v6.map((r) => r.dst)).toEqual(['3000:1:101:0:7e48:cff1:8353:e140/128', 'fe80::/64', 'default']);
    expect(v6[2]).toMatchObject({ family: 'inet6', gateway: 'fe80::382d:fcff:fe52:46af', dev: 'eth0', metric: 1024 });
  });

  it('dual-stack node: v6 blackhole dev lo (error -22), proto ra default (expires, hoplimit skipped); v4 onlink via tunl0', () => {
    const out = transcript(fixture('ip-text/rendoaw-kube1-ip-r-ip-6-r-dualstack.txt'));
    // the first command's prompt line is not in the excerpt: its output is keyed ''
    const v4 = value(parseIpTextRoutes(out.get('') ?? '', 'inet'));
    expect(v4).toHaveLength(7);
    expect(v4.filter((r) => r.dev === 'tunl0' && r.protocol === 'bird' && r.flags.includes('onlink')).map((r) => r.gateway)).toEqual(['100.64.1.22', '100.64.1.22']);
    const v6 = value(parseIpTextRoutes(out.get('ip -6 r') ?? '', 'inet6'));
    expect(v6).toHaveLength(8);
    expect(v6.find((r) => r.type === 'blackhole')).toMatchObject({ dst: 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/122', dev: 'lo', protocol: 'bird', metric: 1024 });
    expect(v6.find((r) => r.dst === 'default')).toMatchObject({ gateway: 'fe80::5e00:100', dev: 'ens3', protocol: 'ra', metric: 1024 });
  });

  it('an elided fragment (the author\'s "..."): blackhole /26 proto bird with no device', () => {
    const routes = value(parseIpTextRoutes(transcript(fixture('ip-text/rendoaw-ubuntu3-ip-route-fragment-blackhole.txt')).get('ip r') ?? '', 'inet'));
    expect(routes.map((r) => r.type)).toEqual(['unicast', 'unicast', 'blackhole']);
    expect(routes[2]).toMatchObject({ dst: '10.91.1.128/26', protocol: 'bird', dev: null });
  });

  it('ip -br addr (brief format, not what the agent runs) is a typed syntax error at line 1, not a throw', () => {
    const text = fixture('ip-text/kaweezle-iknite-ip-br-4-addr-flannel-node.txt');
    for (const p of [parseIpTextLinks(text), parseIpTextAddrs(text)]) expect(p).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
  });

  it('every copied public file: each command\'s output parses into contract-valid values or a typed error', () => {
    const files = readdirSync(fileURLToPath(new URL('../../fixtures/ip-text/', import.meta.url))).filter((f) => /^(rendoaw|kaweezle)-.*\.txt$/.test(f));
    expect(files).toHaveLength(10);
    for (const f of files) {
      for (const t of transcript(fixture(`ip-text/${f}`)).values()) {
        const checks = [
          [parseIpTextRoutes(t, 'inet'), Route], [parseIpTextRoutes(t, 'inet6'), Route], [parseIpTextNeigh(t), Neighbour],
          [parseIpTextLinks(t), Link], [parseIpTextAddrs(t), Address],
        ] as const;
        for (const [p, schema] of checks) {
          if (p.ok) for (const v of p.value) expect(schema.safeParse(v).success, `${f}: ${JSON.stringify(v)}`).toBe(true);
          else expect(['empty', 'syntax', 'truncated']).toContain(p.error.code);
        }
      }
    }
  });
});

describe('ip-text parsers: formats from iproute2 print functions', () => {
  it('ip -d link: ipip tunl0 (link_iptnl.c) and wireguard kinds; old "RX: bytes  packets ..." stats header', () => {
    const text = [
      '5: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1440 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000',
      '    link/ipip 0.0.0.0 brd 0.0.0.0 promiscuity 0 ',
      '    ipip remote any local any ttl inherit nopmtudisc addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 ',
      '    RX: bytes  packets  errors  dropped overrun mcast   ',
      '    18446744073709551615 12 0 1 0 0',
      '    TX: bytes  packets  errors  dropped carrier collsns ',
      '    840        10       0       2       0       0       ',
      '9: wireguard.cali: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1440 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000',
      '    link/none  promiscuity 0 ',
      '    wireguard addrgenmode none numtxqueues 1 numrxqueues 1 ',
    ].join('\n');
    const links = value(parseIpTextLinks(text));
    expect(links[0]).toMatchObject({ name: 'tunl0', kind: 'ipip', mac: null, parent: null, stats: null });
    expect(links[1]).toMatchObject({ name: 'wireguard.cali', kind: 'wireguard', mac: null, flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'] });
    const small = value(parseIpTextLinks(text.replace('18446744073709551615', '1200')));
    expect(small[0]?.stats).toEqual({ rxBytes: 1200, rxPackets: 12, rxErrors: 0, rxDropped: 1, txBytes: 840, txPackets: 10, txErrors: 0, txDropped: 2 });
  });

  it('ip addr: peer addresses take the peer prefix length; bridge slave line is not a kind', () => {
    const text = [
      '3: tun0: <POINTOPOINT,UP> mtu 1400 qdisc noqueue master br0 state UNKNOWN group default',
      '    link/none ',
      '    bridge_slave state forwarding priority 32',
      '    inet 10.9.0.1 peer 10.9.0.2/32 scope global tun0',
    ].join('\n');
    expect(value(parseIpTextAddrs(text))).toEqual([{ ifname: 'tun0', family: 'inet', local: '10.9.0.1', prefixlen: 32, scope: 'global' }]);
    expect(value(parseIpTextLinks(text))[0]).toMatchObject({ kind: null, master: 'br0' });
  });

  it('routes: via inet6 for an IPv4 route (family from dst), default multipath family from its next hops, mtu lock', () => {
    const text = [
      '10.0.0.0/24 via inet6 fe80::1 dev eth0 proto 80 mtu lock 1400',
      'default proto bird metric 20',
      '\tnexthop via 10.1.0.1 dev eth0 weight 1 onlink',
      '\tnexthop via 10.1.0.2 dev eth1 weight 1 dead linkdown',
    ].join('\n');
    const r = value(parseIpTextRoutes(text, 'inet6'));
    expect(r[0]).toMatchObject({ family: 'inet', gateway: 'fe80::1', protocol: '80' });
    expect(r[1]).toMatchObject({ family: 'inet', dst: 'default', metric: 20, gateway: null, dev: null });
    expect(r[1]?.nexthops).toEqual([
      { gateway: '10.1.0.1', dev: 'eth0', flags: ['onlink'] },
      { gateway: '10.1.0.2', dev: 'eth1', flags: ['dead', 'linkdown'] },
    ]);
  });

  it('typed errors with line numbers: empty, syntax, truncated', () => {
    expect(parseIpTextRoutes('  \n', 'inet')).toEqual({ ok: false, error: { code: 'empty', message: 'no output' } });
    expect(parseIpTextRoutes('default via 10.0.0.1 dev eth0\nbogus line here\n10.0.0.0/8 dev eth0', 'inet')).toMatchObject({ ok: false, error: { code: 'syntax', line: 2 } });
    expect(parseIpTextLinks('1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue state UNKNOWN\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n2: eth0: <BROADCAST,MU')).toMatchObject({
      ok: false,
      error: { code: 'truncated', line: 3 },
    });
    expect(parseIpTextNeigh('10.0.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE\n10.0.0.2 de')).toMatchObject({ ok: false, error: { code: 'truncated', line: 2 } });
    expect(parseIpTextLinks('    link/ether 02:00:00:00:00:01')).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
  });
});
