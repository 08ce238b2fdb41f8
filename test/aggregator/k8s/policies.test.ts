import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedPolicyIndex, mapCalicoPolicies, readPolicies } from '../../../aggregator/k8s/policies.js';
import { lengthLimitedId } from '../../../aggregator/diagnose/policy-names.js';

// List objects with the real field names: crd.projectcalico.org/v1 NetworkPolicy (stored names carry
// the tier, spec.tier set by the Calico client), GlobalNetworkPolicy, networking.k8s.io/v1
// NetworkPolicy, Namespace and ServiceAccount.
const list = (kind: string, apiVersion: string, items: unknown[], cont?: string) => ({ kind, apiVersion, metadata: { resourceVersion: '7', ...(cont ? { continue: cont } : {}) }, items });
const calicoNp = (ns: string, name: string, tier?: string) => ({ apiVersion: 'crd.projectcalico.org/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec: { ...(tier ? { tier } : {}), selector: 'all()', types: ['Ingress'] } });
const gnp = (name: string, tier?: string) => ({ apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { ...(tier ? { tier } : {}), selector: 'all()' } });
const knp = (ns: string, name: string) => ({ metadata: { name, namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });

type Handler = (url: URL, res: ServerResponse, req: IncomingMessage) => void;
let server: Server | null = null;
const seen: string[] = [];
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const notFound = (res: ServerResponse) => json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });

const serve = async (handler: Handler): Promise<KubeConfig> => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    seen.push(url.pathname + url.search);
    handler(url, res, req);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 't', server: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'diag', token: 'tok' }],
    contexts: [{ name: 't', cluster: 't', user: 'diag' }],
    currentContext: 't',
  });
  return kc;
};

