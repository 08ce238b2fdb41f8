/**
 * bgp-peer-down: a BIRD BGP protocol (a peering) is not Established. Only protocols of type BGP
 * are judged (device, direct, kernel and static protocols have no peer). When BGP carries the
 * routes (no encapsulation or IPIP), a down peer means missing routes: critical; else warning.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'bgp-peer-down';

export const bgpPeerDown: LocalCheck = {
  rule,
  description: 'A BIRD BGP session is not Established',
  run({ snapshot }) {
    const enc = snapshot.mode.encapsulation;
    const section = snapshot.sections.bgp;
    // A VXLAN node whose routes are Felix's own (no BIRD socket, no bird routes) runs without BGP
    // (calico_backend: vxlan): there is no session to be down. Anywhere else a missing socket
    // leaves the question open: unknown.
    if (section.status === 'unavailable' && section.reason === 'not-present' && enc === 'vxlan' && !snapshot.mode.bgp) {
      return { status: 'ok' };
    }
    const n = need(snapshot, 'bgp');
    if (!n.ok) return n.outcome;
    const routesByBgp = enc === 'none' || enc === 'ipip' || enc === 'vxlan+ipip';
    const findings: FindingDraft[] = [];
    for (const p of n.data.bgp.protocols) {
      if (p.proto.toUpperCase() !== 'BGP') continue;
      if (/^Established/i.test(p.info)) continue;
      findings.push({
        rule,
        severity: routesByBgp ? 'critical' : 'warning',
        node: snapshot.node,
        subject: p.name,
        summary: `BGP session ${p.name} is ${p.state}/${p.info || 'no info'}, not Established${routesByBgp ? ': routes to pods behind that peer are withdrawn' : ''}`,
        evidence: {
          seen: `${p.name} BGP ${p.state}${p.since !== null ? ` since ${p.since}` : ''} ${p.info}`,
          expected: `${p.name} up Established`,
          details: { protocol: p.name, state: p.state, since: p.since, info: p.info, socket: n.data.bgp.socket, encapsulation: enc },
        },
        remedy:
          `Look at the session: \`birdcl -s ${n.data.bgp.socket} show protocols all ${p.name}\` (Last error) or \`calicoctl node status\`. ` +
          `Check TCP 179 between the nodes (\`nc -zv <peer IP> 179\`, firewalls/security groups), that both sides agree on AS numbers and peer IPs ` +
          `(\`calicoctl get bgpconfig,bgppeer -o yaml\`, \`calicoctl get node -o wide\`), BGP passwords, and the node's autodetected IP.`,
      });
    }
    return outcome(findings);
  },
};
