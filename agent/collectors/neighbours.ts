/**
 * Neighbours of both families: `ip -j neigh show` (no family given dumps IPv4 and IPv6); on
 * iproute2 without JSON support (`incompatible`) the text output of `ip neigh show` (issue #2).
 * When the text command fails too, the `incompatible` result is kept, with the fallback's failure added to its detail.
 */
import type { Collector } from './types.js';
import type { Parsed } from '../../contract/result.js';
import type { Neighbour } from '../../contract/snapshot.js';
import { parseIpNeigh } from '../parsers/ip-json.js';
import { parseIpTextNeigh } from '../parsers/ip-text.js';
import { runAndParse } from './run-command.js';

export const NEIGH_ARGV = ['ip', '-j', 'neigh', 'show'] as const;
export const NEIGH_TEXT_ARGV = ['ip', 'neigh', 'show'] as const;

/** Old iproute2 prints nothing for an empty table (and the text format always does). */
const emptyIsNone =
  (p: (text: string) => Parsed<Neighbour[]>) =>
  (text: string): Parsed<Neighbour[]> => {
    const r = p(text);
    return !r.ok && r.error.code === 'empty' ? { ok: true, value: [] } : r;
  };

export const collectNeighbours: Collector<'neighbours'> = async (host, config) => {
  const r = await runAndParse(host, config, NEIGH_ARGV, emptyIsNone(parseIpNeigh));
  if (r.status === 'ok' || r.reason !== 'incompatible') return r;
  const t = await runAndParse(host, config, NEIGH_TEXT_ARGV, emptyIsNone(parseIpTextNeigh));
  return t.status === 'ok' ? t : { ...r, detail: `${r.detail}; fallback ${t.detail}` };
};
