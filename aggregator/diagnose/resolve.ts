/**
 * Resolving `from` / `to` of a diagnosis through the cluster map (pure): a node name, a node IP,
 * a tunnel IP or a pod IP (a known workload, or any address inside a node's block).
 */
import { canonicalIp } from '../../contract/capture.js';
import type { ClusterMap, ClusterNode } from '../../contract/cluster.js';
import type { Endpoint } from '../../contract/diagnosis.js';
import { NodeName } from '../../contract/report.js';

export type Resolved = { ok: true; endpoint: Endpoint; node: ClusterNode } | { ok: false; status: 400 | 404; message: string };

const ipToBig = (ip: string): { v6: boolean; n: bigint } | null => {
  const c = canonicalIp(ip);
  if (!c) return null;
  if (c.family === 4) return { v6: false, n: c.text.split('.').reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n) };
  // expand the canonical IPv6 text
  const [head, tail] = c.text.includes('::') ? c.text.split('::') : [c.text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.some((g) => g.includes('.'))) return null;
  return { v6: true, n: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
};

export const inCidr = (ip: string, cidr: string): boolean => {
  const [net, lenText] = cidr.split('/');
  const a = ipToBig(ip);
  const b = net ? ipToBig(net) : null;
  const len = Number(lenText);
  if (!a || !b || a.v6 !== b.v6 || !Number.isInteger(len)) return false;
  const bits = a.v6 ? 128 : 32;
  if (len < 0 || len > bits) return false;
  const shift = BigInt(bits - len);
  return a.n >> shift === b.n >> shift;
};

const tunnelIp = (n: ClusterNode, v6: boolean): string | null =>
  n.tunnels.find((t) => t.ip && (canonicalIp(t.ip)?.family === 6) === v6 && t.kind !== 'wireguard')?.ip ?? null;

/**
 * The address a node is probed at: its tunnel IP; a node without encapsulation (BGP, #19) has none
 * and is reached at its node IP.
 */
const probeIp = (n: ClusterNode, v6: boolean): string | null =>
  tunnelIp(n, v6) ?? (n.mode.encapsulation === 'none' ? (n.nodeIPs.find((ip) => (canonicalIp(ip)?.family === 6) === v6) ?? null) : null);

/** Resolves one side. `wantV6` picks the family for node targets (their tunnel IP). */
export const resolveEndpoint = (input: string, map: ClusterMap, wantV6 = false): Resolved => {
  const ip = canonicalIp(input);
  if (ip) {
    const text = ip.text;
    const eq = (x: string | null | undefined) => (x ? canonicalIp(x)?.text === text : false);
    for (const n of map.nodes) {
      if (n.nodeIPs.some(eq)) {
        const tip = probeIp(n, ip.family === 6);
        if (!tip) return { ok: false, status: 404, message: `node ${n.node} has no tunnel IP of that family to probe` };
        return { ok: true, node: n, endpoint: { input, node: n.node, ip: canonicalIp(tip)?.text ?? tip, kind: 'node' } };
      }
      if (n.tunnels.some((t) => eq(t.ip))) return { ok: true, node: n, endpoint: { input, node: n.node, ip: text, kind: 'node' } };
    }
    for (const n of map.nodes) if (n.workloads.some((w) => eq(w.ip))) return { ok: true, node: n, endpoint: { input, node: n.node, ip: text, kind: 'pod' } };
    for (const n of map.nodes) if (n.blocks.some((b) => inCidr(text, b))) return { ok: true, node: n, endpoint: { input, node: n.node, ip: text, kind: 'pod' } };
    return { ok: false, status: 404, message: `${input} is not a node, tunnel or pod address of any reporting node` };
  }
  if (!NodeName.safeParse(input).success) return { ok: false, status: 400, message: `${JSON.stringify(input.slice(0, 64))} is neither an IP address nor a node name` };
  const n = map.nodes.find((x) => x.node === input);
  if (!n) return { ok: false, status: 404, message: `no reporting node named ${input}` };
  const tip = probeIp(n, wantV6);
  if (!tip) return { ok: false, status: 404, message: `node ${n.node} has no tunnel IP to probe` };
  return { ok: true, node: n, endpoint: { input, node: n.node, ip: canonicalIp(tip)?.text ?? tip, kind: 'node' } };
};
