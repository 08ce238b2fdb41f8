/**
 * issue #2: deriveIdentity / deriveMode on sections parsed from real kernel output
 * (test/fixtures/ip + bridge cdA-vxlan-node-*: a dual-stack Calico-shaped VXLAN node recorded in a
 * namespace, with an ECMP route, a table-100 route, blackhole and unreachable blocks).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runLocalChecks } from '../../../agent/checks/index.js';
import { parseBridgeFdbJson } from '../../../agent/parsers/bridge-fdb.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { ok, unavailable, type Parsed } from '../../../contract/result.js';
import type { Sections } from '../../../contract/snapshot.js';
import { snapshotOf } from '../../helpers/snapshot.js';

const FIX = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const read = (p: string): string => readFileSync(`${FIX}${p}`, 'utf8');
const value = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`fixture did not parse: ${p.error.code} ${p.error.message}`);
  return p.value;
};

const cdA = (): Sections => {
  const na = unavailable('not-present', 'not recorded');
  return {
    links: ok(value(parseIpLinks(read('ip/cdA-vxlan-node-ip-j-d-s-link-show.json')))),
    addresses: ok(value(parseIpAddrs(read('ip/cdA-vxlan-node-ip-j-addr-show.json')))),
    routes: ok([
      ...value(parseIpRoutes(read('ip/cdA-vxlan-node-ip-j-4-route-show-table-all.json'), 'inet')),
      ...value(parseIpRoutes(read('ip/cdA-vxlan-node-ip-j-6-route-show-table-all.json'), 'inet6')),
    ]),
    neighbours: ok(value(parseIpNeigh(read('ip/cdA-vxlan-node-ip-j-neigh-show.json')))),
    fdb: ok(value(parseBridgeFdbJson(read('bridge/cdA-vxlan-node-bridge-j-fdb-show.json'))).filter((e) => e.dev.startsWith('vxlan'))),
    sysctls: na,
    iptables: na,
    ipsets: na,
    felix: na,
    bgp: na,
  };
};

describe('derive on real dual-stack VXLAN node output (cdA)', () => {
  it('identity: eth0 uplink, both tunnels, v4+v6 blackhole/unreachable blocks, the workload', () => {
    const snap = snapshotOf(cdA());
    expect(snap.identity.uplinks).toEqual([{ name: 'eth0', mtu: 1500 }]);
    expect(snap.identity.nodeIPs).toEqual(['10.99.0.2', 'fd00:99::2']);
    expect(snap.identity.tunnels).toMatchObject([
      { device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.244.1.0', mac: '66:6a:2b:1c:3d:4e', vni: 4096, port: 4789, mtu: 1450, local: '10.99.0.2' },
      { device: 'vxlan-v6.calico', kind: 'vxlan', family: 'inet6', ip: 'fd00:244:1::', mtu: 1430 },
    ]);
    expect(snap.identity.blocks).toEqual(['10.244.1.0/26', '10.244.9.0/26', 'fd00:244:1::/122']);
    expect(snap.identity.workloads).toEqual([{ ip: '10.244.1.5', dev: 'calia1b2c3d4e5f' }]);
  });

  it('mode: VXLAN with one route per family, no BGP; the kernel fe80::/64 routes do not count', () => {
    const snap = snapshotOf(cdA());
    expect(snap.mode).toEqual({
      encapsulation: 'vxlan',
      wireguard: false,
      ebpf: false,
      bgp: false,
      // the recording has no iptables section: the policy dataplane is unknown, with the reason (#15)
      policyDataplane: 'unknown',
      evidence: ['vxlan.calico, vxlan-v6.calico present with 2 route(s) via it', 'policy dataplane unknown: iptables section unavailable (not-present: not recorded)'],
    });
  });

  it('raises no warning or critical finding on this healthy recording', () => {
    const snap = snapshotOf(cdA());
    const r = runLocalChecks({ snapshot: snap, previous: snap, now: '2026-11-21T15:00:00.000Z' });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });
});
