/**
 * agent-stale: a node whose agent has not reported for more than staleAfterIntervals of its own
 * reporting interval. Its last report stays visible in the cluster map, marked stale; the other
 * rules neither check a stale node's state nor hold peers to it (a dead agent's last word is not
 * evidence about now, and a removed node must not raise N route findings on its peers).
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'agent-stale';

const REMEDY =
  'The calico-diag agent on this node stopped reporting. Check its pod (`kubectl -n <ns> get pods -o wide | grep ' +
  '<node>`, `kubectl logs`), that the node is Ready, and that the agent can reach the aggregator (network policy, ' +
  'token). Until it reports again, the node\'s dataplane is not checked and its last report is shown as stale.';

export const agentStale: CorrelateRule = {
  id: RULE_ID,
  description: 'a node with no report for more than staleAfterIntervals intervals',
  run(cluster, input) {
    const nowMs = Date.parse(input.now);
    const out: FindingDraft[] = [];
    for (const n of cluster.nodes) {
      if (!n.stale) continue;
      const interval = n.state.report.intervalSeconds;
      const ageS = Number.isNaN(n.receivedAtMs) || Number.isNaN(nowMs) ? null : Math.round((nowMs - n.receivedAtMs) / 1000);
      out.push({
        rule: RULE_ID,
        severity: 'warning',
        node: n.name,
        summary: `${n.name}: no report for ${ageS === null ? 'an unknown time' : `${ageS}s`} (interval ${interval}s)`,
        evidence: {
          seen: `last report received ${n.state.receivedAt}`,
          expected: `a report every ${interval}s (stale after ${input.staleAfterIntervals * interval}s)`,
          details: { receivedAt: n.state.receivedAt, ageSeconds: ageS, intervalSeconds: interval, staleAfterIntervals: input.staleAfterIntervals },
        },
        remedy: REMEDY,
      });
    }
    return out;
  },
};
