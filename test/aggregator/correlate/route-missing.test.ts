import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import type { DatastoreView } from '../../../aggregator/correlate/types.js';
import { buildCluster, inputOf, IPIP_NODES, makeUnavailable, nodeNamed, okData, VXLAN_NODES, type MeshMode } from '../../helpers/reports.js';

const RULE = 'route-missing';
const run = (nodes: ReturnType<typeof buildCluster>, datastore?: DatastoreView) =>
  correlate(inputOf(nodes, datastore ? { datastore } : {})).findings.filter((f) => f.rule === RULE);

const dropRoute = (nodes: ReturnType<typeof buildCluster>, on: string, dst: string) => {
  const routes = okData(nodeNamed(nodes, on), 'routes');
  const i = routes.findIndex((r) => r.dst === dst);
  expect(i).toBeGreaterThanOrEqual(0);
  routes.splice(i, 1);
};

// issue #3
describe('route-missing', () => {
  const cases: [MeshMode, typeof VXLAN_NODES, string, string, string, string][] = [
    ['vxlan', VXLAN_NODES, 'worker1', 'worker2', '10.48.0.0/26', '10.48.0.0/26 via 10.48.0.46 dev vxlan.calico onlink'],
    ['ipip', IPIP_NODES, 'ubuntu-4', 'ubuntu-3', '10.201.0.128/26', '10.201.0.128/26 via 100.64.1.24 dev tunl0 onlink'],
    ['bgp', VXLAN_NODES, 'control1', 'worker1', '10.48.0.192/26', '10.48.0.192/26 via 10.0.1.30'],
  ];
  for (const [mode, specs, holder, peer, block, expected] of cases) {
    it(`${mode}: healthy → none; a dropped block route → finding on the node that lacks it`, () => {
      expect(run(buildCluster(specs, mode))).toEqual([]);
      const nodes = buildCluster(specs, mode);
      dropRoute(nodes, holder, block);
      const f = run(nodes);
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ severity: 'critical', node: holder, peer, subject: block, evidence: { expected } });
    });
  }

  it('an aggregate route covering the block counts; the default route does not', () => {
    const nodes = buildCluster(VXLAN_NODES, 'bgp');
    dropRoute(nodes, 'control1', '10.48.0.192/26');
    okData(nodeNamed(nodes, 'control1'), 'routes').push({
      family: 'inet', type: 'unicast', dst: '10.48.0.0/16', gateway: '10.0.1.1', dev: 'ens5', protocol: 'bird', scope: 'global', flags: [], table: 'main', metric: null, prefsrc: null, nexthops: [],
    });
    expect(run(nodes)).toEqual([]);
    // but not when the aggregate is wider than the IP pool the block comes from
    const ds: DatastoreView = {
      nodes: [], calicoNodePods: [], blockAffinities: [],
      ipPools: [{ name: 'default-ipv4-ippool', cidr: '10.48.0.0/20', blockSize: 26, vxlanMode: 'Never', ipipMode: 'Never', disabled: false, natOutgoing: true }],
      missing: [{ part: 'nodes', reason: 'test' }, { part: 'calicoNodePods', reason: 'test' }, { part: 'blockAffinities', reason: 'test' }],
    };
    expect(run(nodes, ds).map((f) => f.subject)).toEqual(['10.48.0.192/26']);
  });

  it("needs both nodes' routes: unavailable on either side → no finding", () => {
    const a = buildCluster(VXLAN_NODES, 'vxlan');
    dropRoute(a, 'worker1', '10.48.0.0/26');
    makeUnavailable(nodeNamed(a, 'worker1'), 'routes');
    expect(run(a)).toEqual([]);
    const b = buildCluster(VXLAN_NODES, 'vxlan');
    dropRoute(b, 'worker1', '10.48.0.0/26');
    makeUnavailable(nodeNamed(b, 'worker2'), 'routes');
    expect(run(b)).toEqual([]);
  });

  it('does not judge nodes in policy-only mode (no encapsulation, no BGP) or of unknown mode', () => {
    const nodes = buildCluster(VXLAN_NODES, 'bgp');
    dropRoute(nodes, 'control1', '10.48.0.192/26');
    nodeNamed(nodes, 'control1').report.mode.bgp = false;
    expect(run(nodes)).toEqual([]);
    nodeNamed(nodes, 'control1').report.mode.encapsulation = 'unknown';
    expect(run(nodes)).toEqual([]);
  });

  it('a node that lost every route gets at most 50 findings (the rest folded into one)', () => {
    const specs = Array.from({ length: 60 }, (_, i) => ({ ...VXLAN_NODES[0]!, name: `n${String(i).padStart(2, '0')}`, nodeIP: `10.0.2.${i + 2}`, block: `10.48.${i + 1}.0/26`, tunnelIP: `10.48.${i + 1}.1`, vtepMac: `66:00:00:00:01:${(i + 16).toString(16)}`, workloads: [] as [string, string][] }));
    const nodes = buildCluster(specs, 'vxlan');
    const r = okData(nodeNamed(nodes, 'n00'), 'routes');
    r.splice(0, r.length, ...r.filter((x) => x.dev !== 'vxlan.calico'));
    const f = run(nodes);
    expect(f).toHaveLength(50);
    expect(f.every((x) => x.node === 'n00')).toBe(true);
    const more = f.find((x) => x.subject === '(more)');
    expect(more?.evidence.details.omitted).toBe(10);
  });
});
