import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, IPIP_NODES, makeUnavailable, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const RULE = 'host-not-in-allowed-set';
const run = (nodes: ReturnType<typeof buildCluster>) => correlate(inputOf(nodes)).findings.filter((f) => f.rule === RULE);
const members = (nodes: ReturnType<typeof buildCluster>, on: string) => okData(nodeNamed(nodes, on), 'ipsets').hostSets[0]!.members;

// issue #3
describe('host-not-in-allowed-set', () => {
  it('healthy: none (cali40all-hosts-net and the older felix-calico-hosts-4)', () => {
    expect(run(buildCluster(VXLAN_NODES, 'vxlan'))).toEqual([]);
    expect(run(buildCluster(IPIP_NODES, 'ipip', { hostSet: 'felix-calico-hosts-4' }))).toEqual([]);
  });

  it("B's set lacks A's node IP → finding on B naming A", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const m = members(nodes, 'worker1');
    m.splice(m.indexOf('10.0.1.31'), 1);
    const f = run(nodes);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: 'critical', node: 'worker1', peer: 'worker2', evidence: { details: { sets: ['cali40all-hosts-net'], peerAddresses: ['10.0.1.31'] } } });
  });

  it("the peer's second address is not enough: the set must hold the VXLAN source (local) address", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker2').report.identity.nodeIPs.push('172.16.0.31');
    const m = members(nodes, 'control1');
    m.splice(m.indexOf('10.0.1.31'), 1, '172.16.0.31');
    expect(run(nodes).map((f) => [f.node, f.peer])).toEqual([['control1', 'worker2']]);
  });

  it('a CIDR member (hash:net) covering the address satisfies it', () => {
    const nodes = buildCluster(IPIP_NODES, 'ipip');
    const m = members(nodes, 'ubuntu-4');
    m.splice(0, m.length, '100.64.1.0/24');
    expect(run(nodes)).toEqual([]);
  });

  it('no finding when B’s ipsets section is unavailable or the set does not exist there', () => {
    const a = buildCluster(VXLAN_NODES, 'vxlan');
    members(a, 'worker1').length = 0;
    makeUnavailable(nodeNamed(a, 'worker1'), 'ipsets', 'missing-binary');
    expect(run(a)).toEqual([]);
    const b = buildCluster(VXLAN_NODES, 'vxlan');
    okData(nodeNamed(b, 'worker1'), 'ipsets').hostSets = [];
    expect(run(b)).toEqual([]);
  });
});

/** Each node as current Felix programs it (#15): VXLAN guarded by cali40all-vxlan-net, the older all-hosts set left empty beside it. */
const currentFelix = () => {
  const nodes = buildCluster(VXLAN_NODES, 'vxlan', { hostSet: 'cali40all-vxlan-net' });
  for (const n of nodes) {
    okData(n, 'ipsets').hostSets.push({ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: [] });
    n.report.sections.iptables = {
      status: 'ok',
      data: {
        backend: 'nft',
        backendReason: 'test',
        ipv4: { status: 'ok', data: { tables: ['filter'], chains: 10, rules: 20, caliChains: 7 } },
        ipv6: { status: 'ok', data: { tables: ['filter'], chains: 3, rules: 0, caliChains: 0 } },
        chains: [],
        dropRules: [],
        encapGuards: [
          {
            family: 'ipv4',
            encapsulation: 'vxlan',
            form: 'accept-then-drop',
            set: 'cali40all-vxlan-net',
            table: 'filter',
            chain: 'cali-INPUT',
            drop: { index: 2, caliId: 'EDCNTTxYfggApx8C', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets: 0, bytes: 0 },
          },
        ],
      },
    };
  }
  return nodes;
};
const iptablesOf = (nodes: ReturnType<typeof buildCluster>, on: string) => okData(nodeNamed(nodes, on), 'iptables');

