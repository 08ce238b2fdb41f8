/**
 * conntrack-near-full: the conntrack table is above 90% of nf_conntrack_max. When full the kernel
 * drops new connections ("nf_conntrack: table full, dropping packet").
 */
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'conntrack-near-full';
export const CONNTRACK_THRESHOLD = 0.9;

export const conntrackNearFull: LocalCheck = {
  rule,
  description: 'Conntrack table above 90% of nf_conntrack_max',
  run({ snapshot }) {
    const n = need(snapshot, 'sysctls');
    if (!n.ok) return n.outcome;
    const ct = n.data.sysctls.conntrack;
    if (ct === null || ct.max <= 0) return { status: 'unknown', reason: 'sysctls: nf_conntrack_count / nf_conntrack_max not readable (module not loaded?)' };
    const ratio = ct.count / ct.max;
    if (ratio <= CONNTRACK_THRESHOLD) return { status: 'ok' };
    const pct = Math.round(ratio * 1000) / 10;
    return outcome([
      {
        rule,
        severity: ct.count >= ct.max ? 'critical' : 'warning',
        node: snapshot.node,
        subject: 'nf_conntrack',
        summary: `Conntrack table ${pct}% full (${ct.count}/${ct.max})${ct.count >= ct.max ? ': new connections are being dropped' : ': new connections will be dropped when it fills'}`,
        evidence: {
          seen: `nf_conntrack_count ${ct.count}, nf_conntrack_max ${ct.max} (${pct}%)`,
          expected: `at most ${CONNTRACK_THRESHOLD * 100}% of nf_conntrack_max`,
          details: { count: ct.count, max: ct.max, ratio },
        },
        remedy:
          `Confirm with \`dmesg | grep -i 'conntrack: table full'\` and \`conntrack -S\` (drop/insert_failed). Find the top talkers: \`conntrack -L -o extended | awk '{print $5}' | sort | uniq -c | sort -rn | head\`. ` +
          `Raise the limit (\`sysctl -w net.netfilter.nf_conntrack_max=${ct.max * 2}\`, persist in /etc/sysctl.d/; kube-proxy's conntrack.maxPerCore also sets it) ` +
          `or shorten timeouts (net.netfilter.nf_conntrack_tcp_timeout_established). For UDP/DNS floods consider NodeLocal DNSCache.`,
      },
    ]);
  },
};
