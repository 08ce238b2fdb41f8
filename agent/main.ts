/**
 * The agent daemon: config → deps → HTTP server + snapshot loop (+ pusher). SIGTERM/SIGINT stop
 * the loop, close the server and exit 0.
 *
 * Design/concurrency of the snapshot loop: one snapshot at a time. The next one is scheduled when
 * the current one ends, `interval − elapsed` later (at once if it overran), so snapshots never
 * overlap. The loop keeps the latest and the previous result (the previous feeds rules about rising
 * counters, e.g. iptables-drops-rising, and the findings' firstSeen). Results are published by
 * replacing one object reference, which HTTP handlers read; the pusher gets each result through
 * `offer()`, which never blocks. A failing snapshot is logged and the loop goes on.
 */
import { untilStopSignal } from '../common/process.js';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Snapshot } from '../contract/snapshot.js';
import { captureRoutesFor } from './capture/routes.js';
import { runLocalChecks } from './checks/index.js';
import { atMostEvery, IPTABLES_READ_INTERVALS } from './collectors/cadence.js';
import { collectors as defaultCollectors, type CollectorRegistry } from './collectors/index.js';
import { createIptablesMemory, iptablesCollector } from './collectors/iptables.js';
import type { Host } from './collectors/types.js';
import { packageVersion as agentVersion, readTokenFile } from '../common/config.js';
import type { AgentConfig } from './config.js';
import { realHost } from './exec/host.js';
import { execRunner, killRunningCommands } from './exec/runner.js';
import { buildAgentApp, type LatestState } from './http/app.js';
import { countersRoutesFor } from './http/counters.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { createPusher, type Pusher, type Timers } from './push.js';
import { systemClock, type Clock } from '../common/clock.js';
import { takeSnapshot } from './snapshot.js';

export interface SnapshotLoop {
  start(): void;
  stop(): Promise<void>;
  latest(): LatestState | null;
  previous(): LatestState | null;
  /** resolves after the next snapshot completes (tests, `agent --once` style callers) */
  nextResult(): Promise<LatestState>;
}

export interface LoopDeps {
  intervalMs: number;
  clock: Clock;
  timers?: Timers;
  logger: Logger;
  /** takes one snapshot; `signal` aborts when the loop stops (shutdown) */
  snapshot: (signal: AbortSignal) => Promise<Snapshot>;
  /** called after each snapshot with its checks/findings; must not throw (errors are logged) */
  onResult?: (state: LatestState) => void;
  /** called before each snapshot (e.g. to re-read the token file) */
  beforeEach?: () => Promise<void>;
}

export const createSnapshotLoop = (deps: LoopDeps): SnapshotLoop => {
  const timers: Timers = deps.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  const log = deps.logger;
  let latest: LatestState | null = null;
  let previous: LatestState | null = null;
  let timer: unknown = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let waiters: ((s: LatestState) => void)[] = [];
  /** aborts the snapshot in progress when the loop stops */
  const stopping = new AbortController();

  /**
   * The iptables section as it was before the latest fresh read of it: a snapshot that reuses the
   * last read (agent/collectors/cadence.ts: the daemon reads iptables every second snapshot) is
   * checked against it, so rules about rising counters see the same rise as at the fresh read
   * instead of none (a finding would otherwise come and go every other snapshot).
   */
  let iptablesBefore: Snapshot['sections']['iptables'] | null = null;
  const previousForChecks = (snapshot: Snapshot): Snapshot | undefined => {
    if (latest === null) return undefined;
    const prev = latest.snapshot;
    if (snapshot.sections.iptables !== prev.sections.iptables) {
      iptablesBefore = prev.sections.iptables;
      return prev;
    }
    return iptablesBefore === null ? prev : { ...prev, sections: { ...prev.sections, iptables: iptablesBefore } };
  };

  const once = async (): Promise<void> => {
    await deps.beforeEach?.();
    if (stopped) return;
    const snapshot = await deps.snapshot(stopping.signal);
    if (stopped) return; // cut short by shutdown: not a result to publish
    const { checks, findings } = runLocalChecks({
      snapshot,
      previous: previousForChecks(snapshot),
      previousFindings: latest?.findings ?? [],
      now: snapshot.takenAt,
    });
    const state: LatestState = { snapshot, checks, findings, completedAt: deps.clock.now() };
    previous = latest;
    latest = state;
    const unavailable = Object.entries(snapshot.sections)
      .filter(([, s]) => s.status !== 'ok')
      .map(([n]) => n);
    log.info({ snapshot: { durationMs: snapshot.durationMs, unavailable, findings: findings.length } }, 'snapshot taken');
    try {
      deps.onResult?.(state);
    } catch (err) {
      log.error({ err }, 'publishing the snapshot failed');
    }
    const w = waiters;
    waiters = [];
    for (const f of w) f(state);
  };

  const tick = (): void => {
    timer = null;
    if (stopped) return;
    const started = deps.clock.monotonic();
    running = once()
      .catch((err: unknown) => log.error({ err }, 'snapshot failed'))
      .finally(() => {
        running = null;
        if (stopped) return;
        const elapsed = deps.clock.monotonic() - started;
        timer = timers.setTimeout(tick, Math.max(0, deps.intervalMs - elapsed));
      });
  };

  return {
    start: () => {
      if (!stopped && timer === null && running === null) tick();
    },
    stop: async () => {
      stopped = true;
      stopping.abort();
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      if (running) await running;
    },
    latest: () => latest,
    previous: () => previous,
    nextResult: () => new Promise((resolve) => waiters.push(resolve)),
  };
};

