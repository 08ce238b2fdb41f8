/**
 * #15 dual-stack: real outputs recorded in the dual-stack namespace lab
 * (test/fixtures/lab/dualstack, see its SOURCES.md: IPv4 as current Felix plus vxlan-v6.calico, IPv6
 * routes, neighbours, FDB and the ip6tables guard on cali60all-vxlan-net). Each node's recording
 * goes through the agent's parsers, the iptables reduction of both families (with the guard
 * derivation), the ipsets collector's set selection, identity/mode derivation and local checks into
 * a report; then correlate() runs over the three nodes. The IPv6 faults must land on the holder,
 * naming the peer, exactly as their IPv4 counterparts do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import type { NodeState } from '../../../aggregator/cluster/node-state.js';
import { summariseFamily } from '../../../agent/collectors/iptables.js';
import { VXLAN_DEVICES } from '../../../agent/collectors/fdb.js';
import { parseBridgeFdbJson } from '../../../agent/parsers/bridge-fdb.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { parseIptablesSave } from '../../../agent/parsers/iptables-save.js';
import { parseSysctlText } from '../../../agent/parsers/sysctl.js';
import type { Finding } from '../../../contract/finding.js';
import { ok, unavailable } from '../../../contract/result.js';
import type { Sections, Snapshot } from '../../../contract/snapshot.js';
import { inputOf } from '../../helpers/reports.js';
import { iptablesSection, ipsetsSection, must, recordedSnapshot, recordedState } from '../../helpers/lab-recorded.js';

const DIR = join(import.meta.dirname, '../../fixtures/lab/dualstack');

const snapshotFrom = (dir: string, node: string): Snapshot => {
  const read = (file: string) => readFileSync(join(DIR, dir, file), 'utf8');
  const v4 = summariseFamily('ipv4', must(parseIptablesSave(read('iptables-save-c.txt'))));
  const v6 = summariseFamily('ipv6', must(parseIptablesSave(read('ip6tables-save-c.txt'))));
  const sets = must(parseIpsetSave(read('ipset-save.txt')));
  // the recorded global forwarding switches (the collector reads the same values from /proc/sys)
  const sysctl = new Map(must(parseSysctlText(read('sysctl.txt'))).map((e) => [e.path.join('.'), Number(e.value)]));
  const sections: Sections = {
    links: ok(must(parseIpLinks(read('ip-j-d-s-link-show.json')))),
    addresses: ok(must(parseIpAddrs(read('ip-j-addr-show.json')))),
    routes: ok([...must(parseIpRoutes(read('ip-j-route-show-table-all.json'), 'inet')), ...must(parseIpRoutes(read('ip-j-6-route-show-table-all.json'), 'inet6'))]),
    neighbours: ok(must(parseIpNeigh(read('ip-j-neigh-show.json')))),
    fdb: ok(must(parseBridgeFdbJson(read('bridge-j-fdb-show.json'))).filter((e) => (VXLAN_DEVICES as readonly string[]).includes(e.dev))),
    sysctls: ok({
      ipv4Forward: sysctl.get('net.ipv4.ip_forward') ?? null,
      ipv6Forwarding: sysctl.get('net.ipv6.conf.all.forwarding') ?? null,
      interfaces: [],
      workloadDevices: { count: 0, rpFilter: {}, proxyArpOff: [], forwardingOff: [] },
      conntrack: null,
    }),
    iptables: iptablesSection('nft', v4, v6),
    ipsets: ipsetsSection(sets),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: unavailable('not-present', 'no BIRD socket'),
  };
  return recordedSnapshot(node, sections);
};

const stateFrom = (dir: string, node: string): NodeState & { local: Finding[] } => recordedState(snapshotFrom(dir, node));

/** node1 from `dir` (the fault's recording), node2 and node3 healthy. */
const cluster = (dir = 'healthy-node1') => [stateFrom(dir, 'node1'), stateFrom('healthy-node2', 'node2'), stateFrom('healthy-node3', 'node3')];
const serious = <F extends { severity: string }>(fs: F[]) => fs.filter((f) => f.severity !== 'info');
const ruleOf = (rule: string, fs: { rule: string; node: string; peer?: string }[]) => fs.filter((f) => f.rule === rule).map((f) => [f.node, f.peer ?? null]);

