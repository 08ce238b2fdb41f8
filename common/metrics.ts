import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's process/Node.js metrics, less the three gauges it names with a `_total` suffix
 * (`nodejs_active_{handles,requests,resources}_total`), which `promtool check metrics` rejects:
 * a `_total` suffix promises a counter. The unsuffixed `nodejs_active_*` gauges carry the same values.
 * `eventLoopSampleMs`: how often the event-loop delay histogram behind `nodejs_eventloop_lag_*`
 * samples (prom-client's default: every 10 ms, a timer that alone costs ~0.3 % of a core, #17).
 */
export const collectProcessMetrics = (registry: Registry, prefix = '', opts: { eventLoopSampleMs?: number } = {}): void => {
  collectDefaultMetrics({ register: registry, prefix, ...(opts.eventLoopSampleMs !== undefined ? { eventLoopMonitoringPrecision: opts.eventLoopSampleMs } : {}) });
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`${prefix}nodejs_${name}`);
  }
};

/**
 * A metric label value from outside data (node and device names, chain names, peers in reports):
 * at most 128 characters of [A-Za-z0-9_.:/@+-], anything else replaced by `_`, so a value cannot
 * smuggle control characters, quotes or new lines into an exposition or a dashboard (#16).
 */
export const safeLabel = (value: string): string => value.slice(0, 128).replace(/[^A-Za-z0-9_.:/@+-]/g, '_');
