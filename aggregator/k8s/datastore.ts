/**
 * Reads what the Kubernetes / Calico datastore says (Nodes, calico-node pods, IPPools,
 * BlockAffinities) into a DatastoreView for the correlation rules. IO edge, stateless: every call
 * lists afresh. Bounded: each list request carries a server-side timeoutSeconds and a client-side
 * timer, pages are capped (limit × maxPages objects). Never throws: when the node list cannot be read
 * the whole view is unavailable(reason); any other part that fails is named in `missing` and the
 * rules reading it do not run. The mapping from Kubernetes objects to the view is pure and exported.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ok, unavailable, type Collected, type UnavailableReason } from '../../contract/result.js';
import type { DatastorePart, DatastoreView } from '../correlate/types.js';

export const CALICO_GROUP = 'crd.projectcalico.org';
export const CALICO_VERSION = 'v1';
export const CALICO_NODE_NAMESPACES = ['calico-system', 'kube-system'] as const;
export const CALICO_NODE_SELECTOR = 'k8s-app=calico-node';

export interface DatastoreReadOptions {
  /** per request (default 10 s) */
  timeoutMs?: number;
  /** objects per page (default 500) */
  pageLimit?: number;
  /** pages per list before giving up (default 40) */
  maxPages?: number;
  namespaces?: readonly string[];
}

/** Loads the in-cluster service account when present, else the given kubeconfig file, else the default. */
export const loadKubeConfig = (opts: { kubeconfigPath?: string; env?: NodeJS.ProcessEnv } = {}): Collected<KubeConfig> => {
  const kc = new KubeConfig();
  const env = opts.env ?? process.env;
  try {
    if (opts.kubeconfigPath !== undefined) kc.loadFromFile(opts.kubeconfigPath);
    else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    return unavailable('not-present', `kubeconfig: ${(err as Error).message}`);
  }
  if (kc.getCurrentCluster() === null) return unavailable('not-present', 'kubeconfig names no cluster');
  return ok(kc);
};

// ---- pure mapping from Kubernetes objects (lenient: unknown fields ignored, bad items skipped) ----

const Meta = z.object({ name: z.string() }).passthrough();
const NodeItem = z.object({
  metadata: Meta,
  status: z.object({ addresses: z.array(z.object({ type: z.string(), address: z.string() })).optional() }).passthrough().optional(),
});
const PodItem = z.object({
  metadata: Meta,
  spec: z.object({ nodeName: z.string().optional() }).passthrough().optional(),
  status: z
    .object({
      conditions: z.array(z.object({ type: z.string(), status: z.string() }).passthrough()).optional(),
      containerStatuses: z.array(z.object({ name: z.string(), ready: z.boolean().optional(), restartCount: z.number().optional() }).passthrough()).optional(),
    })
    .passthrough()
    .optional(),
});
const PoolItem = z.object({
  metadata: Meta,
  spec: z
    .object({
      cidr: z.string(),
      blockSize: z.number().int().optional(),
      vxlanMode: z.string().optional(),
      ipipMode: z.string().optional(),
      natOutgoing: z.boolean().optional(),
      disabled: z.boolean().optional(),
    })
    .passthrough(),
});
const AffinityItem = z.object({
  metadata: Meta,
  spec: z.object({ node: z.string(), cidr: z.string(), state: z.string().optional(), deleted: z.union([z.string(), z.boolean()]).optional() }).passthrough(),
});

const items = <T extends z.ZodType>(schema: T, list: unknown[]): z.infer<T>[] => {
  const out: z.infer<T>[] = [];
  for (const it of list) {
    const r = schema.safeParse(it);
    if (r.success) out.push(r.data);
  }
  return out;
};

export const mapNodes = (list: unknown[]): DatastoreView['nodes'] =>
  items(NodeItem, list).map((n) => ({
    name: n.metadata.name,
    internalIPs: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
  }));

