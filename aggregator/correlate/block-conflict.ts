/**
 * block-conflict: two nodes claim overlapping blocks (each has a blackhole route for it), or the same
 * workload address is routed to a local pod on two nodes. One sort and sweep over all blocks
 * (CIDRs either nest or are disjoint, so a stack of enclosing blocks finds every overlap), one Map
 * over all workloads. Only nodes whose routes section is ok take part (blocks and workloads come
 * from routes). With datastore block affinities, the node the affinity names is the rightful owner
 * and only the other one gets the finding; without them both do.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { parseCidr, stripHostPrefix, type Cidr } from '../../common/net.js';
import type { NodeView } from '../cluster/cluster.js';
import { hasDatastorePart, type CorrelateRule } from './types.js';

export const RULE_ID = 'block-conflict';

const REMEDY_BLOCK =
  'Two nodes both act as home of overlapping address blocks, so pods on one of them are unreachable from the rest. ' +
  'Check which node the block is affine to (`calicoctl ipam show --show-blocks`, BlockAffinity resources); on the ' +
  'other node restart calico-node so Felix drops the stale blackhole route, and run `calicoctl ipam check` to find ' +
  'leaked allocations.';
const REMEDY_WORKLOAD =
  'The same pod address is routed to a local pod on two nodes (duplicate IP, often a leaked allocation after a node ' +
  're-join). Find both pods (`kubectl get pods -A -o wide | grep <IP>`), delete the one whose IPAM record is gone ' +
  '(`calicoctl ipam show --ip=<IP>`), and run `calicoctl ipam check`.';

interface Claim {
  c: Cidr;
  raw: string;
  owner: NodeView;
}

export const blockConflict: CorrelateRule = {
  id: RULE_ID,
  description: 'two nodes claim overlapping blocks, or the same workload /32 lives on two nodes',
  run(cluster, input) {
    const out: FindingDraft[] = [];
    const affinity = new Map<string, string>();
    if (hasDatastorePart(input.datastore, 'blockAffinities')) {
      for (const a of input.datastore.blockAffinities) {
        if (a.state !== 'confirmed' && a.state !== '') continue;
        const c = parseCidr(a.cidr);
        if (c !== null) affinity.set(c.text, a.node);
      }
    }
    const nodes = cluster.fresh.filter((n) => n.has('routes'));
    const claims: Claim[] = [];
    // indexed loops over every node and workload: they run once per pass, mostly before V8 optimises them
    for (let j = 0; j < nodes.length; j++) {
      const n = nodes[j]!;
      for (let k = 0; k < n.blocks.length; k++) {
        const raw = n.blocks[k]!;
        const c = cluster.blockCidr(raw);
        if (c !== null) claims.push({ c, raw, owner: n });
      }
    }
    claims.sort((x, y) =>
      x.c.family !== y.c.family ? (x.c.family < y.c.family ? -1 : 1) : x.c.start < y.c.start ? -1 : x.c.start > y.c.start ? 1 : x.c.prefix - y.c.prefix,
    );
    const emitted = new Set<string>();
    const emit = (holder: Claim, other: Claim, rightful: string | null) => {
      const key = `${holder.owner.name}|${other.owner.name}|${holder.raw}|${other.raw}`;
      if (emitted.has(key)) return;
      emitted.add(key);
      const same = holder.c.text === other.c.text;
      out.push({
        rule: RULE_ID,
        severity: 'critical',
        node: holder.owner.name,
        peer: other.owner.name,
        subject: same ? holder.raw : `${holder.raw}~${other.raw}`,
        summary: same
          ? `${holder.owner.name} and ${other.owner.name} both claim block ${holder.raw}`
          : `${holder.owner.name}'s block ${holder.raw} overlaps ${other.owner.name}'s block ${other.raw}`,
        evidence: {
          seen: `blackhole ${holder.raw} on ${holder.owner.name}; blackhole ${other.raw} on ${other.owner.name}`,
          expected: rightful ? `only ${rightful} (its block affinity) holds this block` : 'each block on exactly one node',
          details: { block: holder.raw, peerBlock: other.raw, affinityNode: rightful },
        },
        remedy: REMEDY_BLOCK,
      });
    };
    const stack: Claim[] = [];
    for (let j = 0; j < claims.length; j++) {
      const cur = claims[j]!;
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        if (top.c.family === cur.c.family && top.c.end >= cur.c.start) break;
        stack.pop();
      }
      for (const outer of stack) {
        if (outer.owner === cur.owner) continue;
        const rightful = affinity.get(cur.c.text) ?? affinity.get(outer.c.text) ?? null;
        if (rightful !== cur.owner.name) emit(cur, outer, rightful);
        if (rightful !== outer.owner.name) emit(outer, cur, rightful);
      }
      stack.push(cur);
    }

    const where = new Map<string, { n: NodeView; dev: string }>();
    for (let j = 0; j < nodes.length; j++) {
      const n = nodes[j]!;
      const workloads = n.entry.workloads;
      for (let k = 0; k < workloads.length; k++) {
        const w = workloads[k]!;
        const ip = stripHostPrefix(w.ip);
        const prev = where.get(ip);
        if (prev === undefined) {
          where.set(ip, { n, dev: w.dev });
          continue;
        }
        if (prev.n === n) continue;
        for (const [holder, other] of [
          [n, prev.n],
          [prev.n, n],
        ] as const) {
          const hDev = holder === n ? w.dev : prev.dev;
          const oDev = holder === n ? prev.dev : w.dev;
          out.push({
            rule: RULE_ID,
            severity: 'critical',
            node: holder.name,
            peer: other.name,
            subject: ip,
            summary: `workload address ${ip} is on ${holder.name} (${hDev}) and on ${other.name} (${oDev})`,
            evidence: {
              seen: `${ip} dev ${hDev} on ${holder.name}; ${ip} dev ${oDev} on ${other.name}`,
              expected: 'each workload address on exactly one node',
              details: { ip, device: hDev, peerDevice: oDev },
            },
            remedy: REMEDY_WORKLOAD,
          });
        }
      }
    }
    return out;
  },
};
