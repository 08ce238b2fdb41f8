import Fastify from 'fastify';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { agentKeys, kubernetesAuthenticator, NODE_NAME_CLAIM, type ReviewResult } from '../../../aggregator/auth/identity.js';
import { CorrelationEngine } from '../../../aggregator/engine.js';
import { buildAggregatorApp } from '../../../aggregator/http/app.js';
import { tokenReviewer } from '../../../aggregator/k8s/token-review.js';
import { createAggregatorMetrics } from '../../../aggregator/metrics.js';
import { ReportStore } from '../../../aggregator/cluster/store.js';
import { meshSnapshot, toReport } from '../../../bench/aggregator-mesh.js';

const SHARED = 'reader-token';
const SA = 'system:serviceaccount:calico-diag:calico-diag-agent';
/** JWT-shaped tokens the fake API server knows, by the node their pod runs on */
const jwt = (node: string) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(node).toString('base64url')}.c2ln`;
const reviews: Record<string, ReviewResult> = {
  [jwt('node-00000')]: { ok: true, authenticated: true, username: SA, audiences: ['calico-diag'], extra: { [NODE_NAME_CLAIM]: ['node-00000'] } },
  [jwt('node-00001')]: { ok: true, authenticated: true, username: SA, audiences: ['calico-diag'], extra: { [NODE_NAME_CLAIM]: ['node-00001'] } },
  [jwt('other-sa')]: { ok: true, authenticated: true, username: 'system:serviceaccount:default:default', audiences: ['calico-diag'], extra: { [NODE_NAME_CLAIM]: ['node-00000'] } },
  [jwt('wrong-aud')]: { ok: true, authenticated: true, username: SA, audiences: ['https://kubernetes.default.svc'], extra: { [NODE_NAME_CLAIM]: ['node-00000'] } },
  [jwt('no-node')]: { ok: true, authenticated: true, username: SA, audiences: ['calico-diag'], extra: {} },
  [jwt('expired')]: { ok: true, authenticated: false, username: '', audiences: [], extra: {} },
};

const fakeReview = () => {
  const calls: string[] = [];
  return {
    calls,
    review: async (token: string): Promise<ReviewResult> => {
      calls.push(token);
      return reviews[token] ?? { ok: true, authenticated: false, username: '', audiences: [], extra: {} };
    },
  };
};

const auth = (review: (t: string, a: string) => Promise<ReviewResult>) =>
  kubernetesAuthenticator({ review, serviceAccount: 'calico-diag:calico-diag-agent', shared: () => SHARED, now: () => 0 });

describe('node identity from projected service-account tokens', () => {
  it('gives the node an agent token is bound to, and the shared token reader rights only', async () => {
    const a = auth(fakeReview().review);
    expect(await a.authenticate(jwt('node-00001'))).toEqual({ kind: 'node', node: 'node-00001' });
    expect(await a.authenticate(SHARED)).toEqual({ kind: 'shared' });
  });

  it('refuses another service account, another audience, a token without a node, an unauthenticated one and non-JWTs', async () => {
    const f = fakeReview();
    const a = auth(f.review);
    for (const t of ['other-sa', 'wrong-aud', 'no-node', 'expired']) expect(await a.authenticate(jwt(t))).toBeNull();
    expect(await a.authenticate('not a jwt')).toBeNull();
    expect(await a.authenticate('')).toBeNull();
    expect(f.calls).not.toContain('not a jwt');
  });

  it('asks the API server once per token within the cache time', async () => {
    const f = fakeReview();
    const a = auth(f.review);
    await a.authenticate(jwt('node-00000'));
    await a.authenticate(jwt('node-00000'));
    expect(f.calls).toHaveLength(1);
  });

  it('gives each node its own agent key', () => {
    const k = agentKeys(Buffer.alloc(32, 7));
    expect(k.keyFor('node-a')).not.toBe(k.keyFor('node-b'));
    expect(k.keyFor('node-a')).toBe(agentKeys(Buffer.alloc(32, 7)).keyFor('node-a'));
  });
});

describe('TokenReview through the API server', () => {
  const servers: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    while (servers.length) await servers.pop()!.close();
  });

  it('posts the token with the audience and reads user, audiences and the node claim', async () => {
    const api = Fastify();
    const seen: unknown[] = [];
    api.post('/apis/authentication.k8s.io/v1/tokenreviews', async (req) => {
      seen.push(req.body);
      const spec = (req.body as { spec: { token: string; audiences: string[] } }).spec;
      return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status: { authenticated: true, audiences: spec.audiences, user: { username: SA, extra: { [NODE_NAME_CLAIM]: ['node-7'] } } } };
    });
    const url = await api.listen({ host: '127.0.0.1', port: 0 });
    servers.push(api);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'aggregator-sa-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const r = await tokenReviewer(kc)(jwt('node-7'), 'calico-diag');
    expect(r).toEqual({ ok: true, authenticated: true, username: SA, audiences: ['calico-diag'], extra: { [NODE_NAME_CLAIM]: ['node-7'] } });
    expect(seen).toEqual([expect.objectContaining({ kind: 'TokenReview', spec: { token: jwt('node-7'), audiences: ['calico-diag'] } })]);
  });

  it('is a typed failure when the API server does not answer', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'http://127.0.0.1:9' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const r = await tokenReviewer(kc, 2_000)(jwt('node-7'), 'calico-diag');
    expect(r.ok).toBe(false);
  });
});

describe('reports with node identities', () => {
  const setup = async (review = fakeReview().review) => {
    const registry = new Registry();
    const metrics = createAggregatorMetrics(registry);
    const logger = pino({ level: 'silent' });
    const store = new ReportStore();
    const clock = { now: () => Date.parse('2026-01-01T00:00:30.000Z'), monotonic: () => performance.now() };
    const engine = new CorrelationEngine({ store, correlate: () => ({ map: { nodes: [] }, findings: [] }), metrics, logger, clock, staleAfterIntervals: 3, debounceMs: 60_000 });
    const keys = agentKeys(Buffer.alloc(32, 1));
    const app = await buildAggregatorApp({ store, engine, metrics, registry, token: () => SHARED, authenticator: auth(review), agentKeyFor: keys.keyFor, logger, clock, staleAfterIntervals: 3 });
    const post = (node: number, token: string) =>
      app.inject({ method: 'POST', url: '/v1/reports', payload: JSON.stringify(toReport(meshSnapshot(node, 3, 1), { agentId: `agent-0000000${node}`, seq: 1 })), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    return { app, store, engine, post, keys };
  };

  // #16: one shared token carried no node identity: its holder could report in another node's name
  it('accepts a node’s report with its own token and hands it its agent key', async () => {
    const { post, store, engine, keys } = await setup();
    const res = await post(1, jwt('node-00001'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: true, node: 'node-00001', seq: 1, agentKey: keys.keyFor('node-00001') });
    expect(store.size).toBe(1);
    await engine.stop();
  });

  it('refuses a report for another node, and reports made with the readers’ shared token', async () => {
    const { post, store, app, engine } = await setup();
    const other = await post(0, jwt('node-00001'));
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ code: 'NODE_IDENTITY' });
    expect((await post(0, SHARED)).statusCode).toBe(403);
    expect((await post(0, 'garbage')).statusCode).toBe(401);
    expect(store.size).toBe(0);
    expect((await app.inject({ method: 'GET', url: '/v1/findings', headers: { authorization: `Bearer ${SHARED}` } })).statusCode).toBe(200);
    await engine.stop();
  });

  it('answers 503 to the caller, and only to it, when the API server cannot review a token', async () => {
    const { post, app, engine } = await setup(async () => ({ ok: false, message: 'connection refused' }));
    const res = await post(0, jwt('node-00000'));
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'AUTH_UNAVAILABLE' });
    expect((await app.inject({ method: 'GET', url: '/v1/findings', headers: { authorization: `Bearer ${SHARED}` } })).statusCode).toBe(200);
    await engine.stop();
  });
});
