/**
 * GET /v1/version: the aggregator's own version and the agent versions its nodes report (how many
 * nodes run each), for `calico-diag version`. Reads the store; mutates nothing.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AggregatorAppDeps } from './app.js';
import { errorResponses, VersionResponse } from './schemas.js';

export const versionRoutes = (scope: FastifyInstance, deps: AggregatorAppDeps): void => {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.get('/v1/version', { schema: { summary: 'Aggregator version and the agent versions reported', response: { 200: VersionResponse, 401: errorResponses[401] } } }, async () => {
    const counts = new Map<string, number>();
    for (const s of deps.store.nodes()) counts.set(s.report.agentVersion, (counts.get(s.report.agentVersion) ?? 0) + 1);
    const agents = [...counts]
      .map(([version, nodes]) => ({ version, nodes }))
      .sort((a, b) => b.nodes - a.nodes || a.version.localeCompare(b.version));
    return { version: deps.version ?? 'unknown', agents };
  });
};
