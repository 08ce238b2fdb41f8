/**
 * issue #2: identity, mode and every local check on snapshots built by the real parsers from real
 * kernel output (test/fixtures/lab: a 3-node Calico-shaped VXLAN lab in network namespaces,
 * recorded by lab/record.ts). The healthy recording must raise no warning or critical finding; the
 * recorded fault (node1's neighbour for node2's tunnel IP rewritten to a MAC no node owns) must.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runLocalChecks } from '../../../agent/checks/index.js';
import { summariseFamily } from '../../../agent/collectors/iptables.js';
import { parseBridgeFdbJson } from '../../../agent/parsers/bridge-fdb.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { parseIptablesSave } from '../../../agent/parsers/iptables-save.js';
import { ok, unavailable, type Parsed } from '../../../contract/result.js';
import type { InterfaceSysctls, Sections, Snapshot } from '../../../contract/snapshot.js';
import { snapshotOf } from '../../helpers/snapshot.js';

const LAB = fileURLToPath(new URL('../../fixtures/lab/', import.meta.url));
const read = (dir: string, file: string): string => readFileSync(`${LAB}${dir}/${file}`, 'utf8');
const value = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`fixture did not parse: ${p.error.code} ${p.error.message}`);
  return p.value;
};

interface LabNode {
  name: string;
  nodeIp: string;
  block: string;
  tunnelIp: string;
  vtepMac: string;
  pods: { ip: string; caliIf: string }[];
}
const cluster = JSON.parse(readFileSync(`${LAB}cluster.json`, 'utf8')) as { nodes: LabNode[] };

/** `sysctl` output lines (`net.ipv4.conf.vxlan/calico.rp_filter = 0`) into the Sysctls section. */
const sysctlsFrom = (text: string): Sections['sysctls'] => {
  const kv = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s*=\s*(-?\d+)\s*$/.exec(line.trim());
    if (m) kv.set(m[1]!, Number(m[2]));
  }
  const interfaces: InterfaceSysctls[] = [];
  for (const [k, v] of kv) {
    const m = /^net\.ipv4\.conf\.([^.]+)\.(rp_filter|forwarding)$/.exec(k);
    if (!m) continue;
    const scope = m[1]!.replace(/\//g, '.');
    let entry = interfaces.find((i) => i.scope === scope);
    if (!entry) interfaces.push((entry = { scope, rpFilter: null, forwarding: null, proxyArp: null }));
    if (m[2] === 'rp_filter') entry.rpFilter = v;
    else entry.forwarding = v;
  }
  return ok({
    ipv4Forward: kv.get('net.ipv4.ip_forward') ?? null,
    ipv6Forwarding: null,
    interfaces,
    workloadDevices: { count: 0, rpFilter: {}, proxyArpOff: [], forwardingOff: [] },
    conntrack: null,
  });
};

const labSnapshot = (dir: string, node: string): Snapshot => {
  const dump = value(parseIptablesSave(read(dir, 'iptables-save-c.txt')));
  const v4 = summariseFamily('ipv4', dump);
  const sets = value(parseIpsetSave(read(dir, 'ipset-save.txt')));
  const sections: Sections = {
    links: ok(value(parseIpLinks(read(dir, 'ip-j-d-s-link-show.json')))),
    addresses: ok(value(parseIpAddrs(read(dir, 'ip-j-addr-show.json')))),
    // recorded without -4: holds both families, each route's family is read from its addresses
    routes: ok(value(parseIpRoutes(read(dir, 'ip-j-route-show-table-all.json'), 'inet'))),
    neighbours: ok(value(parseIpNeigh(read(dir, 'ip-j-neigh-show.json')))),
    fdb: ok(value(parseBridgeFdbJson(read(dir, 'bridge-j-fdb-show.json'))).filter((e) => e.dev === 'vxlan.calico' || e.dev === 'vxlan-v6.calico')),
    sysctls: sysctlsFrom(read(dir, 'sysctl.txt')),
    iptables: ok({
      backend: 'legacy',
      backendReason: 'recorded with iptables-save',
      ipv4: ok(v4.totals),
      ipv6: unavailable('not-present', 'not recorded'),
      chains: v4.chains,
      dropRules: v4.dropRules,
    }),
    ipsets: ok({
      hostSets: sets.filter((s) => s.name.includes('all-hosts')),
      caliSetSizes: Object.fromEntries(sets.filter((s) => s.name.startsWith('cali')).map((s) => [s.name, s.members.length])),
    }),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: unavailable('not-present', 'no BIRD in the lab'),
  };
  return snapshotOf(sections, { node });
};

describe('local checks on the real lab recording', () => {
  for (const n of cluster.nodes) {
    it(`${n.name}: identity and mode match the lab's truth`, () => {
      const snap = labSnapshot(`healthy-${n.name}`, n.name);
      expect(snap.mode.encapsulation).toBe('vxlan');
      expect(snap.mode.bgp).toBe(false);
      expect(snap.identity.nodeIPs).toEqual([n.nodeIp]);
      expect(snap.identity.uplinks.map((u) => u.name)).toEqual(['eth0']);
      expect(snap.identity.blocks).toEqual([n.block]);
      expect(snap.identity.tunnels).toMatchObject([{ device: 'vxlan.calico', kind: 'vxlan', ip: n.tunnelIp, mac: n.vtepMac, vni: 4096, port: 4789, mtu: 1450, local: n.nodeIp }]);
      expect(snap.identity.workloads).toEqual(n.pods.map((p) => ({ ip: p.ip, dev: p.caliIf })));
    });

    it(`${n.name}: healthy recording raises no warning or critical finding`, () => {
      const snap = labSnapshot(`healthy-${n.name}`, n.name);
      const r = runLocalChecks({ snapshot: snap, previous: snap, now: '2026-11-21T15:00:00.000Z' });
      expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
      // the lab has no Felix stand-in in the recording and no conntrack module: those are unknown, never ok;
      // no BIRD on a VXLAN node means no BGP in use: bgp-peer-down is ok
      expect(r.checks.filter((c) => c.status === 'unknown').map((c) => c.rule).sort()).toEqual(['conntrack-near-full', 'felix-not-ready']);
    });
  }

  it("neighbor-mac-wrong-node1: the rewritten neighbour's MAC has no FDB entry → vxlan-fdb-missing", () => {
    const snap = labSnapshot('neighbor-mac-wrong-node1', 'node1');
    const r = runLocalChecks({ snapshot: snap, now: '2026-11-21T15:00:00.000Z' });
    expect(r.findings.map((f) => [f.rule, f.severity, f.id])).toEqual([['vxlan-fdb-missing', 'critical', 'vxlan-fdb-missing/node1//vxlan.calico/10.244.2.0']]);
    expect(r.findings[0]!.evidence.details).toMatchObject({ mac: '66:de:ad:be:ef:01' });
  });
});