// #15
describe('host-not-in-allowed-set checks the set the guards actually use', () => {
  it('current Felix, healthy: none, though cali40all-hosts-net is empty (no rule uses it)', () => {
    expect(run(currentFelix())).toEqual([]);
  });

  it("a peer missing from cali40all-vxlan-net → finding on B naming A, the set and the guard rule", () => {
    const nodes = currentFelix();
    const m = members(nodes, 'worker1');
    m.splice(m.indexOf('10.0.1.31'), 1);
    const f = run(nodes);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      severity: 'critical',
      node: 'worker1',
      peer: 'worker2',
      summary: expect.stringContaining('by cali-INPUT rule 2 (accept-then-drop, VXLAN, cali:EDCNTTxYfggApx8C)'),
      evidence: { details: { sets: ['cali40all-vxlan-net'], peerAddresses: ['10.0.1.31'], guards: [{ form: 'accept-then-drop', chain: 'cali-INPUT', index: 2 }] } },
    });
  });

  it('a report without encapGuards (older agent) falls back to the fixed all-hosts names', () => {
    const nodes = currentFelix();
    delete iptablesOf(nodes, 'worker1').encapGuards;
    // by the fixed names worker1's cali40all-hosts-net counts (its cali40all-vxlan-net is complete)
    okData(nodeNamed(nodes, 'worker1'), 'ipsets').hostSets[1]!.members = ['10.0.1.20', '10.0.1.30'];
    expect(run(nodes).map((f) => [f.node, f.peer])).toEqual([['worker1', 'worker2']]);
  });

  it('an empty guarding set is left to ipset-all-hosts-missing on B, not one finding per peer', () => {
    const nodes = currentFelix();
    members(nodes, 'worker1').length = 0;
    expect(run(nodes)).toEqual([]);
  });

  it('guards of the older negated-drop form on cali40all-hosts-net are followed too', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const ref = currentFelix();
    for (const n of nodes) {
      n.report.sections.iptables = structuredClone(nodeNamed(ref, n.node).report.sections.iptables);
      const g = okData(n, 'iptables').encapGuards![0]!;
      g.form = 'negated-drop';
      g.set = 'cali40all-hosts-net';
    }
    const m = members(nodes, 'control1');
    m.splice(m.indexOf('10.0.1.31'), 1);
    expect(run(nodes).map((f) => [f.node, f.peer])).toEqual([['control1', 'worker2']]);
  });

  it("a DROP of A's VXLAN source in B's input chain → finding on B naming A and the rule; output-path rules are not", () => {
    const nodes = currentFelix();
    const drop = {
      family: 'ipv4' as const,
      table: 'filter',
      chain: 'cali-INPUT',
      index: 1,
      target: 'DROP' as const,
      packets: 6,
      bytes: 600,
      caliId: null,
      comments: ['lab fault'],
      matchSets: [],
      rule: '-A cali-INPUT -s 10.0.1.31/32 -p udp -m udp --dport 4789 -j DROP',
      encapsulation: 'vxlan' as const,
      sources: ['10.0.1.31/32'],
    };
    iptablesOf(nodes, 'worker1').dropRules.push(drop, { ...drop, chain: 'OUTPUT', index: 4 });
    const f = run(nodes);
    expect(f.map((x) => [x.node, x.peer, x.subject])).toEqual([['worker1', 'worker2', 'ipv4/filter/cali-INPUT/1']]);
    expect(f[0]!.summary).toContain("drops worker2's VXLAN packets (source 10.0.1.31/32)");
  });

  // #15
  it("on Calico's nftables dataplane: a drop in filter-cali-INPUT names the peer; one in a filter-cali-tw- policy chain does not", () => {
    const nodes = currentFelix();
    const drop = {
      family: 'ipv4' as const,
      table: 'ip calico',
      chain: 'filter-cali-INPUT',
      index: 1,
      target: 'DROP' as const,
      packets: 4,
      bytes: 536,
      caliId: 'U2aKfmyQcF2mv2R9',
      comments: ['lab fault: drop VXLAN from one peer'],
      matchSets: [],
      rule: 'ip saddr 10.0.1.31 udp dport 4789 counter packets 4 bytes 536 drop',
      encapsulation: 'vxlan' as const,
      sources: ['10.0.1.31'],
    };
    iptablesOf(nodes, 'worker1').dropRules.push(drop, { ...drop, chain: 'filter-cali-tw-cali1234567890a', index: 3 });
    expect(run(nodes).map((x) => [x.node, x.peer, x.subject])).toEqual([['worker1', 'worker2', 'ipv4/ip calico/filter-cali-INPUT/1']]);
  });

  it('a DROP of a whole underlay CIDR names every peer inside it', () => {
    const nodes = currentFelix();
    iptablesOf(nodes, 'control1').dropRules.push({
      family: 'ipv4',
      table: 'filter',
      chain: 'INPUT',
      index: 1,
      target: 'DROP',
      packets: 0,
      bytes: 0,
      caliId: null,
      comments: [],
      matchSets: [],
      rule: '-A INPUT -s 10.0.1.0/24 -p udp -m udp --dport 4789 -j DROP',
      encapsulation: 'vxlan',
      sources: ['10.0.1.0/24'],
    });
    const peers = run(nodes).map((f) => f.peer).sort();
    expect(peers.length).toBeGreaterThan(0);
    expect(peers).not.toContain('control1');
  });
});
