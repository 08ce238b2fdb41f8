/**
 * Which addresses this agent may send probes to (#16): cluster addresses only, as this node's own
 * latest snapshot knows them — its own blocks, tunnel and node IPs and workloads; the pod blocks it
 * routes to peers (routes programmed by Felix or BIRD, or through a Calico tunnel device); and its
 * peers' node and tunnel IPs (those routes' gateways, VXLAN FDB destinations and tunnel-device
 * neighbours). Anything else is refused: the agent is no ICMP cannon for arbitrary hosts. Pure.
 */
import { BlockList, isIP } from 'node:net';
import type { Snapshot } from '../../contract/snapshot.js';

const TUNNEL_DEVICES = new Set(['vxlan.calico', 'vxlan-v6.calico', 'tunl0', 'wireguard.cali', 'wg-v6.cali']);
const CALICO_PROTOCOLS = new Set(['bird', '80', 'felix']);

const familyOf = (ip: string): 'ipv4' | 'ipv6' | null => (isIP(ip) === 4 ? 'ipv4' : isIP(ip) === 6 ? 'ipv6' : null);

const addCidr = (list: BlockList, cidr: string): void => {
  const [net, len] = cidr.split('/');
  const family = net ? familyOf(net) : null;
  if (!net || !family) return;
  const prefix = len === undefined ? (family === 'ipv4' ? 32 : 128) : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) return;
  list.addSubnet(net, prefix, family);
};

/** The cluster addresses of `snapshot`, as a predicate. */
export const clusterTargets = (snapshot: Snapshot): ((ip: string) => boolean) => {
  const list = new BlockList();
  const { identity, sections } = snapshot;
  for (const b of identity.blocks) addCidr(list, b);
  for (const ip of identity.nodeIPs) addCidr(list, ip);
  for (const t of identity.tunnels) if (t.ip) addCidr(list, t.ip);
  for (const w of identity.workloads) addCidr(list, w.ip);
  if (sections.routes.status === 'ok') {
    for (const r of sections.routes.data) {
      const devs = [r.dev, ...r.nexthops.map((h) => h.dev)];
      const calico = CALICO_PROTOCOLS.has(r.protocol) || devs.some((d) => d !== null && TUNNEL_DEVICES.has(d));
      if (!calico || r.dst === 'default') continue;
      addCidr(list, r.dst);
      for (const g of [r.gateway, ...r.nexthops.map((h) => h.gateway)]) if (g) addCidr(list, g);
    }
  }
  if (sections.fdb.status === 'ok') for (const e of sections.fdb.data) if (e.dst) addCidr(list, e.dst);
  if (sections.neighbours.status === 'ok') for (const n of sections.neighbours.data) if (TUNNEL_DEVICES.has(n.dev)) addCidr(list, n.dst);
  return (ip) => {
    const family = familyOf(ip);
    return family !== null && list.check(ip, family);
  };
};

/**
 * At most one probe at a time and `perMinute` per rolling minute (#16: every node could be made to
 * send unbounded ICMP). State: the start times of the last minute's probes and the running flag.
 */
export class ProbeLimiter {
  private running = false;
  private readonly starts: number[] = [];

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** null when a probe may start now (call the returned `done` when it ends), else why not */
  begin(): { done: () => void } | { refused: string } {
    const t = this.now();
    while (this.starts.length > 0 && t - this.starts[0]! >= 60_000) this.starts.shift();
    if (this.running) return { refused: 'another probe is running on this node' };
    if (this.starts.length >= this.perMinute) return { refused: `at most ${this.perMinute} probes a minute on this node` };
    this.running = true;
    this.starts.push(t);
    return { done: () => void (this.running = false) };
  }
}