export interface AgentRuntimeDeps {
  config: AgentConfig;
  token: string;
  logger: Logger;
  registry?: Registry;
  host?: Host;
  clock?: Clock;
  collectors?: CollectorRegistry;
  fetch?: typeof fetch;
  /** more authenticated /v1 routes, besides the captures/probes routes (agent/capture/routes.ts) */
  extraRoutes?: FastifyPluginAsync[];
}

export interface RunningAgent {
  app: FastifyInstance;
  loop: SnapshotLoop;
  metrics: AgentMetrics;
  pusher: Pusher | null;
  /** http://host:port the server listens on */
  address: string;
  stop(): Promise<void>;
}

/**
 * Without --advertise-url the aggregator is told http://<listen host>:<port>, or, when listening on
 * a wildcard address, http://<first node IP>:<port> (the node IP peers already use).
 */
export const defaultAdvertiseUrl = (listen: AgentConfig['listen'], nodeIPs: readonly string[]): string | undefined => {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '';
  const host = wildcard ? nodeIPs[0] : listen.host;
  if (!host || (wildcard && listen.port === 0)) return undefined;
  return `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
};

/** /healthz turns 503 when the latest snapshot is older than this. */
export const staleAfterMs = (config: Pick<AgentConfig, 'intervalSeconds' | 'commandTimeoutMs'>): number =>
  3 * config.intervalSeconds * 1000 + 2 * config.commandTimeoutMs;

/**
 * How long one snapshot may take before late collectors are reported unavailable('timeout'):
 * most of an interval, so a hung command costs at most one late snapshot, never a stalled loop.
 */
export const snapshotDeadlineMs = (intervalSeconds: number): number => Math.max(5_000, Math.floor(intervalSeconds * 800));

/**
 * The daemon's collectors (#17): iptables is dumped and parsed every second snapshot (still within
 * two intervals of any change, agent/collectors/cadence.ts), and the ipsets are read with it: on
 * the snapshots in between neither runs, so neither `ipset save` nor the `nft list chains`
 * probe the two share within a snapshot (agent/collectors/nftables.ts) is paid there (~0.2 s of
 * CPU a snapshot on a 100k-rule node, bench/results-agent.md). The others run every snapshot.
 * The default iptables collector remembers its last reduction and a stage-1 backend decision
 * (`IptablesMemory`): a read re-reduces only the chains whose rules changed and asks for no
 * hint chains while its dumps still hold them.
 */
export const daemonCollectors = (
  intervalSeconds: number,
  monotonic: () => number,
  base: CollectorRegistry = { ...defaultCollectors, iptables: iptablesCollector(createIptablesMemory()) },
): CollectorRegistry => {
  const readEveryMs = IPTABLES_READ_INTERVALS * intervalSeconds * 1000;
  return { ...base, iptables: atMostEvery(base.iptables, readEveryMs, monotonic), ipsets: atMostEvery(base.ipsets, readEveryMs, monotonic) };
};

/** Builds everything, listens and starts the loop. */
export const startAgent = async (deps: AgentRuntimeDeps): Promise<RunningAgent> => {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  const registry = deps.registry ?? new Registry();
  const metrics = createAgentMetrics(registry);
  const host = deps.host ?? realHost(execRunner);
  const version = agentVersion();
  let token = deps.token;
  /** given by the aggregator with accepted reports (node identities): what it presents to us */
  let agentKey = '';
  const log = deps.logger;

  const pusher = config.aggregatorUrl
    ? createPusher({
        aggregatorUrl: config.aggregatorUrl,
        token: () => token,
        node: config.nodeName,
        intervalSeconds: config.intervalSeconds,
        agentVersion: version,
        advertiseUrl: config.advertiseUrl ?? ((snap: Snapshot) => defaultAdvertiseUrl(config.listen, snap.identity.nodeIPs)),
        now: () => clock.now(),
        logger: log.child({ component: 'push' }),
        onOutcome: (o) => metrics.countPush(o),
        onAgentKey: (k) => {
          agentKey = k;
        },
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      })
    : null;

  // tests' own registries are used as given
  const collectorRegistry: CollectorRegistry = deps.collectors ?? daemonCollectors(config.intervalSeconds, () => clock.monotonic());
  const loopLog = log.child({ component: 'loop' });
  const loop = createSnapshotLoop({
    intervalMs: config.intervalSeconds * 1000,
    clock,
    logger: loopLog,
    beforeEach: async () => {
      const t = await readTokenFile(config.tokenFile);
      if (t.ok) token = t.token;
      else loopLog.warn({ tokenFile: config.tokenFile, problem: t.message }, 'cannot re-read the token file; keeping the previous token');
    },
    snapshot: (signal) =>
      takeSnapshot({
        host,
        signal,
        deadlineMs: snapshotDeadlineMs(config.intervalSeconds),
        config: { timeoutMs: config.commandTimeoutMs, felixHealthUrl: config.felixHealthUrl, birdSocket: config.birdSocket },
        node: config.nodeName,
        clock,
        agentVersion: version,
        collectors: collectorRegistry,
      }),
    onResult: (s) => {
      metrics.observeSnapshot(s.snapshot);
      metrics.setFindings(s.findings);
      pusher?.offer({ snapshot: s.snapshot, checks: s.checks, findings: s.findings });
    },
  });

  const app = buildAgentApp({
    logger: log,
    registry,
    token: () => token,
    agentKey: () => agentKey,
    latest: () => loop.latest(),
    now: () => clock.now(),
    staleAfterMs: staleAfterMs(config),
    extraRoutes: [...(deps.extraRoutes ?? []), captureRoutesFor({ runner: host.run, logger: log, node: config.nodeName, now: () => clock.now(), latest: () => loop.latest(), previous: () => loop.previous(), fullPayload: config.capturePayload, tracefs: config.tracefs }),
      countersRoutesFor({ host, node: config.nodeName, now: () => clock.now(), config: { timeoutMs: config.commandTimeoutMs, felixHealthUrl: config.felixHealthUrl, birdSocket: config.birdSocket } }),
    ],
  });
  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  log.info({ listen: address, node: config.nodeName, intervalSeconds: config.intervalSeconds, aggregator: config.aggregatorUrl ?? null }, 'agent started');
  loop.start();

  return {
    app,
    loop,
    metrics,
    pusher,
    address,
    stop: async () => {
      await loop.stop();
      await pusher?.stop();
      await app.close();
    },
  };
};

/** SIGTERM ends the agent within this, even mid-snapshot (well inside a pod's 30 s grace period). */
export const SHUTDOWN_BUDGET_MS = 4_000;

/** The process entry used by `calico-diag agent`: starts, then waits for SIGTERM/SIGINT. */
export const runAgentProcess = async (config: AgentConfig, token: string): Promise<void> => {
  const logger = pino({ base: { component: 'agent', node: config.nodeName } });
  const agent = await startAgent({ config, token, logger });
  await untilStopSignal(logger);
  // #16: the pod's grace period must be enough: whatever is still running after this is cut
  const force = setTimeout(() => {
    logger.warn({ killedCommands: killRunningCommands() }, 'shutdown took too long; exiting');
    process.exit(0);
  }, SHUTDOWN_BUDGET_MS);
  force.unref();
  await agent.stop();
  clearTimeout(force);
  logger.info('stopped');
};