export const mapCalicoNodePods = (list: unknown[]): DatastoreView['calicoNodePods'] =>
  items(PodItem, list)
    .filter((p) => p.spec?.nodeName !== undefined)
    .map((p) => ({
      node: p.spec?.nodeName as string,
      name: p.metadata.name,
      ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      restarts: (p.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
    }));

export const mapIpPools = (list: unknown[]): DatastoreView['ipPools'] =>
  items(PoolItem, list).map((p) => ({
    name: p.metadata.name,
    cidr: p.spec.cidr,
    blockSize: p.spec.blockSize ?? (p.spec.cidr.includes(':') ? 122 : 26),
    vxlanMode: p.spec.vxlanMode ?? 'Never',
    ipipMode: p.spec.ipipMode ?? 'Never',
    disabled: p.spec.disabled ?? false,
    natOutgoing: p.spec.natOutgoing ?? false,
  }));

export const mapBlockAffinities = (list: unknown[]): DatastoreView['blockAffinities'] =>
  items(AffinityItem, list)
    .filter((a) => a.spec.deleted !== true && a.spec.deleted !== 'true')
    .map((a) => ({ node: a.spec.node, cidr: a.spec.cidr, state: a.spec.state ?? 'confirmed' }));

// ---- IO ----

export interface ListPage {
  items?: unknown[];
  metadata?: { _continue?: string; continue?: string };
}

export class ReadError extends Error {
  constructor(
    readonly reason: UnavailableReason,
    message: string,
  ) {
    super(message);
  }
}

export const classify = (err: unknown): ReadError => {
  if (err instanceof ReadError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    if (code === 401 || code === 403) return new ReadError('permission-denied', `HTTP ${code}`);
    if (code === 404) return new ReadError('not-present', 'HTTP 404 (resource type not served)');
    return new ReadError('command-failed', `HTTP ${code}`);
  }
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') return new ReadError('unreachable', code);
  if (err instanceof SyntaxError) return new ReadError('invalid-output', err.message);
  return new ReadError('command-failed', e.message ?? String(err));
};

const withTimeout = async <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadError('timeout', `${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
};

export const listAll = async (page: (cont: string | undefined) => Promise<ListPage>, what: string, o: Required<DatastoreReadOptions>): Promise<unknown[]> => {
  const out: unknown[] = [];
  let cont: string | undefined;
  for (let i = 0; i < o.maxPages; i++) {
    let res: ListPage;
    try {
      res = await withTimeout(page(cont), o.timeoutMs, what);
    } catch (err) {
      throw classify(err);
    }
    if (res === null || typeof res !== 'object' || !Array.isArray(res.items)) throw new ReadError('invalid-output', `${what}: answer is not a list`);
    for (const it of res.items) out.push(it);
    cont = res.metadata?._continue ?? res.metadata?.continue;
    if (!cont) return out;
  }
  throw new ReadError('output-too-large', `${what}: more than ${o.maxPages} pages of ${o.pageLimit}`);
};

export const readDatastore = async (kc: KubeConfig, opts: DatastoreReadOptions = {}): Promise<Collected<DatastoreView>> => {
  const o: Required<DatastoreReadOptions> = {
    timeoutMs: opts.timeoutMs ?? 10_000,
    pageLimit: opts.pageLimit ?? 500,
    maxPages: opts.maxPages ?? 40,
    namespaces: opts.namespaces ?? CALICO_NODE_NAMESPACES,
  };
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  try {
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
  } catch (err) {
    return unavailable('not-present', `kubeconfig: ${(err as Error).message}`);
  }
  const timeoutSeconds = Math.max(1, Math.ceil(o.timeoutMs / 1000));
  const base = (cont: string | undefined) => ({ limit: o.pageLimit, timeoutSeconds, ...(cont ? { _continue: cont } : {}) });
  const crd = (plural: string) => (cont: string | undefined) =>
    custom.listClusterCustomObject({ group: CALICO_GROUP, version: CALICO_VERSION, plural, ...base(cont) }) as Promise<ListPage>;

  const settle = async <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ReadError }> => {
    try {
      return { ok: true, value: await p };
    } catch (err) {
      return { ok: false, error: classify(err) };
    }
  };

  const [nodes, pods, pools, affinities] = await Promise.all([
    settle(listAll((c) => core.listNode(base(c)) as Promise<ListPage>, 'nodes', o)),
    Promise.all(
      o.namespaces.map((namespace) =>
        settle(listAll((c) => core.listNamespacedPod({ namespace, labelSelector: CALICO_NODE_SELECTOR, ...base(c) }) as Promise<ListPage>, `pods in ${namespace}`, o)),
      ),
    ),
    settle(listAll(crd('ippools'), 'ippools', o)),
    settle(listAll(crd('blockaffinities'), 'blockaffinities', o)),
  ]);
  if (!nodes.ok) return unavailable(nodes.error.reason, `nodes: ${nodes.error.message}`);

  const missing: { part: DatastorePart; reason: string }[] = [];
  const podItems: unknown[] = [];
  const podErrors: string[] = [];
  for (const p of pods) {
    if (p.ok) for (const it of p.value) podItems.push(it);
    else podErrors.push(`${p.error.reason}: ${p.error.message}`);
  }
  // one namespace unreadable could hide the pods: then the pod list is not trusted at all
  if (podErrors.length > 0) missing.push({ part: 'calicoNodePods', reason: podErrors.join('; ') });
  if (!pools.ok) missing.push({ part: 'ipPools', reason: `${pools.error.reason}: ${pools.error.message}` });
  if (!affinities.ok) missing.push({ part: 'blockAffinities', reason: `${affinities.error.reason}: ${affinities.error.message}` });

  const view: DatastoreView = {
    nodes: mapNodes(nodes.value),
    calicoNodePods: mapCalicoNodePods(podItems),
    ipPools: pools.ok ? mapIpPools(pools.value) : [],
    blockAffinities: affinities.ok ? mapBlockAffinities(affinities.value) : [],
  };
  if (missing.length > 0) view.missing = missing;
  return ok(view);
};
