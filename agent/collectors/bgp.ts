/**
 * BGP: BIRD's `show protocols` over its control socket (config.birdSocket). No socket is
 * `not-present` (VXLAN-only clusters run without BIRD).
 */
import type { Collector } from './types.js';
import { ok, unavailable } from '../../contract/result.js';
import { birdReplyComplete, parseBirdProtocols } from '../parsers/bird.js';
import { fromParsed, socketReason } from './run-command.js';

export const BIRD_REQUEST = 'show protocols\n';

export const collectBgp: Collector<'bgp'> = async (host, config) => {
  const r = await host.unixExchange(config.birdSocket, BIRD_REQUEST, birdReplyComplete, config.timeoutMs);
  if (!r.ok) return unavailable(socketReason(r), `${config.birdSocket}: ${r.message}`);
  const p = fromParsed(`${config.birdSocket}: show protocols`, parseBirdProtocols(r.text));
  if (p.status !== 'ok') return p;
  return ok({ socket: config.birdSocket, protocols: p.data });
};
