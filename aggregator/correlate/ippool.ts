/**
 * IP pool arithmetic shared by ippool-exhaustion and ippool-no-free-blocks (runbook: a pool of
 * prefix P with block size S has 2^(S−P) blocks; every node needs at least one). Blocks in use come
 * from the datastore's BlockAffinities when they were read, else from the blocks nodes report
 * (blackhole routes, stale nodes included: their blocks stay allocated).
 */
import { parseCidr, contains, type Cidr } from '../../common/net.js';
import { hasDatastorePart, type CorrelateInput } from './types.js';

export interface PoolUsage {
  name: string;
  cidr: string;
  blockSize: number;
  /** blocks the pool can hold */
  capacity: number;
  used: number;
  source: 'block-affinities' | 'reports';
  /** nodes that need a block from this pool family (datastore nodes, else reporting nodes) */
  nodes: number;
  /** blocks all enabled pools of the same address family hold together */
  familyCapacity: number;
}

export const poolUsage = (input: CorrelateInput): PoolUsage[] => {
  const ds = input.datastore;
  if (!hasDatastorePart(ds, 'ipPools')) return [];
  const useAffinities = hasDatastorePart(ds, 'blockAffinities');
  const blocks = new Set<string>();
  if (useAffinities) {
    for (const a of ds.blockAffinities) if (a.state !== 'pendingDeletion') blocks.add(a.cidr);
  } else {
    for (const n of input.nodes) for (const b of n.report.identity.blocks) blocks.add(b);
  }
  const parsed = [...blocks].map((b) => parseCidr(b)).filter((c): c is Cidr => c !== null);
  const nodeCount = hasDatastorePart(ds, 'nodes') ? ds.nodes.length : input.nodes.length;
  const out: (PoolUsage & { family: string })[] = [];
  for (const p of ds.ipPools) {
    if (p.disabled) continue;
    const c = parseCidr(p.cidr);
    if (c === null) continue;
    const bits = c.family === 'inet' ? 32 : 128;
    if (p.blockSize < c.prefix || p.blockSize > bits) continue;
    const capacity = 2 ** (p.blockSize - c.prefix);
    const seen = new Set<string>();
    for (const b of parsed) if (contains(c, b)) seen.add(b.text);
    out.push({ name: p.name, cidr: p.cidr, blockSize: p.blockSize, capacity, used: seen.size, source: useAffinities ? 'block-affinities' : 'reports', nodes: nodeCount, familyCapacity: 0, family: c.family });
  }
  for (const u of out) u.familyCapacity = out.filter((x) => x.family === u.family).reduce((sum, x) => sum + x.capacity, 0);
  return out.map(({ family: _family, ...u }) => u);
};
