/**
 * node-without-block: a reporting node holds no IPAM block (no blackhole block route; with datastore
 * affinities, also no BlockAffinity). In VXLAN/IPIP modes every node needs one for its tunnel
 * address (warning); in other modes a node without pods may legitimately have none yet (info).
 * Needs the node's routes section ok (blocks are read from routes).
 */
import type { FindingDraft } from '../../contract/finding.js';
import { hasDatastorePart, type CorrelateRule } from './types.js';

export const RULE_ID = 'node-without-block';

const REMEDY =
  'This node holds no address block, so its pods take addresses borrowed from other nodes\' blocks (or cannot start), ' +
  'and in VXLAN/IPIP mode it has no tunnel address. Check the IP pools have free blocks (`calicoctl ipam show ' +
  '--show-blocks`), that a pool\'s nodeSelector matches this node, and calico-node\'s log here for IPAM errors.';

export const nodeWithoutBlock: CorrelateRule = {
  id: RULE_ID,
  description: 'a reporting node holds no IPAM block',
  run(cluster, input) {
    const ds = input.datastore;
    const affine = new Set<string>();
    const useAffinities = hasDatastorePart(ds, 'blockAffinities');
    if (useAffinities) for (const a of ds.blockAffinities) affine.add(a.node);
    const out: FindingDraft[] = [];
    for (const n of cluster.fresh) {
      if (!n.has('routes') || n.blocks.length > 0) continue;
      if (useAffinities && affine.has(n.name)) continue;
      const enc = n.mode.encapsulation;
      if (enc === 'unknown') continue;
      const overlay = enc !== 'none';
      out.push({
        rule: RULE_ID,
        severity: overlay ? 'warning' : 'info',
        node: n.name,
        summary: `${n.name} holds no address block${overlay ? ` (needed for its ${enc} tunnel address)` : ''}`,
        evidence: {
          seen: `no blackhole block route${useAffinities ? ' and no BlockAffinity' : ''}`,
          expected: 'at least one block affine to the node',
          details: { encapsulation: enc, checkedAffinities: useAffinities },
        },
        remedy: REMEDY,
      });
    }
    return out;
  },
};
