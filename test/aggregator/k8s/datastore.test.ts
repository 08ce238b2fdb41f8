import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKubeConfig, readDatastore } from '../../../aggregator/k8s/datastore.js';

// Kubernetes-shaped list objects with the real field names (Node status.addresses, Pod conditions and
// containerStatuses, crd.projectcalico.org/v1 IPPool and BlockAffinity specs).
const nodeList = (names: string[], cont?: string) => ({
  kind: 'NodeList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '1234', ...(cont ? { continue: cont } : {}) },
  items: names.map((name, i) => ({
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { podCIDR: `10.244.${i}.0/24` },
    status: {
      addresses: [
        { type: 'InternalIP', address: `10.0.1.${20 + i}` },
        { type: 'Hostname', address: name },
      ],
    },
  })),
});

const pod = (name: string, node: string, ready: boolean, restarts: number) => ({
  metadata: { name, namespace: 'calico-system', labels: { 'k8s-app': 'calico-node' } },
  spec: { nodeName: node, hostNetwork: true },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Initialized', status: 'True' },
      { type: 'Ready', status: ready ? 'True' : 'False' },
    ],
    containerStatuses: [{ name: 'calico-node', ready, restartCount: restarts, image: 'docker.io/calico/node:v3.29.1' }],
  },
});

const ippools = {
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'IPPoolList',
  metadata: { resourceVersion: '99' },
  items: [
    {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool' },
      spec: { allowedUses: ['Workload', 'Tunnel'], blockSize: 26, cidr: '10.48.0.0/16', ipipMode: 'Never', natOutgoing: true, nodeSelector: 'all()', vxlanMode: 'Always' },
    },
    { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'old-pool' }, spec: { cidr: '192.168.0.0/16', disabled: true } },
  ],
};

const affinities = {
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'BlockAffinityList',
  metadata: {},
  items: [
    { metadata: { name: 'control1-10-48-0-128-26' }, spec: { cidr: '10.48.0.128/26', deleted: 'false', node: 'control1', state: 'confirmed' } },
    { metadata: { name: 'worker1-10-48-0-192-26' }, spec: { cidr: '10.48.0.192/26', deleted: 'false', node: 'worker1', state: 'pending' } },
    { metadata: { name: 'gone-10-48-1-0-26' }, spec: { cidr: '10.48.1.0/26', deleted: 'true', node: 'gone', state: 'confirmed' } },
  ],
};

type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => void;

let server: Server | null = null;
const seen: { path: string; auth: string | undefined; query: string }[] = [];

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const serve = async (handler: Handler): Promise<KubeConfig> => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    seen.push({ path: url.pathname, auth: req.headers.authorization, query: url.search });
    handler(req, url, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const port = (server!.address() as AddressInfo).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'diag', token: 'test-token-123' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'diag' }],
    currentContext: 'test',
  });
  return kc;
};

const healthy: Handler = (_req, url, res) => {
  switch (url.pathname) {
    case '/api/v1/nodes':
      return json(res, 200, nodeList(['control1', 'worker1']));
    case '/api/v1/namespaces/calico-system/pods':
      return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [pod('calico-node-7xk2p', 'control1', true, 0), pod('calico-node-b9wq4', 'worker1', false, 7)] });
    case '/api/v1/namespaces/kube-system/pods':
      return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [] });
    case '/apis/crd.projectcalico.org/v1/ippools':
      return json(res, 200, ippools);
    case '/apis/crd.projectcalico.org/v1/blockaffinities':
      return json(res, 200, affinities);
    default:
      return json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  }
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

