/**
 * ip-forward-disabled: the node does not forward IP packets (globally, or on a tunnel / uplink /
 * workload device), so it cannot route between pods, tunnels and the network.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'ip-forward-disabled';

export const ipForwardDisabled: LocalCheck = {
  rule,
  description: 'IP forwarding is disabled (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding, or per device)',
  run({ snapshot }) {
    const n = need(snapshot, 'sysctls');
    if (!n.ok) return n.outcome;
    const s = n.data.sysctls;
    if (s.ipv4Forward === null && s.ipv6Forwarding === null)
      return { status: 'unknown', reason: 'sysctls: net.ipv4.ip_forward and net.ipv6.conf.all.forwarding not readable' };
    const findings: FindingDraft[] = [];
    const hasV6 =
      snapshot.identity.blocks.some((b) => b.includes(':')) ||
      snapshot.identity.tunnels.some((t) => t.family === 'inet6') ||
      snapshot.identity.workloads.some((w) => w.ip.includes(':'));
    const base = { rule, node: snapshot.node } as const;
    if (s.ipv4Forward === 0) {
      findings.push({
        ...base,
        severity: 'critical',
        subject: 'net.ipv4.ip_forward',
        summary: 'net.ipv4.ip_forward is 0: this node does not route IPv4 pod traffic',
        evidence: { seen: 'net.ipv4.ip_forward = 0', expected: 'net.ipv4.ip_forward = 1', details: { sysctl: 'net.ipv4.ip_forward', value: 0 } },
        remedy:
          'Enable forwarding now: `sysctl -w net.ipv4.ip_forward=1`, and persist it (`echo net.ipv4.ip_forward=1 > /etc/sysctl.d/99-kubernetes.conf`). ' +
          'Find what turned it off (a sysctl.d file, a hardening profile, NetworkManager/firewalld): `grep -r ip_forward /etc/sysctl.conf /etc/sysctl.d /usr/lib/sysctl.d`. Verify with `sysctl net.ipv4.ip_forward`.',
      });
    }
    if (s.ipv6Forwarding === 0 && hasV6) {
      findings.push({
        ...base,
        severity: 'critical',
        subject: 'net.ipv6.conf.all.forwarding',
        summary: 'net.ipv6.conf.all.forwarding is 0 on a node with IPv6 pods: IPv6 pod traffic is not routed',
        evidence: { seen: 'net.ipv6.conf.all.forwarding = 0', expected: 'net.ipv6.conf.all.forwarding = 1', details: { sysctl: 'net.ipv6.conf.all.forwarding', value: 0 } },
        remedy:
          'Enable it: `sysctl -w net.ipv6.conf.all.forwarding=1`, persist it under /etc/sysctl.d/, and note that this clears accept_ra on ' +
          'interfaces: set `net.ipv6.conf.<uplink>.accept_ra=2` if the node takes its IPv6 default route from router advertisements. Verify with `sysctl net.ipv6.conf.all.forwarding`.',
      });
    }
    const devices = new Set([...snapshot.identity.uplinks.map((u) => u.name), ...snapshot.identity.tunnels.filter((t) => t.family === 'inet').map((t) => t.device)]);
    for (const i of s.interfaces) {
      if (!devices.has(i.scope) || i.forwarding !== 0 || s.ipv4Forward === 0) continue;
      findings.push({
        ...base,
        severity: 'critical',
        subject: i.scope,
        summary: `IPv4 forwarding is off on ${i.scope}: pod traffic through it is not routed`,
        evidence: {
          seen: `net.ipv4.conf.${i.scope}.forwarding = 0`,
          expected: `net.ipv4.conf.${i.scope}.forwarding = 1`,
          details: { device: i.scope, forwarding: 0 },
        },
        remedy: `Enable it: \`sysctl -w net.ipv4.conf.${i.scope.replace(/\./g, '/')}.forwarding=1\` and find what set it (sysctl.d files, NetworkManager). Verify with \`sysctl net.ipv4.conf.${i.scope.replace(/\./g, '/')}.forwarding\`.`,
      });
    }
    const off = s.workloadDevices.forwardingOff;
    if (off.length > 0 && s.ipv4Forward !== 0) {
      findings.push({
        ...base,
        severity: 'critical',
        subject: 'workload-devices',
        summary: `Forwarding is off on ${off.length} of ${s.workloadDevices.count} workload device(s): those pods cannot reach anything beyond this node`,
        evidence: {
          seen: `forwarding = 0 on ${off.slice(0, 10).join(', ')}${off.length > 10 ? ', …' : ''}`,
          expected: 'forwarding = 1 on every cali* device',
          details: { devices: off, workloadDevices: s.workloadDevices.count },
        },
        remedy:
          'Felix sets forwarding on each cali* device when it configures the workload: check calico-node logs for errors on these interfaces, ' +
          'and check nothing (e.g. `net.ipv4.conf.default.forwarding=0` in sysctl.d) overrides it for new devices. Fix with `sysctl -w net.ipv4.conf.<cali dev>.forwarding=1` or by restarting calico-node.',
      });
    }
    return outcome(findings);
  },
};
