import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, IPIP_NODES, makeUnavailable, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const RULE = 'route-wrong-next-hop';
const run = (nodes: ReturnType<typeof buildCluster>) => correlate(inputOf(nodes)).findings.filter((f) => f.rule === RULE);
const routeFor = (nodes: ReturnType<typeof buildCluster>, on: string, dst: string) => {
  const r = okData(nodeNamed(nodes, on), 'routes').find((x) => x.dst === dst);
  if (r === undefined) throw new Error(`no route ${dst} on ${on}`);
  return r;
};

// issue #3
describe('route-wrong-next-hop', () => {
  it('healthy VXLAN, VXLAN CrossSubnet, IPIP and BGP clusters: none', () => {
    expect(run(buildCluster(VXLAN_NODES, 'vxlan'))).toEqual([]);
    expect(run(buildCluster(VXLAN_NODES, 'vxlan-crosssubnet'))).toEqual([]);
    expect(run(buildCluster(VXLAN_NODES, 'bgp'))).toEqual([]);
    expect(run(buildCluster(IPIP_NODES, 'ipip'))).toEqual([]);
  });

  it("VXLAN: gateway is another node's tunnel IP → finding naming both the peer and who the gateway is", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    routeFor(nodes, 'worker2', '10.48.0.128/26').gateway = '10.48.0.206'; // worker1's tunnel IP
    const f = run(nodes);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      severity: 'critical',
      node: 'worker2',
      peer: 'control1',
      subject: '10.48.0.128/26',
      evidence: { seen: '10.48.0.128/26 via 10.48.0.206 dev vxlan.calico proto 80', details: { nextHops: [{ gateway: '10.48.0.206', gatewayOwner: 'worker1' }] } },
    });
    expect(f[0]!.evidence.expected).toContain('10.48.0.128/26 via 10.48.0.129 dev vxlan.calico onlink');
  });

  it("VXLAN: right gateway on the wrong device (tunl0) is wrong; the peer's node IP on the uplink (CrossSubnet) is fine", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    routeFor(nodes, 'worker1', '10.48.0.0/26').dev = 'tunl0';
    expect(run(nodes).map((f) => [f.node, f.peer])).toEqual([['worker1', 'worker2']]);
    const cs = buildCluster(VXLAN_NODES, 'vxlan');
    Object.assign(routeFor(cs, 'worker1', '10.48.0.0/26'), { gateway: '10.0.1.31', dev: 'ens5' });
    expect(run(cs)).toEqual([]);
  });

  it("IPIP: via the peer's tunnel address instead of its node IP → finding; BGP: via a third node → finding", () => {
    const ipip = buildCluster(IPIP_NODES, 'ipip');
    routeFor(ipip, 'ubuntu-3', '10.201.0.192/26').gateway = '100.64.1.25'; // ubuntu-5
    expect(run(ipip).map((f) => [f.node, f.peer, f.evidence.details.nextHops])).toEqual([
      ['ubuntu-3', 'ubuntu-4', [{ gateway: '100.64.1.25', dev: 'tunl0', gatewayOwner: 'ubuntu-5' }]],
    ]);
    const bgp = buildCluster(VXLAN_NODES, 'bgp');
    routeFor(bgp, 'control1', '10.48.0.0/26').gateway = '10.0.1.30';
    expect(run(bgp).map((f) => [f.node, f.peer, f.subject])).toEqual([['control1', 'worker2', '10.48.0.0/26']]);
  });

  it('ECMP: every next hop must lead to the peer', () => {
    const nodes = buildCluster(VXLAN_NODES, 'bgp');
    Object.assign(routeFor(nodes, 'control1', '10.48.0.0/26'), {
      gateway: null,
      dev: null,
      nexthops: [
        { gateway: '10.0.1.31', dev: 'ens5', flags: [] },
        { gateway: '10.0.1.30', dev: 'ens5', flags: [] },
      ],
    });
    expect(run(nodes).map((f) => f.node)).toEqual(['control1']);
  });

  it('skips a node whose routes section is unavailable', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    routeFor(nodes, 'worker2', '10.48.0.128/26').gateway = '10.48.0.206';
    makeUnavailable(nodeNamed(nodes, 'worker2'), 'routes');
    expect(run(nodes)).toEqual([]);
  });
});

describe('route-wrong-next-hop leaves doubly-claimed blocks to block-conflict', () => {
  it('no next-hop finding for a block two nodes claim', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const w1 = nodeNamed(nodes, 'worker1');
    w1.report.identity.blocks.push('10.48.0.0/26');
    const f = correlate(inputOf(nodes)).findings;
    expect(f.filter((x) => x.rule === RULE)).toEqual([]);
    expect(f.filter((x) => x.rule === 'block-conflict').length).toBeGreaterThan(0);
  });
});
