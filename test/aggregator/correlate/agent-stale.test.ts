import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const RULE = 'agent-stale';

// issue #3
describe('agent-stale', () => {
  it('a node silent for more than staleAfterIntervals intervals is stale; exactly at the limit is not', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'worker1').receivedAt = '2026-11-21T14:58:30.000Z'; // 90 s = 3 × 30 s: not yet
    nodeNamed(nodes, 'worker2').receivedAt = '2026-11-21T14:58:29.000Z'; // 91 s
    const { map, findings } = correlate(inputOf(nodes));
    const f = findings.filter((x) => x.rule === RULE);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ node: 'worker2', severity: 'warning', evidence: { details: { ageSeconds: 91, intervalSeconds: 30 } } });
    expect(map.nodes.find((n) => n.node === 'worker2')).toMatchObject({ stale: true, blocks: ['10.48.0.0/26'] });
    expect(map.nodes.find((n) => n.node === 'worker1')?.stale).toBe(false);
  });

  it("a stale node's broken state yields no per-peer findings, and peers are not held to it", () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    const w2 = nodeNamed(nodes, 'worker2');
    w2.receivedAt = '2026-11-21T14:00:00.000Z';
    okData(w2, 'routes').splice(0); // its last report says it had no routes at all
    const c1 = okData(nodeNamed(nodes, 'control1'), 'routes');
    c1.splice(c1.findIndex((r) => r.dst === '10.48.0.0/26'), 1); // and control1 dropped worker2's block
    expect(correlate(inputOf(nodes)).findings.map((x) => [x.rule, x.node])).toEqual([[RULE, 'worker2']]);
  });

  it('uses each node’s own interval', () => {
    const nodes = buildCluster(VXLAN_NODES, 'vxlan');
    nodeNamed(nodes, 'control1').report.intervalSeconds = 120;
    nodeNamed(nodes, 'control1').receivedAt = '2026-11-21T14:55:00.000Z'; // 300 s < 360 s
    expect(correlate(inputOf(nodes)).findings).toEqual([]);
  });
});
