/**
 * bgp-session-down: a BGP session between two reporting nodes is not Established, judged from both
 * ends (#19). calico-node names its BIRD protocols after the peer's address (node-to-node mesh
 * `Mesh_10_0_0_2`, explicit peers `Node_…` / `Global_…`, an optional `_port_N` suffix), so each
 * end's protocol toward the other node is found by name. One finding per node whose end is down,
 * naming the peer and comparing both ends (e.g. node1 Established, node2 Active) with a hint from
 * the states: a refused AS ("Bad peer AS"), a one-sided session (one end Established), both ends
 * waiting (TCP 179 not getting through). Critical when the node's pod routes come from BGP (no
 * encapsulation, IPIP), else a warning (VXLAN routes are Felix's).
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Bgp } from '../../contract/snapshot.js';
import type { NodeView } from '../cluster/cluster.js';
import type { CorrelateRule } from './types.js';

type BgpProtocol = Bgp['protocols'][number];

export const RULE_ID = 'bgp-session-down';

const NAME = /^(?:Mesh|Node|Global)_(\d{1,3})_(\d{1,3})_(\d{1,3})_(\d{1,3})(?:_port_\d+)?$/;

/** The peer IPv4 address a calico-node BIRD protocol name stands for, or null. */
export const protocolPeerIp = (name: string): string | null => {
  const m = NAME.exec(name);
  return m ? `${m[1]}.${m[2]}.${m[3]}.${m[4]}` : null;
};

export const isEstablished = (p: Pick<BgpProtocol, 'info'>): boolean => /^Established/i.test(p.info);

export interface SessionEnd {
  node: string;
  protocol: string;
  state: string;
  info: string;
  since: string | null;
  established: boolean;
}

const endOf = (n: NodeView, p: BgpProtocol): SessionEnd => ({ node: n.name, protocol: p.name, state: p.state, info: p.info, since: p.since, established: isEstablished(p) });

/** a's BGP protocol toward b (by the peer address in its name); null when a has none or BIRD was not read. */
export const sessionToward = (a: NodeView, b: NodeView): SessionEnd | null => {
  const sec = a.state.report.sections.bgp;
  if (sec.status !== 'ok') return null;
  for (const p of sec.data.protocols) {
    if (p.proto.toUpperCase() !== 'BGP') continue;
    const ip = protocolPeerIp(p.name);
    if (ip !== null && b.underlayIPs.includes(ip)) return endOf(a, p);
  }
  return null;
};

export const describeEnd = (e: SessionEnd): string => `${e.node} ${e.protocol} ${e.state}${e.info ? ` ${e.info}` : ''}`;

const hintFor = (local: SessionEnd, remote: SessionEnd | null): string => {
  const texts = [local.info, remote?.info ?? ''].join(' ');
  if (/bad peer as/i.test(texts)) return 'the two ends disagree on an AS number (BGP OPEN refused with "Bad peer AS")';
  if (remote?.established) return `one-sided: ${remote.node} still shows the session Established while ${local.node} does not`;
  if (remote === null) return 'the other end has no BIRD report or no protocol for this node';
  if (/Active|Connect|Passive|Idle/i.test(texts)) return 'neither end gets the TCP connection up (port 179 filtered or the peer address unreachable)';
  return 'both ends are down';
};

export const bgpSessionDown: CorrelateRule = {
  id: RULE_ID,
  description: 'A BGP session between two nodes is not Established (both ends compared)',
  run(cluster) {
    const out: FindingDraft[] = [];
    for (const a of cluster.fresh) {
      const sec = a.state.report.sections.bgp;
      if (sec.status !== 'ok') continue;
      const enc = a.state.report.mode.encapsulation;
      const routesByBgp = enc === 'none' || enc === 'ipip' || enc === 'vxlan+ipip';
      for (const p of sec.data.protocols) {
        if (p.proto.toUpperCase() !== 'BGP' || isEstablished(p)) continue;
        const ip = protocolPeerIp(p.name);
        if (ip === null) continue;
        const b = cluster.ownerOfNodeIP(ip);
        if (b === null || b === a || b.stale) continue;
        const local = endOf(a, p);
        const remote = sessionToward(b, a);
        const hint = hintFor(local, remote);
        out.push({
          rule: RULE_ID,
          severity: routesByBgp ? 'critical' : 'warning',
          node: a.name,
          peer: b.name,
          subject: p.name,
          summary: `BGP session ${a.name} ↔ ${b.name} is down: ${describeEnd(local)}; ${remote ? describeEnd(remote) : `${b.name}: no session seen`} (${hint})`,
          evidence: {
            seen: `${describeEnd(local)} / ${remote ? describeEnd(remote) : `${b.name}: no protocol for ${a.name}`}`,
            expected: `both ends Established`,
            details: { local, remote, hint, peerIp: ip, encapsulation: enc },
          },
          remedy:
            `Compare both ends: \`birdcl -s <socket> show protocols all ${p.name}\` on ${a.name}${remote ? ` and \`… show protocols all ${remote.protocol}\` on ${b.name}` : ''} (Last error, Neighbor AS). ` +
            'Check TCP 179 both ways between the node IPs (`nc -zv <peer IP> 179`, host firewalls, security groups), that both nodes agree on AS numbers ' +
            '(`calicoctl get bgpconfig,bgppeer,node -o yaml`: asNumber) and on each other\'s node IPs.',
        });
      }
    }
    return out;
  },
};
