/**
 * The cluster map the aggregator builds from the nodes' own reports (GET /v1/cluster):
 * who owns which node IP, tunnel IP, VTEP MAC and blocks. Extended by the correlation code.
 */
import { z } from 'zod';
import { Mode, Tunnel } from './snapshot.js';

export const ClusterNode = z.object({
  node: z.string(),
  stale: z.boolean(),
  receivedAt: z.string(),
  mode: Mode,
  nodeIPs: z.array(z.string()),
  tunnels: z.array(Tunnel),
  blocks: z.array(z.string()),
  workloads: z.array(z.object({ ip: z.string(), dev: z.string() })),
  /** members of the node's all-hosts ipset(s), null when unknown */
  allowedHosts: z.array(z.string()).nullable(),
  mtu: z.number().int().nullable(),
});
export type ClusterNode = z.infer<typeof ClusterNode>;

export const ClusterMap = z.object({
  nodes: z.array(ClusterNode),
});
export type ClusterMap = z.infer<typeof ClusterMap>;
