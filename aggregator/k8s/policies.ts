/**
 * The policies and profiles Felix makes chains of, read from the datastore (#18), so a diagnosis can
 * name the policy behind a hashed `cali-pi-…` chain (aggregator/diagnose/policy-names.ts): Calico
 * NetworkPolicies and GlobalNetworkPolicies (crd.projectcalico.org/v1, the names Felix reads in
 * Kubernetes-datastore mode; projectcalico.org/v3 through the Calico API server when the CRDs are
 * not served), Kubernetes NetworkPolicies, and the profiles Calico derives from Namespaces
 * (`kns.<namespace>`) and ServiceAccounts (`ksa.<namespace>.<name>`). IO edge, bounded like
 * datastore.ts (per-request timeout, capped pages); never throws: unavailable when nothing could be
 * read, else the parts that failed are named in `missing`. The mapping from objects is pure.
 */
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ok, unavailable, type Collected } from '../../contract/result.js';
import type { Logger } from 'pino';
import { buildPolicyIndex, type PolicyIndex, type PolicyRef } from '../diagnose/policy-names.js';
import { CALICO_GROUP, CALICO_VERSION, classify, listAll, type DatastoreReadOptions, type ListPage, type ReadError } from './datastore.js';

/** The Calico API server's group, tried for a kind whose CRD is not served */
export const CALICO_API_GROUP = 'projectcalico.org';
export const CALICO_API_VERSION = 'v3';

export type PolicyPart = 'networkpolicies' | 'globalnetworkpolicies' | 'kubernetesnetworkpolicies' | 'namespaces' | 'serviceaccounts';

export interface PolicyCatalog {
  refs: PolicyRef[];
  /** parts that could not be read: their chains stay unnamed */
  missing: { part: PolicyPart; reason: string }[];
}

// ---- pure mapping (lenient: bad items skipped) ----

const Meta = z.object({ name: z.string().min(1), namespace: z.string().min(1).optional() }).passthrough();
const CalicoPolicy = z.object({ metadata: Meta, spec: z.object({ tier: z.string().optional() }).passthrough().optional() });
const Named = z.object({ metadata: Meta });

const parse = <T extends z.ZodType>(schema: T, list: readonly unknown[]): z.infer<T>[] => {
  const out: z.infer<T>[] = [];
  for (const it of list) {
    const r = schema.safeParse(it);
    if (r.success) out.push(r.data);
  }
  return out;
};

/** Calico (Global)NetworkPolicies: tier from spec.tier, else the stored name's prefix (`tier.name`), else default. */
export const mapCalicoPolicies = (list: readonly unknown[], kind: 'NetworkPolicy' | 'GlobalNetworkPolicy'): PolicyRef[] =>
  parse(CalicoPolicy, list)
    .filter((p) => kind === 'GlobalNetworkPolicy' || p.metadata.namespace !== undefined)
    .map((p) => {
      const dot = p.metadata.name.indexOf('.');
      const tier = p.spec?.tier || (dot > 0 ? p.metadata.name.slice(0, dot) : 'default');
      return { kind, name: p.metadata.name, tier, ...(kind === 'NetworkPolicy' ? { namespace: p.metadata.namespace as string } : {}) };
    });

export const mapKubernetesPolicies = (list: readonly unknown[]): PolicyRef[] =>
  parse(Named, list)
    .filter((p) => p.metadata.namespace !== undefined)
    .map((p) => ({ kind: 'KubernetesNetworkPolicy', namespace: p.metadata.namespace as string, name: p.metadata.name, tier: 'default' }));

export const mapNamespaceProfiles = (list: readonly unknown[]): PolicyRef[] => parse(Named, list).map((n) => ({ kind: 'Profile', name: `kns.${n.metadata.name}` }));

export const mapServiceAccountProfiles = (list: readonly unknown[]): PolicyRef[] =>
  parse(Named, list)
    .filter((s) => s.metadata.namespace !== undefined)
    .map((s) => ({ kind: 'Profile', name: `ksa.${s.metadata.namespace}.${s.metadata.name}` }));

// ---- IO ----

type Settled = { ok: true; value: unknown[] } | { ok: false; error: ReadError };

const settle = async (p: Promise<unknown[]>): Promise<Settled> => {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, error: classify(err) };
  }
};

