/**
 * What a correlation rule is and reads: the cluster built once per pass from the nodes' latest
 * reports (../cluster/cluster.ts: the nodes' own truth, who owns what, per-peer state judged
 * against the peer's truth) and, in a cluster, the Kubernetes/Calico datastore view.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Cluster, ClusterInput } from '../cluster/cluster.js';

/** What the Kubernetes / Calico datastore says, when the aggregator runs in a cluster. */
export interface DatastoreView {
  /** Kubernetes node names */
  nodes: { name: string; internalIPs: string[] }[];
  /** calico-node pods per node */
  calicoNodePods: { node: string; name: string; ready: boolean; restarts: number }[];
  ipPools: { name: string; cidr: string; blockSize: number; vxlanMode: string; ipipMode: string; disabled: boolean; natOutgoing: boolean }[];
  blockAffinities: { node: string; cidr: string; state: string }[];
  /**
   * Parts that could not be read (e.g. the Calico CRDs are absent with an etcd datastore): their
   * arrays above are empty and rules reading them do not run. Absent means every part was read.
   */
  missing?: { part: DatastorePart; reason: string }[];
}

export type DatastorePart = 'nodes' | 'calicoNodePods' | 'ipPools' | 'blockAffinities';

/** True when the datastore is present and `part` of it was read. */
export const hasDatastorePart = (ds: DatastoreView | undefined, part: DatastorePart): ds is DatastoreView =>
  ds !== undefined && !(ds.missing ?? []).some((m) => m.part === part);

export interface CorrelateInput extends ClusterInput {
  datastore?: DatastoreView | undefined;
}

/** Cluster-wide findings (IP pools) carry this in `node`; it can never be a real node name. */
export const CLUSTER_SUBJECT = '(cluster)';

export interface CorrelateRule {
  /** the stable rule id findings carry */
  id: string;
  description: string;
  /** The rule's findings over the cluster built once per pass (../cluster/cluster.ts). */
  run(cluster: Cluster, input: CorrelateInput): FindingDraft[];
}
