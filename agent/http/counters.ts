/**
 * GET /v1/counters (#18): the node's DROP/REJECT rules with their counters, read now. A diagnosis
 * reads them just before its probes and after its capture window and names the rules whose
 * counters rose with the probes. Reads through the iptables collector (same backend detection,
 * timeouts and output cap as the snapshot). One read at a time: concurrent requests share the
 * read in flight, so a client looping on it costs one iptables-save at a time.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { RuleCounters } from '../../contract/counters.js';
import { collectIptables } from '../collectors/iptables.js';
import type { CollectorConfig, Host } from '../collectors/types.js';

export interface CountersWiring {
  host: Host;
  config: CollectorConfig;
  node: string;
  /** epoch ms */
  now: () => number;
}

export const readRuleCounters = async (w: CountersWiring): Promise<RuleCounters> => {
  let r: Awaited<ReturnType<typeof collectIptables>>;
  try {
    r = await collectIptables(w.host, w.config, { linkNames: null, uplinks: [] });
  } catch (err) {
    return { node: w.node, takenAt: new Date(w.now()).toISOString(), backend: null, status: 'unavailable', reason: `error: ${(err as Error).message}`, rules: [] };
  }
  const takenAt = new Date(w.now()).toISOString();
  if (r.status !== 'ok') return { node: w.node, takenAt, backend: null, status: 'unavailable', reason: `${r.reason}: ${r.detail}`, rules: [] };
  return { node: w.node, takenAt, backend: r.data.backend, status: 'ok', rules: r.data.dropRules };
};

export const countersRoutesFor = (w: CountersWiring): FastifyPluginAsync => {
  let inFlight: Promise<RuleCounters> | undefined;
  return async (app) => {
    app.get('/v1/counters', async () => {
      inFlight ??= readRuleCounters(w).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    });
  };
};
