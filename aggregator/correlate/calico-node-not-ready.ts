/**
 * calico-node-not-ready: the calico-node pod on a node is not Ready, keeps restarting, or is absent.
 * Needs the datastore's pod list (and node list for "absent").
 */
import type { FindingDraft } from '../../contract/finding.js';
import { hasDatastorePart, type CorrelateRule } from './types.js';

export const RULE_ID = 'calico-node-not-ready';
/** restarts at or above this count are reported even while the pod is Ready */
export const RESTART_THRESHOLD = 5;

const REMEDY =
  'calico-node is not healthy on this node, so Felix/BIRD may not be programming its routes, tunnels and policy. ' +
  '`kubectl -n <calico ns> describe pod <pod>` and `kubectl logs <pod> -c calico-node --previous` show why; check ' +
  'Felix/BIRD readiness (`calico-node -felix-ready`, `-bird-ready`), the datastore/Typha connection, and for ' +
  'OOMKilled raise its memory limit.';

export const calicoNodeNotReady: CorrelateRule = {
  id: RULE_ID,
  description: 'calico-node pod not Ready, restarting, or missing on a node',
  run(_cluster, input) {
    const ds = input.datastore;
    if (!hasDatastorePart(ds, 'calicoNodePods')) return [];
    const out: FindingDraft[] = [];
    const withPod = new Set<string>();
    for (const p of ds.calicoNodePods) {
      withPod.add(p.node);
      if (p.ready && p.restarts < RESTART_THRESHOLD) continue;
      out.push({
        rule: RULE_ID,
        severity: p.ready ? 'warning' : 'critical',
        node: p.node,
        subject: p.name,
        summary: p.ready
          ? `calico-node pod ${p.name} on ${p.node} has restarted ${p.restarts} times`
          : `calico-node pod ${p.name} on ${p.node} is not Ready (${p.restarts} restarts)`,
        evidence: {
          seen: `ready=${p.ready} restarts=${p.restarts}`,
          expected: `ready=true, fewer than ${RESTART_THRESHOLD} restarts`,
          details: { pod: p.name, ready: p.ready, restarts: p.restarts },
        },
        remedy: REMEDY,
      });
    }
    if (hasDatastorePart(ds, 'nodes')) {
      for (const k of ds.nodes) {
        if (withPod.has(k.name)) continue;
        out.push({
          rule: RULE_ID,
          severity: 'critical',
          node: k.name,
          subject: 'missing',
          summary: `no calico-node pod runs on ${k.name}`,
          evidence: { seen: 'no calico-node pod scheduled on the node', expected: 'one calico-node pod per node', details: {} },
          remedy: REMEDY,
        });
      }
    }
    return out;
  },
};
