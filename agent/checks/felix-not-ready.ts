/**
 * felix-not-ready: Felix's health endpoint (:9099 /readiness, /liveness) says not ready (critical:
 * Felix is not programming the dataplane, so new pods and peers get no routes or policy), or does
 * not answer (warning: Felix may be down, or health is bound elsewhere).
 */
import type { FindingDraft } from '../../contract/finding.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'felix-not-ready';

export const felixNotReady: LocalCheck = {
  rule,
  description: 'Felix readiness or liveness is not ready, or its health endpoint does not answer',
  run({ snapshot }) {
    const n = need(snapshot, 'felix');
    if (!n.ok) return n.outcome;
    const f = n.data.felix;
    const findings: FindingDraft[] = [];
    for (const probe of ['readiness', 'liveness'] as const) {
      const state = f[probe];
      if (state === 'ready') continue;
      const unreachable = state === 'unreachable';
      findings.push({
        rule,
        severity: unreachable ? 'warning' : 'critical',
        node: snapshot.node,
        subject: probe,
        summary: unreachable
          ? `Felix ${probe} endpoint ${f.url} does not answer: Felix may be down on this node`
          : `Felix reports ${probe} not ready: it is not (fully) programming this node's dataplane`,
        evidence: {
          seen: `${probe}: ${state}${f.detail !== '' ? ` (${f.detail})` : ''}`,
          expected: `${probe}: ready`,
          details: { url: f.url, probe, state, detail: f.detail },
        },
        remedy: unreachable
          ? `Check calico-node runs on this node (\`kubectl get pods -n calico-system -o wide --field-selector spec.nodeName=${snapshot.node}\`, or kube-system) and that Felix health is on ${f.url} ` +
            `(FelixConfiguration healthEnabled/healthHost/healthPort; FELIX_HEALTHHOST). Query it: \`curl -s ${f.url}/${probe}\`. Read \`kubectl logs <calico-node pod> -c calico-node\` for crashes.`
          : `Ask Felix what is not ready: \`curl -s ${f.url}/${probe}?detail=true\` (or \`kubectl exec <calico-node pod> -c calico-node -- calico-node -felix-ready\`). ` +
            `Read calico-node's log for datastore connection errors (Typha / API server), iptables restore failures or BPF errors, fix the cause, and restart the calico-node pod if it stays not ready.`,
      });
    }
    return outcome(findings);
  },
};
