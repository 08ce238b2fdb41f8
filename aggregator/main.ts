/**
 * Wires the aggregator: config → store, metrics, engine, app → listen. `startAggregator` returns a
 * handle whose `stop()` closes the server (in-flight requests finish), stops the engine timers
 * and waits for a running pass. State lives in the handle (store, engine, token), never in module
 * scope; the token file is re-read every 30 s so a rotated token takes effect.
 */
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { agentVersion, readTokenFile } from '../agent/config.js';
import type { AggregatorConfig } from './config.js';
import { correlate as realCorrelate, correlateRules } from './correlate/index.js';
import type { DatastoreView } from './correlate/types.js';
import { CorrelationEngine, systemClock, type Clock, type CorrelateFn } from './engine.js';
import { buildAggregatorApp, type AppExtension } from './http/app.js';
import { diagnoseExtension } from './http/diagnose.js';
import { createAggregatorMetrics, type AggregatorMetrics } from './metrics.js';
import { ReportStore } from './store.js';

export interface StartAggregatorOptions {
  config: AggregatorConfig;
  token: string;
  logger: Logger;
  clock?: Clock;
  correlate?: CorrelateFn;
  /** the datastore view (aggregator/k8s), when --kube is not off */
  datastore?: () => Promise<DatastoreView | undefined>;
  extensions?: readonly AppExtension[];
  registry?: Registry;
  debounceMs?: number;
  periodicMs?: number;
  /** collect process metrics (CPU, memory, GC) on the registry; default true */
  processMetrics?: boolean;
}

export interface AggregatorHandle {
  address: string;
  store: ReportStore;
  engine: CorrelationEngine;
  metrics: AggregatorMetrics;
  registry: Registry;
  stop(): Promise<void>;
}

export const startAggregator = async (o: StartAggregatorOptions): Promise<AggregatorHandle> => {
  const log = o.logger;
  const registry = o.registry ?? new Registry();
  if (o.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'calico_diag_aggregator_' });
  const metrics = createAggregatorMetrics(registry);
  const clock = o.clock ?? systemClock;
  const store = new ReportStore();
  let token = o.token;
  const engine = new CorrelationEngine({
    store,
    correlate: o.correlate ?? realCorrelate,
    metrics,
    logger: log,
    clock,
    staleAfterIntervals: o.config.staleIntervals,
    ruleIds: correlateRules.map((r) => r.id),
    ...(o.datastore ? { datastore: o.datastore } : {}),
    ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
    ...(o.periodicMs !== undefined ? { periodicMs: o.periodicMs } : {}),
  });
  const app = await buildAggregatorApp({
    store,
    engine,
    metrics,
    registry,
    token: () => token,
    logger: log,
    clock,
    staleAfterIntervals: o.config.staleIntervals,
    bodyLimit: o.config.bodyLimit,
    version: agentVersion(),
    extensions: [
      diagnoseExtension({ clusterMap: () => engine.clusterMap(), findings: () => engine.findings(), agent: (n) => store.get(n)?.report ?? null, token: () => token, now: () => clock.now(), logger: log, countVerdict: (v) => metrics.diagnosesTotal.inc({ verdict: v }) }),
      ...(o.extensions ?? []),
    ],
  });
  const address = await app.listen({ host: o.config.listen.host, port: o.config.listen.port });
  engine.start();
  const tokenLog = log.child({ component: 'token' });
  const reread = setInterval(() => {
    void readTokenFile(o.config.tokenFile).then((t) => {
      if (t.ok) token = t.token;
      else tokenLog.warn({ tokenFile: o.config.tokenFile, problem: t.message }, 'cannot re-read the token file; keeping the previous token');
    });
  }, 30_000);
  reread.unref();
  log.info({ listen: address, staleIntervals: o.config.staleIntervals, bodyLimit: o.config.bodyLimit, kube: o.config.kube }, 'aggregator started');
  return {
    address,
    store,
    engine,
    metrics,
    registry,
    stop: async () => {
      clearInterval(reread);
      await app.close();
      await engine.stop();
    },
  };
};

/** The process entry used by `calico-diag aggregator`: starts, then waits for SIGTERM/SIGINT. */
export const runAggregatorProcess = async (config: AggregatorConfig, token: string, extras: Partial<StartAggregatorOptions> = {}): Promise<void> => {
  const logger = pino({ base: { component: 'aggregator' } });
  const handle = await startAggregator({ config, token, logger, ...extras });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await handle.stop();
  logger.info('stopped');
};
