/**
 * rp-filter-strict: strict reverse-path filtering (effective rp_filter = max(all, device) = 1) on a
 * Calico tunnel or an uplink drops pod packets whose return route leaves by another device
 * (asymmetric paths, multiple uplinks, VXLAN cross-subnet). Loose (2) is fine; 0 is off.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'rp-filter-strict';

export const rpFilterStrict: LocalCheck = {
  rule,
  description: 'Effective rp_filter is strict (1) on a tunnel or uplink device',
  run({ snapshot }) {
    // links: without them the tunnels and uplinks to judge are not known
    const n = need(snapshot, 'sysctls', 'links');
    if (!n.ok) return n.outcome;
    const { interfaces } = n.data.sysctls;
    const all = interfaces.find((i) => i.scope === 'all')?.rpFilter ?? null;
    const devices = [
      ...snapshot.identity.tunnels.filter((t) => t.family === 'inet').map((t) => ({ name: t.device, role: 'tunnel' })),
      ...snapshot.identity.uplinks.map((u) => ({ name: u.name, role: 'uplink' })),
    ];
    const findings: FindingDraft[] = [];
    let evaluated = 0;
    for (const d of devices) {
      const own = interfaces.find((i) => i.scope === d.name)?.rpFilter ?? null;
      if (own === null && all === null) continue;
      evaluated++;
      const effective = Math.max(all ?? 0, own ?? 0);
      if (effective !== 1) continue;
      const path = d.name.replace(/\./g, '/');
      findings.push({
        rule,
        severity: 'warning',
        node: snapshot.node,
        subject: d.name,
        summary: `Strict reverse-path filtering on ${d.role} ${d.name} (effective rp_filter 1): pod packets arriving on an asymmetric path are silently dropped`,
        evidence: {
          seen: `net.ipv4.conf.all.rp_filter = ${all ?? 'unreadable'}, net.ipv4.conf.${d.name}.rp_filter = ${own ?? 'unreadable'} → effective 1 (strict)`,
          expected: 'effective rp_filter 0 (off) or 2 (loose)',
          details: { device: d.name, role: d.role, all, device_value: own, effective },
        },
        remedy:
          `The kernel uses the larger of net.ipv4.conf.all.rp_filter and the device's value. Set loose mode: ` +
          `\`sysctl -w net.ipv4.conf.${path}.rp_filter=2\`${all === 1 ? ' and `sysctl -w net.ipv4.conf.all.rp_filter=2`' : ''}, ` +
          `persist it in /etc/sysctl.d/ (systemd's 50-default.conf sets 2 on most distros; hardening profiles set 1). ` +
          `Verify with \`sysctl -a 2>/dev/null | grep '\\.rp_filter'\` and watch \`nstat -az TcpExtIPReversePathFilter\` stop rising.`,
      });
    }
    if (devices.length > 0 && evaluated === 0) return { status: 'unknown', reason: 'sysctls: rp_filter not readable for all, tunnel or uplink devices' };
    return outcome(findings);
  },
};
