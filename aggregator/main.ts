/**
 * Wires the aggregator: config → store, metrics, engine, app → listen. `startAggregator` returns a
 * handle whose `stop()` closes the server (in-flight requests finish), stops the engine timers
 * and waits for a running pass. State lives in the handle (store, engine, token), never in module
 * scope; the token file is re-read every 30 s so a rotated token takes effect.
 */
import { untilStopSignal } from '../common/process.js';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { collectProcessMetrics } from '../common/metrics.js';
import { packageVersion, readTokenFile } from '../common/config.js';
import type { Collected } from '../contract/result.js';
import type { AggregatorConfig } from './config.js';
import { correlate as realCorrelate, correlateRules } from './correlate/index.js';
import type { DatastoreView } from './correlate/types.js';
import { systemClock, type Clock } from '../common/clock.js';
import { CorrelationEngine, type CorrelateFn } from './engine.js';
import { buildAggregatorApp, type AppExtension } from './http/app.js';
import { diagnoseExtension } from './http/diagnose.js';
import { loadKubeConfig, readDatastore } from './k8s/datastore.js';
import { createAggregatorMetrics, type AggregatorMetrics } from './metrics.js';
import { ReportStore } from './cluster/store.js';
import { agentKeys, kubernetesAuthenticator, sharedTokenAuthenticator, type Authenticator, type KubernetesAuthOptions } from './auth/identity.js';
import { verifiedAgentUrl } from './auth/agent-url.js';
import type { AgentView } from './diagnose/orchestrate.js';
import { tokenReviewer } from './k8s/token-review.js';
import { cachedPolicyIndex, readPolicies } from './k8s/policies.js';
import type { PolicyIndex } from './diagnose/policy-names.js';

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
  /** the datastore's policies as a chain-name index, for naming policy chains in diagnoses (#18) */
  policies?: () => Promise<PolicyIndex | undefined>;
  /** with --auth kubernetes: asks the API server who a token belongs to (TokenReview) */
  review?: KubernetesAuthOptions['review'];
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
  if (o.processMetrics !== false) collectProcessMetrics(registry, 'calico_diag_aggregator_');
  const metrics = createAggregatorMetrics(registry, { maxActiveSeries: o.config.maxFindingSeries });
  const clock = o.clock ?? systemClock;
  const store = new ReportStore();
  // the engine's datastore reads, remembered for the report gate: which node names exist (#16)
  let known: { view: DatastoreView; names: ReadonlySet<string> } | undefined;
  const datastore = o.datastore
    ? async () => {
        const view = await o.datastore!();
        if (view && view !== known?.view) known = { view, names: new Set(view.nodes.map((n) => n.name)) };
        if (!view) known = undefined;
        return view;
      }
    : undefined;
  let token = o.token;
  const engine = new CorrelationEngine({
    store,
    correlate: o.correlate ?? realCorrelate,
    metrics,
    logger: log,
    clock,
    staleAfterIntervals: o.config.staleIntervals,
    ruleIds: correlateRules.map((r) => r.id),
    ...(datastore ? { datastore } : {}),
    ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
    ...(o.periodicMs !== undefined ? { periodicMs: o.periodicMs } : {}),
  });
  // #16: who may report for which node, and which credential opens which node's agent
  let authenticator: Authenticator;
  let agentCredential: (node: string) => string = () => token;
  let agentKeyFor: ((node: string) => string) | undefined;
  if (o.config.auth === 'kubernetes') {
    if (!o.review) throw new Error('--auth kubernetes needs the Kubernetes API (TokenReview): no kubeconfig or in-cluster service account found');
    authenticator = kubernetesAuthenticator({ review: o.review, serviceAccount: o.config.agentServiceAccount, audience: o.config.agentAudience, shared: () => token, now: () => clock.now() });
    agentKeyFor = agentKeys().keyFor;
    agentCredential = agentKeyFor;
  } else authenticator = sharedTokenAuthenticator(() => token);
  const agentView = (node: string): AgentView | null => {
    const r = store.get(node)?.report;
    // routes: whether the diagnosed path is tunnelled or direct (#19)
    return r ? { identity: r.identity, mode: r.mode, sections: { routes: r.sections.routes }, agentUrl: verifiedAgentUrl(r.agentUrl, r.identity.nodeIPs) } : null;
  };
  const app = await buildAggregatorApp({
    store,
    engine,
    metrics,
    registry,
    token: () => token,
    authenticator,
    ...(agentKeyFor ? { agentKeyFor } : {}),
    knownNodes: () => known?.names ?? null,
    maxNodes: o.config.maxNodes,
    logger: log,
    clock,
    staleAfterIntervals: o.config.staleIntervals,
    bodyLimit: o.config.bodyLimit,
    version: packageVersion(),
    extensions: [
      diagnoseExtension({ clusterMap: () => engine.clusterMap(), findings: () => engine.findings(), agent: agentView, token: agentCredential, now: () => clock.now(), logger: log, ...(o.policies ? { policies: o.policies } : {}), ...(o.config.agentCallTimeoutMs !== undefined ? { agentCallTimeoutMs: o.config.agentCallTimeoutMs } : {}), countVerdict: (v) => metrics.diagnosesTotal.inc({ verdict: v }) }),
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
  log.info({ listen: address, staleIntervals: o.config.staleIntervals, bodyLimit: o.config.bodyLimit, kube: o.config.kube, maxFindingSeries: o.config.maxFindingSeries }, 'aggregator started');
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

/**
 * The datastore as the engine reads it: re-listed at most every `ttlMs` (a 5000-node list on every
 * pass would load the API server for nothing), undefined while unavailable. The closure holds the
 * last view; one read at a time.
 */
export const cachedDatastore = (
  read: () => Promise<Collected<DatastoreView>>,
  opts: { ttlMs: number; now: () => number; logger: Logger },
): (() => Promise<DatastoreView | undefined>) => {
  let last: { at: number; view: DatastoreView | undefined } | undefined;
  let inflight: Promise<DatastoreView | undefined> | undefined;
  let lastProblem: string | undefined;
  return () => {
    if (last && opts.now() - last.at < opts.ttlMs) return Promise.resolve(last.view);
    inflight ??= read()
      .then((r) => {
        const view = r.status === 'ok' ? r.data : undefined;
        const problem = r.status === 'ok' ? undefined : `${r.reason}: ${r.detail}`;
        if (problem !== lastProblem) {
          if (problem) opts.logger.warn({ datastore: { problem } }, 'datastore unavailable; datastore rules do not run');
          else opts.logger.info({ datastore: { nodes: view?.nodes.length, missing: view?.missing } }, 'datastore readable');
        }
        lastProblem = problem;
        last = { at: opts.now(), view };
        return view;
      })
      .finally(() => (inflight = undefined));
    return inflight;
  };
};

/** --kube auto: the in-cluster service account or a kubeconfig when there is one; off: none. */
export const datastoreFor = (config: AggregatorConfig, logger: Logger, now: () => number): StartAggregatorOptions['datastore'] => {
  if (config.kube === 'off') return undefined;
  const kc = loadKubeConfig();
  if (kc.status !== 'ok') {
    logger.info({ datastore: { problem: kc.detail } }, 'no Kubernetes config; correlating the reports alone');
    return undefined;
  }
  return cachedDatastore(() => readDatastore(kc.data), { ttlMs: 60_000, now, logger });
};

/** --kube auto: the datastore's policies (re-listed at most every 30 s) for diagnoses; off: none. */
export const policiesFor = (config: AggregatorConfig, logger: Logger, now: () => number): StartAggregatorOptions['policies'] => {
  if (config.kube === 'off') return undefined;
  const kc = loadKubeConfig();
  if (kc.status !== 'ok') return undefined;
  return cachedPolicyIndex(() => readPolicies(kc.data), { ttlMs: 30_000, now, logger });
};

/** The process entry used by `calico-diag aggregator`: starts, then waits for SIGTERM/SIGINT. */
export const runAggregatorProcess = async (config: AggregatorConfig, token: string, extras: Partial<StartAggregatorOptions> = {}): Promise<void> => {
  const logger = pino({ base: { component: 'aggregator' } });
  const datastore = datastoreFor(config, logger.child({ component: 'k8s' }), Date.now);
  const policies = policiesFor(config, logger.child({ component: 'k8s' }), Date.now);
  const kc = config.auth === 'kubernetes' ? loadKubeConfig() : null;
  const review = kc?.status === 'ok' ? tokenReviewer(kc.data) : undefined;
  const handle = await startAggregator({ config, token, logger, ...(datastore ? { datastore } : {}), ...(policies ? { policies } : {}), ...(review ? { review } : {}), ...extras });
  await untilStopSignal(logger);
  await handle.stop();
  logger.info('stopped');
};