// #15
describe('recorded dual-stack lab', () => {
  it('healthy: both tunnels in the identity, a guard per family, no local or cluster finding above info', () => {
    const nodes = cluster();
    for (const n of nodes) {
      expect(n.report.identity.tunnels.map((t) => [t.device, t.family]).sort()).toEqual([['vxlan-v6.calico', 'inet6'], ['vxlan.calico', 'inet']]);
      const ipt = n.report.sections.iptables;
      expect(ipt.status === 'ok' && ipt.data.encapGuards?.map((g) => [g.family, g.set, g.form])).toEqual([
        ['ipv4', 'cali40all-vxlan-net', 'accept-then-drop'],
        ['ipv6', 'cali60all-vxlan-net', 'accept-then-drop'],
      ]);
      expect(serious(n.local), n.node).toEqual([]);
    }
    const { findings } = correlate(inputOf(nodes));
    expect(findings).toEqual([]);
  });

  it("node2's IPv6 address missing from node1's cali60all-vxlan-net: host-not-in-allowed-set on node1 naming node2 and the IPv6 set", () => {
    const { findings } = correlate(inputOf(cluster('host-not-in-ipset6-node1')));
    expect(ruleOf('host-not-in-allowed-set', findings)).toEqual([['node1', 'node2']]);
    expect(findings.find((f) => f.rule === 'host-not-in-allowed-set')!.evidence.details).toMatchObject({ sets: ['cali60all-vxlan-net'], peerAddresses: ['fd00:cd::c'] });
    const remedy = findings.find((f) => f.rule === 'host-not-in-allowed-set')!.remedy;
    expect(remedy).toContain('projectcalico.org/IPv6Address');
    expect(remedy).toContain('IP6_AUTODETECTION_METHOD');
    expect(remedy).toContain('ip -d link show vxlan-v6.calico');
  });

  it("node1's cali60all-vxlan-net flushed: ipset-all-hosts-missing (critical) on node1 for the IPv6 set, no finding per peer", () => {
    const nodes = cluster('guard-set6-flushed-node1');
    const hit = nodes[0]!.local.filter((f) => f.rule === 'ipset-all-hosts-missing');
    expect(hit.map((f) => [f.severity, f.evidence.details])).toEqual([['critical', expect.objectContaining({ set: 'cali60all-vxlan-net', members: 0 })]]);
    expect(ruleOf('host-not-in-allowed-set', correlate(inputOf(nodes)).findings)).toEqual([]);
  });

  it('wrong IPv6 neighbour MAC on vxlan-v6.calico → vxlan-neighbor-mac-mismatch on node1 naming node2', () => {
    const { findings } = correlate(inputOf(cluster('neighbor-mac-wrong6-node1')));
    expect(ruleOf('vxlan-neighbor-mac-mismatch', findings)).toEqual([['node1', 'node2']]);
    expect(serious(findings).filter((f) => f.rule !== 'vxlan-neighbor-mac-mismatch')).toEqual([]);
    // the remedy is about the IPv6 device and Node fields, not vxlan.calico's
    const remedy = findings.find((f) => f.rule === 'vxlan-neighbor-mac-mismatch')!.remedy;
    expect(remedy).toContain('ip neigh del <peer tunnel IP> dev vxlan-v6.calico');
    expect(remedy).toContain('vxlanTunnelMACAddrV6');
    expect(remedy).not.toMatch(/vxlan\.calico|IPv4VXLANTunnelAddr/);
  });

  it("node2's IPv6 block route missing on node1 → route-missing on node1 naming node2's IPv6 block", () => {
    const { findings } = correlate(inputOf(cluster('route-missing6-node1')));
    expect(ruleOf('route-missing', findings)).toEqual([['node1', 'node2']]);
    // the expected route is the IPv6 one: via node2's IPv6 tunnel address on vxlan-v6.calico
    const hit = findings.find((f) => f.rule === 'route-missing')!;
    expect(hit.subject).toBe('fd00:10:244:2::/122');
    expect(hit.evidence.expected).toBe('fd00:10:244:2::/122 via fd00:10:244:2:: dev vxlan-v6.calico onlink');
    expect(hit.evidence.details).toMatchObject({ peerTunnelIP: 'fd00:10:244:2::' });
  });

  it("an ip6tables DROP of node2's IPv6 VXLAN in node1's cali-INPUT → host-not-in-allowed-set on node1 naming node2 and the IPv6 rule", () => {
    const nodes = cluster('encap-drop-input6-node1');
    const ipt = nodes[0]!.report.sections.iptables;
    expect(ipt.status === 'ok' && ipt.data.dropRules.find((d) => d.family === 'ipv6' && d.index === 1 && d.chain === 'cali-INPUT')).toMatchObject({ encapsulation: 'vxlan', sources: ['fd00:cd::c/128'] });
    const { findings } = correlate(inputOf(nodes));
    expect(findings.filter((f) => f.rule === 'host-not-in-allowed-set').map((f) => [f.node, f.peer, f.subject])).toEqual([['node1', 'node2', 'ipv6/filter/cali-INPUT/1']]);
    expect(findings.find((f) => f.rule === 'host-not-in-allowed-set')!.remedy).toContain('ip6tables-save -c');
  });

  it("node2's IPv6 VTEP MAC steered to a wrong underlay address in node1's FDB → vxlan-fdb-mismatch on node1 naming node2", () => {
    const { findings } = correlate(inputOf(cluster('fdb-wrong-dst6-node1')));
    expect(ruleOf('vxlan-fdb-mismatch', findings)).toEqual([['node1', 'node2']]);
    const hit = findings.find((f) => f.rule === 'vxlan-fdb-mismatch')!;
    expect(hit.evidence.details).toMatchObject({ device: 'vxlan-v6.calico', seenDst: 'fd00:cd::fa', expectedDst: 'fd00:cd::c' });
    expect(hit.remedy).toContain('bridge fdb show dev vxlan-v6.calico');
    expect(hit.remedy).not.toMatch(/vxlan\.calico|IPv4Address/);
  });

  it("without the IPv6 tunnel's local address the expected FDB destination is the peer's IPv6 node address, not its IPv4 one", () => {
    const nodes = cluster('fdb-wrong-dst6-node1');
    const id = nodes[1]!.report.identity;
    const links = nodes[1]!.report.sections.links;
    if (links.status !== 'ok') throw new Error('recorded links did not parse');
    nodes[1]!.report = {
      ...nodes[1]!.report,
      identity: { ...id, tunnels: id.tunnels.map((t) => (t.family === 'inet6' ? { ...t, local: null } : t)) },
      sections: { ...nodes[1]!.report.sections, links: ok(links.data.map((l) => (l.name === 'vxlan-v6.calico' && l.vxlan ? { ...l, vxlan: { ...l.vxlan, local: null } } : l))) },
    };
    const hit = correlate(inputOf(nodes)).findings.find((f) => f.rule === 'vxlan-fdb-mismatch' && f.peer === 'node2');
    expect(hit?.evidence.details).toMatchObject({ device: 'vxlan-v6.calico', seenDst: 'fd00:cd::fa', expectedDst: 'fd00:cd::c' });
  });

  it('IPv6 forwarding off on node1 → ip-forward-disabled (critical) on node1 for net.ipv6.conf.all.forwarding, nothing for IPv4', () => {
    const nodes = cluster('ip6-forward-off-node1');
    expect(nodes[0]!.local.filter((f) => f.rule === 'ip-forward-disabled').map((f) => [f.severity, f.evidence.details])).toEqual([['critical', { sysctl: 'net.ipv6.conf.all.forwarding', value: 0 }]]);
    expect(ruleOf('ip-forward-disabled', nodes[1]!.local)).toEqual([]);
  });
});