afterEach(async () => {
  seen.length = 0;
  const s = server;
  server = null;
  if (s) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const crdCluster: Handler = (url, res) => {
  switch (url.pathname) {
    case '/apis/crd.projectcalico.org/v1/networkpolicies':
      // two pages: the reader follows `continue`
      if (url.searchParams.get('continue') !== 'p2') return json(res, 200, list('NetworkPolicyList', 'crd.projectcalico.org/v1', [calicoNp('shop', 'default.deny-from-frontend', 'default')], 'p2'));
      return json(res, 200, list('NetworkPolicyList', 'crd.projectcalico.org/v1', [calicoNp('shop', 'security.quarantine', 'security'), { metadata: { name: 'no-namespace' } }]));
    case '/apis/crd.projectcalico.org/v1/globalnetworkpolicies':
      return json(res, 200, list('GlobalNetworkPolicyList', 'crd.projectcalico.org/v1', [gnp('default.allow-dns', 'default')]));
    case '/apis/networking.k8s.io/v1/networkpolicies':
      return json(res, 200, list('NetworkPolicyList', 'networking.k8s.io/v1', [knp('calico-apiserver', 'allow-apiserver')]));
    case '/api/v1/namespaces':
      return json(res, 200, list('NamespaceList', 'v1', [{ metadata: { name: 'shop' } }, { metadata: { name: 'kube-system' } }]));
    case '/api/v1/serviceaccounts':
      return json(res, 200, list('ServiceAccountList', 'v1', [{ metadata: { name: 'coredns', namespace: 'kube-system' } }]));
    default:
      return notFound(res);
  }
};

// #18
describe('readPolicies against a local Kubernetes-shaped API server', () => {
  it('lists Calico, Kubernetes policies and the namespace/serviceaccount profiles, paged and bounded', async () => {
    const kc = await serve(crdCluster);
    const r = await readPolicies(kc, { timeoutMs: 2000, pageLimit: 1 });
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.data.missing).toEqual([]);
    expect(r.data.refs).toEqual(
      expect.arrayContaining([
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'default.deny-from-frontend', tier: 'default' },
        { kind: 'NetworkPolicy', namespace: 'shop', name: 'security.quarantine', tier: 'security' },
        { kind: 'GlobalNetworkPolicy', name: 'default.allow-dns', tier: 'default' },
        { kind: 'KubernetesNetworkPolicy', namespace: 'calico-apiserver', name: 'allow-apiserver', tier: 'default' },
        { kind: 'Profile', name: 'kns.shop' },
        { kind: 'Profile', name: 'kns.kube-system' },
        { kind: 'Profile', name: 'ksa.kube-system.coredns' },
      ]),
    );
    expect(r.data.refs).toHaveLength(7); // the namespaced policy without a namespace is skipped
    expect(seen.every((p) => /limit=1/.test(p) && /timeoutSeconds=2/.test(p))).toBe(true);
  });

  it('falls back to the Calico API server (projectcalico.org/v3) when the CRDs are not served', async () => {
    const kc = await serve((url, res) => {
      if (url.pathname === '/apis/projectcalico.org/v3/networkpolicies') return json(res, 200, list('NetworkPolicyList', 'projectcalico.org/v3', [calicoNp('shop', 'deny-from-frontend')]));
      if (url.pathname === '/apis/projectcalico.org/v3/globalnetworkpolicies') return json(res, 200, list('GlobalNetworkPolicyList', 'projectcalico.org/v3', []));
      if (url.pathname.startsWith('/apis/crd.projectcalico.org/')) return notFound(res);
      return crdCluster(url, res, undefined as never);
    });
    const r = await readPolicies(kc, { timeoutMs: 2000 });
    expect(r).toMatchObject({ status: 'ok', data: { missing: [] } });
    if (r.status !== 'ok') return;
    expect(r.data.refs).toContainEqual({ kind: 'NetworkPolicy', namespace: 'shop', name: 'deny-from-frontend', tier: 'default' });
  });

  it('a part the aggregator may not list is named in missing; nothing readable is unavailable', async () => {
    const kc = await serve((url, res) => {
      if (url.pathname === '/api/v1/serviceaccounts') return json(res, 403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
      return crdCluster(url, res, undefined as never);
    });
    const r = await readPolicies(kc, { timeoutMs: 2000 });
    expect(r).toMatchObject({ status: 'ok', data: { missing: [{ part: 'serviceaccounts', reason: expect.stringMatching(/^permission-denied/) }] } });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server!.closeAllConnections();
    server = null;
    const down = await serve((_url, res) => json(res, 403, { kind: 'Status', code: 403 }));
    expect(await readPolicies(down, { timeoutMs: 1000 })).toMatchObject({ status: 'unavailable', reason: 'permission-denied' });
  });

  it('the cached index names a hashed chain from the listed policies and re-lists only after its TTL', async () => {
    const kc = await serve(crdCluster);
    let now = 0;
    const index = cachedPolicyIndex(() => readPolicies(kc, { timeoutMs: 2000 }), { ttlMs: 30_000, now: () => now, logger: pino({ level: 'silent' }) });
    const i1 = await index();
    const chain = lengthLimitedId('cali-pi-', 'default/shop/default.deny-from-frontend', 28);
    expect(i1?.lookup(chain)).toEqual({ ref: { kind: 'NetworkPolicy', namespace: 'shop', name: 'default.deny-from-frontend', tier: 'default' }, direction: 'ingress' });
    const calls = seen.length;
    now = 10_000;
    expect(await index()).toBe(i1);
    expect(seen.length).toBe(calls);
    now = 31_000;
    await index();
    expect(seen.length).toBeGreaterThan(calls);
  });

  it('mapping: tier from spec.tier, else the stored name, else default; bad items skipped', () => {
    expect(mapCalicoPolicies([gnp('security.block'), gnp('plain'), gnp('x', 'ops'), { metadata: {} }, 'junk'], 'GlobalNetworkPolicy')).toEqual([
      { kind: 'GlobalNetworkPolicy', name: 'security.block', tier: 'security' },
      { kind: 'GlobalNetworkPolicy', name: 'plain', tier: 'default' },
      { kind: 'GlobalNetworkPolicy', name: 'x', tier: 'ops' },
    ]);
  });
});
