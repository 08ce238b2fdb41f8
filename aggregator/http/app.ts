/**
 * The aggregator's fastify app. `buildAggregatorApp(deps)` never listens (main.ts does; tests use
 * inject()). Open: /healthz, /readyz, /metrics, /docs/json. Everything under /v1 needs the bearer
 * token (or the same token in X-Calico-Diag-Token), including the routes extensions add
 * (`extensions`, e.g. /v1/diagnose).
 */
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { installErrorHandler } from '../../common/http.js';
import type { Clock } from '../../common/clock.js';
import { sharedTokenAuthenticator, type Authenticator } from '../auth/identity.js';
import { authenticate } from './caller.js';
import { serverTimeoutOptions, type ServerTimeouts } from '../../common/server-timeouts.js';
import type { CorrelationEngine } from '../engine.js';
import type { AggregatorMetrics } from '../metrics.js';
import type { ReportStore } from '../cluster/store.js';
import { queryRoutes } from './query.js';
import { reportRoutes } from './reports.js';
import { versionRoutes } from './version.js';
import { Health, Ready } from './schemas.js';

export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;

/** The header the kubectl plugin sends the token in (the API server proxy drops Authorization). */
export const TOKEN_HEADER = 'x-calico-diag-token';

/** Adds routes to the authenticated /v1 scope (the bearer hook already applies). */
export type AppExtension = (scope: FastifyInstance) => Promise<void> | void;

export interface AggregatorAppDeps {
  store: ReportStore;
  engine: CorrelationEngine;
  metrics: AggregatorMetrics;
  registry: Registry;
  /** the expected bearer token, read per request so a rotated token file takes effect */
  token: () => string;
  /** who may call /v1 (default: the shared token); in `kubernetes` mode agents report only for their own node */
  authenticator?: Authenticator;
  /** the key an agent is given, with its accepted report, for the aggregator's calls to it */
  agentKeyFor?: (node: string) => string;
  /** the cluster's node names from the datastore; null while it is unavailable (then `maxNodes` bounds the store) */
  knownNodes?: () => ReadonlySet<string> | null;
  /** reports from more nodes than this are refused while the datastore cannot say which exist */
  maxNodes?: number;
  logger: Logger;
  clock: Clock;
  staleAfterIntervals: number;
  bodyLimit?: number;
  /** reports read and ingested at once; the rest wait before their body is read (default 4) */
  maxConcurrentReports?: number;
  extensions?: readonly AppExtension[];
  version?: string;
  /** request, header, idle and keep-alive timeouts (default DEFAULT_SERVER_TIMEOUTS) */
  timeouts?: ServerTimeouts;
}

export const buildAggregatorApp = async (deps: AggregatorAppDeps): Promise<FastifyInstance> => {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // reports arrive ~N/interval per second: per-request logs would drown everything else
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // node names are up to 253 characters (RFC 1123); the default 100 would answer 414 to real names
    routerOptions: { maxParamLength: 512 },
    ...serverTimeoutOptions(deps.timeouts),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'calico-diag aggregator', description: 'Cross-node Calico dataplane findings', version: deps.version ?? '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });

  const open = app.withTypeProvider<ZodTypeProvider>();
  open.get('/healthz', { schema: { summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' }));
  open.get('/readyz', { schema: { summary: 'Readiness', response: { 200: Ready } } }, async () => ({
    status: 'ready' as const,
    nodes: deps.store.size,
    lastPass: deps.engine.lastPass()?.at ?? null,
  }));
  open.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(text);
  });
  open.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (v1) => {
    v1.addHook('onRequest', authenticate(deps.authenticator ?? sharedTokenAuthenticator(deps.token), { altHeader: TOKEN_HEADER }));
    v1.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: [{ bearer: [] }] };
    });
    reportRoutes(v1, deps);
    queryRoutes(v1, deps);
    versionRoutes(v1, deps);
    for (const extend of deps.extensions ?? []) await extend(v1);
  });
  return app;
};
