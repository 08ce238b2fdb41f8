/**
 * workload-proxy-arp-off: pods send everything to the link-local gateway 169.254.1.1, which only
 * resolves because Felix turns proxy_arp on for each cali* device. With it off the pod's ARP for
 * its gateway goes unanswered and the pod has no network beyond itself.
 */
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'workload-proxy-arp-off';

export const workloadProxyArpOff: LocalCheck = {
  rule,
  description: 'proxy_arp is off on a cali* workload device',
  run({ snapshot }) {
    const n = need(snapshot, 'sysctls');
    if (!n.ok) return n.outcome;
    const { proxyArpOff, count } = n.data.sysctls.workloadDevices;
    return outcome(
      proxyArpOff.map((dev) => ({
        rule,
        severity: 'critical' as const,
        node: snapshot.node,
        subject: dev,
        summary: `proxy_arp is off on workload device ${dev}: the pod cannot resolve its gateway 169.254.1.1 and has no connectivity`,
        evidence: {
          seen: `net.ipv4.conf.${dev}.proxy_arp = 0`,
          expected: `net.ipv4.conf.${dev}.proxy_arp = 1`,
          details: { device: dev, workloadDevices: count, devicesWithProxyArpOff: proxyArpOff.length },
        },
        remedy:
          `Felix enables proxy_arp when it configures the workload; off means Felix failed on this interface or something reset it. ` +
          `Check calico-node's log for "${dev}", and sysctl.d or hardening scripts forcing proxy_arp=0. Fix now with \`sysctl -w net.ipv4.conf.${dev}.proxy_arp=1\` ` +
          `(or restart calico-node so Felix reconfigures every workload) and verify from the pod: \`ip neigh show 169.254.1.1\` shows ee:ee:ee:ee:ee:ee.`,
      })),
    );
  },
};
