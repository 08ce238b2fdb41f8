/**
 * Correlation: (nodes' latest reports, now, datastore view) → cluster map + finding drafts. Pure.
 * The cluster is built once per pass and shared by every rule (see ../cluster/cluster.ts).
 *
 * Output bound: when one node breaks toward many peers at once (e.g. Felix stopped programming),
 * a rule would emit one finding per peer, N² in the worst case. Per (rule, node) at most
 * MAX_PER_NODE findings are kept (sorted by peer, subject); the rest fold into one finding with
 * subject "(more)" that counts them and names the first omitted peers.
 */
import type { ClusterMap } from '../../contract/cluster.js';
import { mostSevere, type FindingDraft } from '../../contract/finding.js';
import { Cluster } from '../cluster/cluster.js';
import { agentStale } from './agent-stale.js';
import { blockAffinityMismatch } from './block-affinity-mismatch.js';
import { blockConflict } from './block-conflict.js';
import { calicoNodeNotReady } from './calico-node-not-ready.js';
import { hostNotInAllowedSet } from './host-not-in-allowed-set.js';
import { ippoolExhaustion } from './ippool-exhaustion.js';
import { ippoolNoFreeBlocks } from './ippool-no-free-blocks.js';
import { nodeNotReporting } from './node-not-reporting.js';
import { nodeWithoutBlock } from './node-without-block.js';
import { routeMissing } from './route-missing.js';
import { routeWrongNextHop } from './route-wrong-next-hop.js';
import { routeWrongForm } from './route-wrong-form.js';
import { bgpSessionDown } from './bgp-session-down.js';
import { tunnelConfigMismatch } from './tunnel-config-mismatch.js';
import type { CorrelateInput, CorrelateRule } from './types.js';
import { vxlanFdbMismatch } from './vxlan-fdb-mismatch.js';
import { vxlanNeighborMacMismatch } from './vxlan-neighbor-mac-mismatch.js';

export const correlateRules: CorrelateRule[] = [
  vxlanNeighborMacMismatch,
  vxlanFdbMismatch,
  routeMissing,
  routeWrongNextHop,
  routeWrongForm,
  bgpSessionDown,
  blockConflict,
  tunnelConfigMismatch,
  hostNotInAllowedSet,
  agentStale,
  ippoolExhaustion,
  ippoolNoFreeBlocks,
  nodeWithoutBlock,
  nodeNotReporting,
  calicoNodeNotReady,
  blockAffinityMismatch,
];

export const MAX_PER_NODE = 50;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Keeps at most `max` drafts per (rule, node), folding the rest into one "(more)" draft. */
export const capPerNode = (drafts: FindingDraft[], max = MAX_PER_NODE): FindingDraft[] => {
  const byNode = new Map<string, FindingDraft[]>();
  for (const d of drafts) {
    const list = byNode.get(d.node);
    if (list === undefined) byNode.set(d.node, [d]);
    else list.push(d);
  }
  const out: FindingDraft[] = [];
  for (const list of byNode.values()) {
    if (list.length <= max) {
      for (const d of list) out.push(d);
      continue;
    }
    list.sort((x, y) => cmp(x.peer ?? '', y.peer ?? '') || cmp(x.subject ?? '', y.subject ?? ''));
    const kept = list.slice(0, max - 1);
    const rest = list.slice(max - 1);
    const first = rest[0]!;
    const worst = mostSevere(rest.map((d) => d.severity));
    out.push(...kept, {
      rule: first.rule,
      severity: worst,
      node: first.node,
      subject: '(more)',
      summary: `${first.node}: ${rest.length} more ${first.rule} findings (first: ${first.summary})`,
      evidence: {
        seen: `${rest.length} further findings of this rule on this node`,
        expected: first.evidence.expected,
        details: { omitted: rest.length, peers: rest.slice(0, 20).map((d) => d.peer ?? null), first: first.evidence },
      },
      remedy: first.remedy,
    });
  }
  return out;
};

export const correlate = (input: CorrelateInput): { map: ClusterMap; findings: FindingDraft[] } => {
  const cluster = new Cluster(input);
  const findings: FindingDraft[] = [];
  for (const rule of correlateRules) for (const d of capPerNode(rule.run(cluster, input))) findings.push(d);
  return { map: cluster.map, findings };
};
