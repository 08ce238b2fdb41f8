/**
 * Who is calling the aggregator (#16). Two modes:
 *
 * - `shared`: one bearer token for every agent and every reader (the lab, use outside Kubernetes).
 *   Weaker: its holder may report in any node's name.
 * - `kubernetes`: each agent presents its pod's projected service-account token, bound to the
 *   audience `calico-diag`. The aggregator verifies it with a TokenReview; the token's claims carry
 *   the node the pod runs on (`authentication.kubernetes.io/node-name`), and that node is the only
 *   one the caller may report for. The shared token still reads (CLI users), but cannot report.
 *
 * The aggregator calls agents (captures, probes) with a per-node key, `agentKeyFor(node)`: an HMAC of
 * the node name under a secret only the aggregator holds, handed to each agent in the answer to its
 * own verified report. A key opens one node's agent and no other, so the aggregator's credentials
 * reach no one but the node they are for.
 *
 * State: the TokenReview cache (token digest → caller, until `cacheMs` passes), bounded in size.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { tokenMatches } from '../../common/http.js';

export type Caller = { kind: 'shared' } | { kind: 'node'; node: string };

export interface Authenticator {
  readonly mode: 'shared' | 'kubernetes';
  /** null: not a valid credential */
  authenticate(token: string): Promise<Caller | null>;
}

export const sharedTokenAuthenticator = (expected: () => string): Authenticator => ({
  mode: 'shared',
  authenticate: async (token) => (tokenMatches(token, expected()) ? { kind: 'shared' } : null),
});

/** What a TokenReview said of a token (aggregator/k8s/token-review.ts asks the API server). */
export type ReviewResult =
  | { ok: true; authenticated: boolean; username: string; audiences: string[]; extra: Record<string, string[]> }
  | { ok: false; message: string };

export const NODE_NAME_CLAIM = 'authentication.kubernetes.io/node-name';
export const DEFAULT_AGENT_AUDIENCE = 'calico-diag';

export interface KubernetesAuthOptions {
  review: (token: string, audience: string) => Promise<ReviewResult>;
  /** the agents' service account, `namespace:name` */
  serviceAccount: string;
  audience?: string;
  /** the readers' shared token (may be empty: no shared readers) */
  shared: () => string;
  now: () => number;
  cacheMs?: number;
  maxCached?: number;
}

export const kubernetesAuthenticator = (o: KubernetesAuthOptions): Authenticator => {
  const audience = o.audience ?? DEFAULT_AGENT_AUDIENCE;
  const [ns, name] = o.serviceAccount.split(':');
  const username = `system:serviceaccount:${ns}:${name}`;
  const cacheMs = o.cacheMs ?? 60_000;
  const maxCached = o.maxCached ?? 20_000;
  const cache = new Map<string, { caller: Caller | null; until: number }>();
  return {
    mode: 'kubernetes',
    authenticate: async (token) => {
      if (token === '') return null;
      if (tokenMatches(token, o.shared())) return { kind: 'shared' };
      // service-account tokens are JWTs: anything else is not worth a round trip to the API server
      if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token) || token.length > 8192) return null;
      const key = createHash('sha256').update(token).digest('base64');
      const now = o.now();
      const held = cache.get(key);
      if (held && held.until > now) return held.caller;
      const r = await o.review(token, audience);
      if (!r.ok) throw new Error(`TokenReview failed: ${r.message}`);
      const node = r.extra[NODE_NAME_CLAIM]?.[0];
      const caller: Caller | null = r.authenticated && r.username === username && r.audiences.includes(audience) && node ? { kind: 'node', node } : null;
      if (cache.size >= maxCached) cache.clear();
      cache.set(key, { caller, until: now + cacheMs });
      return caller;
    },
  };
};

/** Per-node keys for calling agents, under a secret made at start (agents learn new keys within an interval). */
export const agentKeys = (secret: Buffer = randomBytes(32)) => ({
  keyFor: (node: string): string => createHmac('sha256', secret).update(`calico-diag agent ${node}`).digest('base64url'),
});
