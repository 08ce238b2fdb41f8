/**
 * underlay-neighbor-failed: a peer's node IP (a VXLAN FDB destination, or the next hop of a route to
 * another node's block via tunl0 or the uplink) has a FAILED / INCOMPLETE neighbour entry: the
 * peer does not answer ARP/ND on the underlay, so nothing reaches its pods.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { routeHops } from '../../contract/calico.js';
import { isTunnelDevice, isVxlanDevice } from '../derive/identity.js';
import { remoteBlockRoutes } from '../derive/mode.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'underlay-neighbor-failed';

export const underlayNeighborFailed: LocalCheck = {
  rule,
  description: "A peer node IP's underlay neighbour entry is FAILED or INCOMPLETE",
  run({ snapshot }) {
    const n = need(snapshot, 'neighbours');
    if (!n.ok) return n.outcome;
    const fdb = snapshot.sections.fdb;
    const routes = snapshot.sections.routes;
    if (fdb.status !== 'ok' && routes.status !== 'ok')
      return { status: 'unknown', reason: `fdb: ${fdb.status === 'unavailable' ? fdb.reason : ''}; routes: ${routes.status === 'unavailable' ? routes.reason : ''}` };
    const peers = new Map<string, string>();
    if (fdb.status === 'ok') for (const f of fdb.data) if (isVxlanDevice(f.dev) && f.dst !== null) peers.set(f.dst, `VXLAN FDB destination on ${f.dev}`);
    if (routes.status === 'ok')
      for (const r of remoteBlockRoutes(routes.data))
        for (const h of routeHops(r))
          if (h.gateway !== null && h.dev !== null && !isVxlanDevice(h.dev)) peers.set(h.gateway, `next hop of ${r.dst} via ${h.dev}`);
    const findings: FindingDraft[] = [];
    for (const nb of n.data.neighbours) {
      if (isTunnelDevice(nb.dev) || !peers.has(nb.dst)) continue;
      const bad = nb.state.filter((s) => s === 'FAILED' || s === 'INCOMPLETE');
      if (bad.length === 0) continue;
      findings.push({
        rule,
        severity: 'critical',
        node: snapshot.node,
        subject: nb.dst,
        summary: `Peer node ${nb.dst} does not answer ARP/ND on ${nb.dev} (${bad.join(',')}): pods on that node are unreachable from here`,
        evidence: {
          seen: `${nb.dst} dev ${nb.dev} ${nb.state.join(' ')}`,
          expected: `${nb.dst} dev ${nb.dev} lladdr <MAC> REACHABLE/STALE/DELAY`,
          details: { peerIp: nb.dst, dev: nb.dev, state: nb.state, role: peers.get(nb.dst) },
        },
        remedy:
          `Check the peer is up and on this L2 segment: \`ping -c3 ${nb.dst}\`, \`ip route get ${nb.dst}\`, \`arping -I ${nb.dev} ${nb.dst}\`. ` +
          `If the peer moved or was replaced, its node IP in Calico is stale: compare \`calicoctl get node -o wide\` with the node's real address ` +
          `(IP autodetection: the IP_AUTODETECTION_METHOD of calico-node). If it is on another subnet, traffic must go via a router: use VXLAN/IPIP CrossSubnet or Always mode.`,
      });
    }
    return outcome(findings);
  },
};
