/**
 * TokenReview through the API server (authentication.k8s.io/v1): the aggregator's only use of it is
 * to learn which node an agent's projected service-account token belongs to. Bounded by a timeout;
 * every failure is a typed result. Stateless.
 */
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ReviewResult } from '../auth/identity.js';

export const tokenReviewer =
  (kc: KubeConfig, timeoutMs = 5_000) =>
  async (token: string, audience: string): Promise<ReviewResult> => {
    try {
      const api = kc.makeApiClient(AuthenticationV1Api);
      const review = api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } } });
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref());
      const r = await Promise.race([review, timeout]);
      const status = r.status ?? {};
      return {
        ok: true,
        authenticated: status.authenticated === true,
        username: status.user?.username ?? '',
        audiences: status.audiences ?? [],
        extra: status.user?.extra ?? {},
      };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  };
