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
