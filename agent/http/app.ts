/**
 * The agent's HTTP API. `buildAgentApp(deps)` builds the fastify instance and never listens
 * (agent/main.ts does); tests use `app.inject()`.
 *
 *   GET /healthz      no auth. 200 {status:'ok', snapshotAgeSeconds, …}; 503 while no snapshot has
 *                     been taken yet ('starting') or when the latest is older than `staleAfterMs`
 *                     ('stale': the loop is wedged).
 *   GET /metrics      no auth. Prometheus text of the registry passed in.
 *   GET /v1/snapshot  bearer token. The latest snapshot with its checks and findings.
 *   + `extraRoutes`   plugins (captures, probes) registered inside the authenticated /v1 scope.
 *
 * Stateless: the latest state is read through `deps.latest()` on every request.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { installErrorHandler, NotFound, requireBearer } from '../../common/http.js';
import { serverTimeoutOptions, type ServerTimeouts } from '../../common/server-timeouts.js';
import type { CheckStatus, Finding } from '../../contract/finding.js';
import type { Snapshot } from '../../contract/snapshot.js';

export interface LatestState {
  snapshot: Snapshot;
  checks: CheckStatus[];
  findings: Finding[];
  /** epoch ms when the snapshot finished */
  completedAt: number;
}

export interface AgentDeps {
  logger: Logger;
  registry: Registry;
  token: () => string;
  /** the key the aggregator presents when it calls this agent (node identities, #16); '' until one is given */
  agentKey?: () => string;
  latest: () => LatestState | null;
  /** epoch ms */
  now: () => number;
  /** /healthz answers 503 when the latest snapshot is older than this */
  staleAfterMs: number;
  /** Plugins registered with bearer auth already applied, e.g. the captures and probes routes (agent/http/captures.ts). */
  extraRoutes?: FastifyPluginAsync[];
  /** request, header, idle and keep-alive timeouts (default DEFAULT_SERVER_TIMEOUTS) */
  timeouts?: ServerTimeouts;
}

export const buildAgentApp = (deps: AgentDeps): FastifyInstance => {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // probes and scrapes every few seconds would drown the log; /v1 requests are logged
    logController: new LogController({ disableRequestLogging: (req) => req.url === '/healthz' || req.url === '/metrics' }),
    bodyLimit: 1024 * 1024,
    ...serverTimeoutOptions(deps.timeouts),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);

  app.get('/healthz', async (_req, reply) => {
    const latest = deps.latest();
    if (!latest) return reply.code(503).send({ status: 'starting', message: 'no snapshot taken yet' });
    const ageMs = Math.max(0, deps.now() - latest.completedAt);
    const body = { snapshotAgeSeconds: Math.round(ageMs / 100) / 10, lastSnapshotAt: latest.snapshot.takenAt, node: latest.snapshot.node };
    if (ageMs > deps.staleAfterMs) {
      return reply.code(503).send({ status: 'stale', message: `latest snapshot is older than ${Math.round(deps.staleAfterMs / 1000)} s`, ...body });
    }
    return { status: 'ok', ...body };
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(text);
  });

  app.register(async (v1) => {
    v1.addHook('onRequest', requireBearer(() => [deps.token(), deps.agentKey?.() ?? '']));
    v1.get('/v1/snapshot', async () => {
      const latest = deps.latest();
      if (!latest) throw new NotFound('no snapshot taken yet');
      return { snapshot: latest.snapshot, checks: latest.checks, findings: latest.findings };
    });
    for (const plugin of deps.extraRoutes ?? []) await v1.register(plugin);
  });

  return app;
};