export const readPolicies = async (kc: KubeConfig, opts: DatastoreReadOptions = {}): Promise<Collected<PolicyCatalog>> => {
  const o: Required<DatastoreReadOptions> = { timeoutMs: opts.timeoutMs ?? 10_000, pageLimit: opts.pageLimit ?? 500, maxPages: opts.maxPages ?? 40, namespaces: opts.namespaces ?? [] };
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let net: NetworkingV1Api;
  try {
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    net = kc.makeApiClient(NetworkingV1Api);
  } catch (err) {
    return unavailable('not-present', `kubeconfig: ${(err as Error).message}`);
  }
  const timeoutSeconds = Math.max(1, Math.ceil(o.timeoutMs / 1000));
  const base = (cont: string | undefined) => ({ limit: o.pageLimit, timeoutSeconds, ...(cont ? { _continue: cont } : {}) });
  const calico = async (plural: string): Promise<unknown[]> => {
    const list = (group: string, version: string) => listAll((c) => custom.listClusterCustomObject({ group, version, plural, ...base(c) }) as Promise<ListPage>, `${plural}.${group}`, o);
    try {
      return await list(CALICO_GROUP, CALICO_VERSION);
    } catch (err) {
      if ((err as ReadError).reason !== 'not-present') throw err;
      return list(CALICO_API_GROUP, CALICO_API_VERSION);
    }
  };
  const parts: [PolicyPart, Promise<Settled>, (items: unknown[]) => PolicyRef[]][] = [
    ['networkpolicies', settle(calico('networkpolicies')), (l) => mapCalicoPolicies(l, 'NetworkPolicy')],
    ['globalnetworkpolicies', settle(calico('globalnetworkpolicies')), (l) => mapCalicoPolicies(l, 'GlobalNetworkPolicy')],
    ['kubernetesnetworkpolicies', settle(listAll((c) => net.listNetworkPolicyForAllNamespaces(base(c)) as Promise<ListPage>, 'networkpolicies.networking.k8s.io', o)), mapKubernetesPolicies],
    ['namespaces', settle(listAll((c) => core.listNamespace(base(c)) as Promise<ListPage>, 'namespaces', o)), mapNamespaceProfiles],
    ['serviceaccounts', settle(listAll((c) => core.listServiceAccountForAllNamespaces(base(c)) as Promise<ListPage>, 'serviceaccounts', o)), mapServiceAccountProfiles],
  ];
  const refs: PolicyRef[] = [];
  const missing: PolicyCatalog['missing'] = [];
  for (const [part, p, map] of parts) {
    const r = await p;
    if (r.ok) refs.push(...map(r.value));
    else missing.push({ part, reason: `${r.error.reason}: ${r.error.message}` });
  }
  if (missing.length === parts.length) {
    const first = (await parts[0]![1]) as Extract<Settled, { ok: false }>;
    return unavailable(first.error.reason, missing.map((m) => `${m.part}: ${m.reason}`).join('; '));
  }
  return ok({ refs, missing });
};

/**
 * The policy index as a diagnosis reads it: re-listed at most every `ttlMs`, one read at a time,
 * undefined while nothing can be read (a part that failed is logged once when it changes).
 */
export const cachedPolicyIndex = (
  read: () => Promise<Collected<PolicyCatalog>>,
  opts: { ttlMs: number; now: () => number; logger: Logger },
): (() => Promise<PolicyIndex | undefined>) => {
  let last: { at: number; index: PolicyIndex | undefined } | undefined;
  let inflight: Promise<PolicyIndex | undefined> | undefined;
  let lastProblem: string | undefined;
  return () => {
    if (last && opts.now() - last.at < opts.ttlMs) return Promise.resolve(last.index);
    if (inflight) return inflight;
    inflight = read()
      .then((r) => {
        const problem = r.status === 'ok' ? (r.data.missing.length > 0 ? r.data.missing.map((m) => `${m.part}: ${m.reason}`).join('; ') : undefined) : `${r.reason}: ${r.detail}`;
        if (problem !== lastProblem && problem) opts.logger.warn({ policies: { problem } }, 'datastore policies not all readable; their chains stay unnamed in diagnoses');
        lastProblem = problem;
        const index = r.status === 'ok' ? buildPolicyIndex(r.data.refs) : undefined;
        last = { at: opts.now(), index };
        return index;
      })
      .finally(() => (inflight = undefined));
    return inflight;
  };
};
