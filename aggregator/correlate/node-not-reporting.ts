/**
 * node-not-reporting: a Kubernetes Node with no calico-diag agent report at all (a stale report is
 * agent-stale's). Needs the datastore's node list.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { hasDatastorePart, type CorrelateRule } from './types.js';

export const RULE_ID = 'node-not-reporting';

const REMEDY =
  'No calico-diag agent has reported from this node, so its dataplane is not checked. Check the agent DaemonSet ' +
  'covers it (nodeSelector, tolerations for taints such as control-plane), that its pod runs there, and its logs for ' +
  'errors reaching the aggregator.';

export const nodeNotReporting: CorrelateRule = {
  id: RULE_ID,
  description: 'a Kubernetes Node without a reporting agent',
  run(_cluster, input) {
    const ds = input.datastore;
    if (!hasDatastorePart(ds, 'nodes')) return [];
    const reporting = new Set(input.nodes.map((n) => n.node));
    const out: FindingDraft[] = [];
    for (const k of ds.nodes) {
      if (reporting.has(k.name)) continue;
      out.push({
        rule: RULE_ID,
        severity: 'warning',
        node: k.name,
        summary: `Kubernetes node ${k.name} has no calico-diag agent reporting`,
        evidence: {
          seen: 'no report received from this node',
          expected: 'one agent report per Kubernetes node',
          details: { internalIPs: k.internalIPs },
        },
        remedy: REMEDY,
      });
    }
    return out;
  },
};
