/**
 * ippool-exhaustion: an enabled IP pool has ≥ 80% of its blocks in use, or fewer blocks than the
 * cluster has nodes. Cluster-wide: `node` is "(cluster)", subject the pool name.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { poolUsage } from './ippool.js';
import { CLUSTER_SUBJECT, type CorrelateRule } from './types.js';

export const RULE_ID = 'ippool-exhaustion';
export const EXHAUSTION_RATIO = 0.8;

const REMEDY =
  'The IP pool is running out of blocks: new nodes will get no block of their own and borrow addresses from other ' +
  "nodes' blocks (extra /32 routes; pods fail to start under strictAffinity). Add another IP pool (`kubectl apply` an " +
  'IPPool with a free CIDR), or migrate to a larger pool; a smaller blockSize only affects blocks allocated afterwards. ' +
  'Release leaked blocks with `calicoctl ipam check` / `calicoctl ipam release`.';

export const ippoolExhaustion: CorrelateRule = {
  id: RULE_ID,
  description: 'an IP pool has 80% or more of its blocks in use, or fewer blocks than nodes',
  run(_cluster, input) {
    const out: FindingDraft[] = [];
    for (const u of poolUsage(input)) {
      const full = u.used >= u.capacity;
      const tooFewForNodes = u.familyCapacity < u.nodes;
      if (full && !tooFewForNodes) continue; // ippool-no-free-blocks says it
      if (!tooFewForNodes && u.used < u.capacity * EXHAUSTION_RATIO) continue;
      out.push({
        rule: RULE_ID,
        severity: 'warning',
        node: CLUSTER_SUBJECT,
        subject: u.name,
        summary: tooFewForNodes
          ? `IP pool ${u.name} (${u.cidr}, /${u.blockSize} blocks) holds ${u.capacity} blocks (${u.familyCapacity} across its family's pools) for ${u.nodes} nodes`
          : `IP pool ${u.name} (${u.cidr}): ${u.used} of ${u.capacity} blocks in use (${Math.round((100 * u.used) / u.capacity)}%)`,
        evidence: {
          seen: `${u.used} of ${u.capacity} /${u.blockSize} blocks in use; ${u.nodes} nodes`,
          expected: `below ${EXHAUSTION_RATIO * 100}% of blocks in use and at least one block per node`,
          details: { ...u },
        },
        remedy: REMEDY,
      });
    }
    return out;
  },
};
