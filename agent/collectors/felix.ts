/**
 * Felix health: GET <felixHealthUrl>/readiness and /liveness. HTTP 200 is ready, any other status
 * not-ready, no answer (refused, timeout) unreachable. The section is always ok: an unreachable
 * Felix is a finding, not a missing source.
 */
import type { Collector, Host } from './types.js';
import { ok } from '../../contract/result.js';
import type { FelixHealth } from '../../contract/snapshot.js';

type Probe = FelixHealth['readiness'];

const probe = async (host: Host, url: string, timeoutMs: number): Promise<{ state: Probe; detail: string }> => {
  const r = await host.httpGet(url, timeoutMs);
  if (!r.ok) return { state: 'unreachable', detail: `${r.kind}: ${r.message}` };
  const body = r.body.trim().replace(/\s+/g, ' ').slice(0, 200);
  return { state: r.status === 200 ? 'ready' : 'not-ready', detail: `HTTP ${r.status}${body ? ` ${body}` : ''}` };
};

export const collectFelix: Collector<'felix'> = async (host, config) => {
  const base = config.felixHealthUrl.replace(/\/+$/, '');
  const [readiness, liveness] = await Promise.all([
    probe(host, `${base}/readiness`, config.timeoutMs),
    probe(host, `${base}/liveness`, config.timeoutMs),
  ]);
  return ok({
    url: base,
    readiness: readiness.state,
    liveness: liveness.state,
    detail: `readiness: ${readiness.detail}; liveness: ${liveness.detail}`,
  });
};