// issue #3
describe('readDatastore against a local Kubernetes-shaped API server', () => {
  it('maps Nodes, calico-node pods, IPPools and BlockAffinities with the bearer token', async () => {
    const kc = await serve(healthy);
    const r = await readDatastore(kc, { timeoutMs: 2000 });
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.data).toEqual({
      nodes: [
        { name: 'control1', internalIPs: ['10.0.1.20'] },
        { name: 'worker1', internalIPs: ['10.0.1.21'] },
      ],
      calicoNodePods: [
        { node: 'control1', name: 'calico-node-7xk2p', ready: true, restarts: 0 },
        { node: 'worker1', name: 'calico-node-b9wq4', ready: false, restarts: 7 },
      ],
      ipPools: [
        { name: 'default-ipv4-ippool', cidr: '10.48.0.0/16', blockSize: 26, vxlanMode: 'Always', ipipMode: 'Never', disabled: false, natOutgoing: true },
        { name: 'old-pool', cidr: '192.168.0.0/16', blockSize: 26, vxlanMode: 'Never', ipipMode: 'Never', disabled: true, natOutgoing: false },
      ],
      blockAffinities: [
        { node: 'control1', cidr: '10.48.0.128/26', state: 'confirmed' },
        { node: 'worker1', cidr: '10.48.0.192/26', state: 'pending' },
      ],
    });
    expect(seen.every((s) => s.auth === 'Bearer test-token-123')).toBe(true);
    const podQuery = seen.find((s) => s.path === '/api/v1/namespaces/calico-system/pods')?.query ?? '';
    expect(new URLSearchParams(podQuery).get('labelSelector')).toBe('k8s-app=calico-node');
  });

  it('follows list pages (metadata.continue)', async () => {
    const kc = await serve((req, url, res) => {
      if (url.pathname === '/api/v1/nodes') {
        const cont = url.searchParams.get('continue');
        return json(res, 200, cont === 'page2' ? nodeList(['worker2']) : nodeList(['control1', 'worker1'], 'page2'));
      }
      return healthy(req, url, res);
    });
    const r = await readDatastore(kc, { timeoutMs: 2000, pageLimit: 2 });
    expect(r.status === 'ok' && r.data.nodes.map((n) => n.name)).toEqual(['control1', 'worker1', 'worker2']);
  });

  it('a part that fails is named in `missing`; forbidden → permission-denied, 404 CRD → not-present, a hung request → timeout', async () => {
    const kc = await serve((req, url, res) => {
      if (url.pathname === '/apis/crd.projectcalico.org/v1/ippools') return json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' });
      if (url.pathname === '/apis/crd.projectcalico.org/v1/blockaffinities') return; // never answers
      if (url.pathname === '/api/v1/namespaces/kube-system/pods') return json(res, 403, { kind: 'Status', code: 403, reason: 'Forbidden' });
      return healthy(req, url, res);
    });
    const r = await readDatastore(kc, { timeoutMs: 400 });
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.data.nodes).toHaveLength(2);
    expect(r.data.ipPools).toEqual([]);
    expect(r.data.blockAffinities).toEqual([]);
    const byPart = Object.fromEntries((r.data.missing ?? []).map((m) => [m.part, m.reason]));
    expect(Object.keys(byPart).sort()).toEqual(['blockAffinities', 'calicoNodePods', 'ipPools']);
    expect(byPart.ipPools).toMatch(/^not-present/);
    expect(byPart.blockAffinities).toMatch(/^timeout/);
    expect(byPart.calicoNodePods).toMatch(/^permission-denied/);
  });

  it('node list failing makes the whole view unavailable, with the reason', async () => {
    const kc = await serve((req, url, res) => (url.pathname === '/api/v1/nodes' ? json(res, 401, { kind: 'Status', code: 401 }) : healthy(req, url, res)));
    expect(await readDatastore(kc, { timeoutMs: 1000 })).toMatchObject({ status: 'unavailable', reason: 'permission-denied' });
  });

  it('a non-list answer is invalid-output; no server at all is unreachable', async () => {
    const kc = await serve((req, url, res) => {
      if (url.pathname === '/api/v1/nodes') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"kind":"NodeList","items":');
      }
      return healthy(req, url, res);
    });
    const bad = await readDatastore(kc, { timeoutMs: 1000 });
    expect(bad).toMatchObject({ status: 'unavailable', reason: 'invalid-output' });
    const s = server!;
    const port = (s.address() as AddressInfo).port;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    server = null;
    const gone = new KubeConfig();
    gone.loadFromOptions({
      clusters: [{ name: 'gone', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'gone', user: 'u' }],
      currentContext: 'c',
    });
    expect(await readDatastore(gone, { timeoutMs: 1000 })).toMatchObject({ status: 'unavailable', reason: 'unreachable' });
  });

  it('loadKubeConfig: a missing kubeconfig file is not-present, never a throw', () => {
    expect(loadKubeConfig({ kubeconfigPath: '/nonexistent/kubeconfig', env: {} })).toMatchObject({ status: 'unavailable', reason: 'not-present' });
  });
});
