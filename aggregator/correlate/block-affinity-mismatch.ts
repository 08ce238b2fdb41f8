/**
 * block-affinity-mismatch: the datastore says block C is affine to node X, but the blackhole route
 * for C is on another node Y (finding on Y, peer X), or absent from X (finding on X). Only fresh
 * nodes whose routes section is ok are judged; affinities of nodes that do not report are
 * node-not-reporting's business.
 */
import { parseCidr } from '../../common/net.js';
import type { FindingDraft } from '../../contract/finding.js';
import { hasDatastorePart, type CorrelateRule } from './types.js';

export const RULE_ID = 'block-affinity-mismatch';

const REMEDY =
  "The node's routes disagree with Calico IPAM about who owns this block. Compare `calicoctl ipam show --show-blocks` " +
  '(BlockAffinity) with the blackhole routes (`ip route show proto 80 | grep blackhole`, or `proto bird`) on both ' +
  'nodes; restart calico-node on the node holding the wrong route so Felix resyncs, and run `calicoctl ipam check` ' +
  'for leaked affinities of deleted nodes.';

export const blockAffinityMismatch: CorrelateRule = {
  id: RULE_ID,
  description: 'datastore block affinity for node X but the blackhole route is on node Y or absent',
  run(cluster, input) {
    const ds = input.datastore;
    if (!hasDatastorePart(ds, 'blockAffinities')) return [];
    const out: FindingDraft[] = [];
    for (const aff of ds.blockAffinities) {
      if (aff.state !== 'confirmed') continue;
      if (parseCidr(aff.cidr) === null) continue;
      const owners = cluster.block(aff.cidr)?.owners ?? [];
      const x = cluster.node(aff.node);
      for (const y of owners) {
        if (y.name === aff.node) continue;
        out.push({
          rule: RULE_ID,
          severity: 'critical',
          node: y.name,
          peer: aff.node,
          subject: aff.cidr,
          summary: `${y.name} holds the blackhole route for ${aff.cidr}, but the block is affine to ${aff.node}`,
          evidence: {
            seen: `blackhole ${aff.cidr} on ${y.name}`,
            expected: `blackhole ${aff.cidr} only on ${aff.node} (BlockAffinity)`,
            details: { block: aff.cidr, affinityNode: aff.node, routeNodes: owners.map((o) => o.name) },
          },
          remedy: REMEDY,
        });
      }
      if (x === undefined || x.stale || !x.has('routes')) continue;
      if (owners.includes(x)) continue;
      out.push({
        rule: RULE_ID,
        severity: 'warning',
        node: x.name,
        ...(owners[0] ? { peer: owners[0].name } : {}),
        subject: aff.cidr,
        summary: `block ${aff.cidr} is affine to ${x.name}, but ${x.name} has no blackhole route for it${owners.length ? ` (${owners.map((o) => o.name).join(', ')} has)` : ''}`,
        evidence: {
          seen: `no blackhole ${aff.cidr} on ${x.name}`,
          expected: `blackhole ${aff.cidr} proto 80 (or bird) on ${x.name}`,
          details: { block: aff.cidr, affinityNode: x.name, routeNodes: owners.map((o) => o.name) },
        },
        remedy: REMEDY,
      });
    }
    return out;
  },
};
