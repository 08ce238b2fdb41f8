import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import { buildCluster, inputOf, VXLAN_NODES, healthyDatastore } from '../../helpers/reports.js';

const rules = ['ippool-exhaustion', 'ippool-no-free-blocks'];
const poolFindings = (ds: ReturnType<typeof healthyDatastore> | undefined) =>
  correlate(inputOf(buildCluster(VXLAN_NODES, 'vxlan'), ds ? { datastore: ds } : {})).findings.filter((f) => rules.includes(f.rule));

// issue #3
describe('IP pool arithmetic (runbook: 2^(blockSize − prefix) blocks, one per node at least)', () => {
  it('a /16 pool of /26 blocks (1024) with 3 in use: nothing; no datastore: nothing (pools unknown)', () => {
    expect(poolFindings(healthyDatastore())).toEqual([]);
    expect(poolFindings(undefined)).toEqual([]);
  });

  it('runbook example: a /20 pool of /26 blocks holds 64 blocks; 52 of 64 in use is ≥ 80% → ippool-exhaustion', () => {
    const ds = healthyDatastore();
    ds.ipPools[0]!.cidr = '10.48.0.0/20';
    for (let i = 0; ds.blockAffinities.length < 52; i++) {
      const cidr = `10.48.${1 + Math.floor(i / 4)}.${(i % 4) * 64}/26`;
      ds.blockAffinities.push({ node: `gone-${i}`, cidr, state: 'confirmed' });
    }
    const f = poolFindings(ds);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ rule: 'ippool-exhaustion', node: '(cluster)', subject: 'default-ipv4-ippool', severity: 'warning', evidence: { details: { capacity: 64, used: 52, source: 'block-affinities' } } });
  });

  it('every block allocated → ippool-no-free-blocks; more nodes than blocks → ippool-exhaustion too', () => {
    const ds = healthyDatastore();
    ds.ipPools[0] = { ...ds.ipPools[0]!, cidr: '10.48.0.0/25' }; // 2 blocks: 10.48.0.0/26, 10.48.0.64/26
    ds.blockAffinities = [
      { node: 'worker2', cidr: '10.48.0.0/26', state: 'confirmed' },
      { node: 'control1', cidr: '10.48.0.64/26', state: 'confirmed' },
    ];
    const f = poolFindings(ds).map((x) => [x.rule, x.evidence.details.capacity, x.evidence.details.nodes]).sort();
    expect(f).toEqual([
      ['ippool-exhaustion', 2, 3],
      ['ippool-no-free-blocks', 2, 3],
    ]);
  });

  it('without BlockAffinities, the blocks nodes report are counted; disabled pools are ignored', () => {
    const ds = healthyDatastore();
    ds.missing = [{ part: 'blockAffinities', reason: 'forbidden' }];
    ds.blockAffinities = [];
    ds.ipPools = [
      { ...ds.ipPools[0]!, name: 'small', cidr: '10.48.0.0/25' }, // 2 blocks for 3 nodes; worker2's 10.48.0.0/26 in it
      { ...ds.ipPools[0]!, name: 'old', cidr: '10.49.0.0/16', disabled: true }, // would give plenty of blocks if counted
    ];
    const f = poolFindings(ds);
    expect(f.map((x) => [x.rule, x.subject, x.evidence.details.used, x.evidence.details.familyCapacity, x.evidence.details.source])).toEqual([
      ['ippool-exhaustion', 'small', 1, 2, 'reports'],
    ]);
  });
});
