/**
 * tunnel-ip-outside-block: the tunnel address should come from one of this node's own blocks (the
 * blackhole / unreachable routes Felix or BIRD programs). An address outside them usually means the
 * pool ran out and IPAM borrowed from another node's block, so the return path goes to that node.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { cidrContains, parseIp } from '../../common/net.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'tunnel-ip-outside-block';

export const tunnelIpOutsideBlock: LocalCheck = {
  rule,
  description: "A tunnel address is not inside one of this node's blocks",
  run({ snapshot }) {
    const n = need(snapshot, 'links', 'addresses', 'routes');
    if (!n.ok) return n.outcome;
    const { tunnels, blocks } = snapshot.identity;
    const findings: FindingDraft[] = [];
    for (const t of tunnels) {
      if (t.ip === null) continue;
      const fam = parseIp(t.ip)?.family;
      if (fam === undefined) continue;
      if (blocks.some((b) => cidrContains(b, t.ip ?? ''))) continue;
      const sameFamily = blocks.filter((b) => b.includes(':') === (fam === 'inet6'));
      findings.push({
        rule,
        severity: 'warning',
        node: snapshot.node,
        subject: t.device,
        summary: `${t.device} address ${t.ip} is not inside any of this node's blocks; replies to it may be routed to another node`,
        evidence: {
          seen: `${t.device} ${t.ip}; node blocks: ${sameFamily.length > 0 ? sameFamily.join(', ') : 'none'}`,
          expected: `${t.ip} inside a blackhole/unreachable block route of this node`,
          details: { device: t.device, ip: t.ip, blocks: sameFamily },
        },
        remedy:
          `Find the block that holds ${t.ip}: \`calicoctl ipam show --ip=${t.ip}\` and \`calicoctl ipam show --show-blocks\`. ` +
          `If the pool is exhausted (blocks borrowed), enlarge it or add a pool (\`calicoctl get ippool -o wide\`). ` +
          `Then release the tunnel address so calico-node allocates a new one from this node's block: remove the node's ` +
          `tunnel address annotation/field (projectcalico.org/IPv4VXLANTunnelAddr or IPv4IPIPTunnelAddr in \`calicoctl get node <node> -o yaml\`) ` +
          `and restart calico-node on this node; verify with \`ip addr show ${t.device}\` and \`ip route | grep blackhole\`.`,
      });
    }
    return outcome(findings);
  },
};
