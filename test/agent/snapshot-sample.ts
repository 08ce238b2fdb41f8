/**
 * A small, schema-valid snapshot for tests of the HTTP API, metrics and push (not a fixture of a
 * real node: the collectors' own tests use real outputs).
 */
import { ok, unavailable } from '../../contract/result.js';
import { Snapshot } from '../../contract/snapshot.js';
import type { Finding } from '../../contract/finding.js';

const stats = (n: number) => ({ rxPackets: 100, rxBytes: 1000, rxErrors: n, rxDropped: n + 1, txPackets: 100, txBytes: 1000, txErrors: n + 2, txDropped: n + 3 });

export const sampleSnapshot = (over: { node?: string; takenAt?: string; drops?: number } = {}): Snapshot =>
  Snapshot.parse({
    schemaVersion: 1,
    node: over.node ?? 'node-a',
    takenAt: over.takenAt ?? '2026-11-21T12:00:00.000Z',
    durationMs: 42,
    agentVersion: '0.1.0',
    sections: {
      links: ok([
        { ifindex: 1, name: 'lo', kind: null, flags: ['LOOPBACK', 'UP'], operstate: 'UNKNOWN', mtu: 65536, mac: null, master: null, parent: null, vxlan: null, stats: stats(0) },
        { ifindex: 2, name: 'eth0', kind: null, flags: ['UP'], operstate: 'UP', mtu: 1500, mac: '52:54:00:12:34:56', master: null, parent: null, vxlan: null, stats: stats(1) },
        {
          ifindex: 3, name: 'vxlan.calico', kind: 'vxlan', flags: ['UP'], operstate: 'UNKNOWN', mtu: 1450, mac: '66:aa:bb:cc:dd:ee', master: null, parent: null,
          vxlan: { id: 4096, port: 4789, local: '192.168.0.10', link: null, learning: false }, stats: stats(5),
        },
        { ifindex: 4, name: 'cali12345', kind: 'veth', flags: ['UP'], operstate: 'UP', mtu: 1450, mac: 'ee:ee:ee:ee:ee:ee', master: null, parent: null, vxlan: null, stats: stats(9) },
      ]),
      addresses: ok([{ ifname: 'eth0', family: 'inet', local: '192.168.0.10', prefixlen: 24, scope: 'global' }]),
      routes: ok([]),
      neighbours: ok([]),
      fdb: ok([]),
      sysctls: unavailable('permission-denied', 'cannot read /proc/sys'),
      iptables: ok({
        backend: 'nft',
        backendReason: 'test',
        ipv4: ok({ tables: ['filter'], chains: 3, rules: 3, caliChains: 2 }),
        ipv6: unavailable('missing-binary', 'ip6tables-save: command not found'),
        chains: [],
        dropRules: [
          { family: 'ipv4', table: 'filter', chain: 'cali-INPUT', index: 1, target: 'DROP', packets: over.drops ?? 7, bytes: 700, caliId: 'abc', comments: [], matchSets: [], rule: '-A cali-INPUT -j DROP' },
          { family: 'ipv4', table: 'filter', chain: 'cali-INPUT', index: 2, target: 'REJECT', packets: 3, bytes: 300, caliId: 'def', comments: [], matchSets: [], rule: '-A cali-INPUT -j REJECT' },
          { family: 'ipv4', table: 'filter', chain: 'cali-tw-cali12345', index: 1, target: 'DROP', packets: 11, bytes: 1100, caliId: 'ghi', comments: [], matchSets: [], rule: '-A cali-tw-cali12345 -j DROP' },
          { family: 'ipv4', table: 'filter', chain: 'FORWARD', index: 1, target: 'DROP', packets: 2, bytes: 200, caliId: null, comments: [], matchSets: [], rule: '-A FORWARD -j DROP' },
        ],
      }),
      ipsets: ok({ hostSets: [], caliSetSizes: {} }),
      felix: unavailable('unreachable', 'connect ECONNREFUSED 127.0.0.1:9099'),
      bgp: unavailable('not-present', '/var/run/calico/bird.ctl does not exist'),
    },
    timings: { links: 5, addresses: 4, routes: 6, neighbours: 3, fdb: 3, sysctls: 1, iptables: 30, ipsets: 8, felix: 2, bgp: 1 },
    mode: { encapsulation: 'vxlan', wireguard: false, ebpf: false, bgp: false, evidence: ['vxlan.calico present'] },
    identity: {
      nodeIPs: ['192.168.0.10'],
      uplinks: [{ name: 'eth0', mtu: 1500 }],
      tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.244.1.0', mac: '66:aa:bb:cc:dd:ee', vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: '192.168.0.10' }],
      blocks: ['10.244.1.0/26'],
      workloads: [{ ip: '10.244.1.5', dev: 'cali12345' }],
    },
  });

export const sampleFinding = (rule = 'tunnel-mtu', severity: Finding['severity'] = 'warning'): Finding => ({
  id: `${rule}/node-a//vxlan.calico`,
  rule,
  severity,
  node: 'node-a',
  summary: `${rule} on vxlan.calico`,
  evidence: { seen: 'x', expected: 'y', details: {} },
  remedy: 'fix it',
  firstSeen: '2026-11-21T12:00:00.000Z',
  lastSeen: '2026-11-21T12:00:00.000Z',
});
