/**
 * ippool-no-free-blocks: every block of an enabled IP pool is allocated. Cluster-wide: `node` is
 * "(cluster)", subject the pool name.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { poolUsage } from './ippool.js';
import { CLUSTER_SUBJECT, type CorrelateRule } from './types.js';

export const RULE_ID = 'ippool-no-free-blocks';

const REMEDY =
  'Every block of this IP pool is allocated: a new node gets no block and its pods borrow addresses from other ' +
  "nodes' blocks, or fail to start when strictAffinity is on. Add an IP pool with a free CIDR, release blocks leaked by " +
  'deleted nodes (`calicoctl ipam check`, then `calicoctl ipam release`), or move workloads to a larger pool.';

export const ippoolNoFreeBlocks: CorrelateRule = {
  id: RULE_ID,
  description: 'every block of an enabled IP pool is allocated',
  run(_cluster, input) {
    const out: FindingDraft[] = [];
    for (const u of poolUsage(input)) {
      if (u.used < u.capacity) continue;
      out.push({
        rule: RULE_ID,
        severity: 'warning',
        node: CLUSTER_SUBJECT,
        subject: u.name,
        summary: `IP pool ${u.name} (${u.cidr}) has no free /${u.blockSize} block: ${u.used} of ${u.capacity} allocated`,
        evidence: {
          seen: `${u.used} of ${u.capacity} blocks allocated (from ${u.source})`,
          expected: 'at least one free block for the next node',
          details: { ...u },
        },
        remedy: REMEDY,
      });
    }
    return out;
  },
};
