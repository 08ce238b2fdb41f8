/**
 * tunnel-missing: Calico state says the node encapsulates (routes, neighbours or FDB entries on a
 * Calico tunnel device, the encapsulation mode, or Felix's "from non-Calico hosts" rules for VXLAN /
 * IPIP) but the tunnel device itself does not exist.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { ENCAP_DEVICES, routeDevices } from '../derive/identity.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';
import { perObject } from '../../common/memo.js';
import type { IptablesDropRule } from '../../contract/snapshot.js';

const rule = 'tunnel-missing';

/**
 * The drop rules whose comments speak of non-Calico hosts, with those comments joined, once per
 * rules list (#17: the daemon checks every snapshot, every second one with the same iptables
 * section, a big node's holding ~17k drop rules; sections are never mutated once taken).
 */
const nonCalicoHostDrops = perObject((rules: readonly IptablesDropRule[]): { rule: IptablesDropRule; text: string }[] => {
  const out: { rule: IptablesDropRule; text: string }[] = [];
  for (const r of rules) {
    const text = r.comments.join(' ');
    if (/non-Calico hosts/i.test(text)) out.push({ rule: r, text });
  }
  return out;
});

const remedy = (device: string): string =>
  `Felix (VXLAN) or calico-node (IPIP, tunl0) recreates ${device} when encapsulation is enabled for an IP pool. ` +
  `Check it: \`ip -d link show ${device}\`. Check the pool's mode: \`calicoctl get ippool -o wide\` (vxlanMode / ipipMode). ` +
  `Read calico-node's log for errors creating the device (\`kubectl logs -n calico-system <calico-node pod> -c calico-node | grep -i ${device === 'tunl0' ? 'ipip' : 'vxlan'}\`); ` +
  `for tunl0 the ipip kernel module must be loadable (\`modprobe ipip\`). Restarting the calico-node pod on this node recreates the device.`;

export const tunnelMissing: LocalCheck = {
  rule,
  description: 'Calico state refers to a tunnel device (vxlan.calico, vxlan-v6.calico, tunl0) that does not exist',
  run({ snapshot }) {
    const n = need(snapshot, 'links', 'routes');
    if (!n.ok) return n.outcome;
    const { links, routes } = n.data;
    const present = new Set(links.map((l) => l.name));
    const reasons = new Map<string, string[]>();
    const note = (device: string, why: string): void => {
      const list = reasons.get(device) ?? [];
      if (!list.includes(why)) list.push(why);
      reasons.set(device, list);
    };

    for (const dev of ENCAP_DEVICES) {
      if (present.has(dev)) continue;
      const rs = routes.filter((r) => routeDevices(r).includes(dev));
      if (rs.length > 0) note(dev, `${rs.length} route(s) via ${dev}, e.g. ${rs[0]?.dst ?? ''}`);
      const ns = snapshot.sections.neighbours.status === 'ok' ? snapshot.sections.neighbours.data.filter((x) => x.dev === dev) : [];
      if (ns.length > 0) note(dev, `${ns.length} neighbour entr(ies) on ${dev}`);
      const fs = snapshot.sections.fdb.status === 'ok' ? snapshot.sections.fdb.data.filter((x) => x.dev === dev) : [];
      if (fs.length > 0) note(dev, `${fs.length} FDB entr(ies) on ${dev}`);
    }

    const enc = snapshot.mode.encapsulation;
    const hasVxlan = present.has('vxlan.calico') || present.has('vxlan-v6.calico');
    if ((enc === 'vxlan' || enc === 'vxlan+ipip') && !hasVxlan) note('vxlan.calico', `mode detection says ${enc}`);
    if ((enc === 'ipip' || enc === 'vxlan+ipip') && !present.has('tunl0')) note('tunl0', `mode detection says ${enc}`);

    if (snapshot.sections.iptables.status === 'ok') {
      for (const { rule: r, text } of nonCalicoHostDrops(snapshot.sections.iptables.data.dropRules)) {
        if (/VXLAN/i.test(text) && r.family === 'ipv4' && !present.has('vxlan.calico')) note('vxlan.calico', `Felix rule "${text}" in ${r.chain} expects VXLAN`);
        if (/VXLAN/i.test(text) && r.family === 'ipv6' && !present.has('vxlan-v6.calico')) note('vxlan-v6.calico', `Felix rule "${text}" in ${r.chain} expects VXLAN`);
        if (/IPIP|IP-in-IP/i.test(text) && !present.has('tunl0')) note('tunl0', `Felix rule "${text}" in ${r.chain} expects IPIP`);
      }
    }

    const findings: FindingDraft[] = [...reasons.entries()].map(([device, why]) => ({
      rule,
      severity: 'critical',
      node: snapshot.node,
      subject: device,
      summary: `Tunnel device ${device} is missing although Calico state uses it; pod traffic to other nodes cannot be encapsulated`,
      evidence: {
        seen: `no link named ${device}; ${why.join('; ')}`,
        expected: `${device} exists when its encapsulation is in use`,
        details: { device, reasons: why },
      },
      remedy: remedy(device),
    }));
    return outcome(findings);
  },
};
