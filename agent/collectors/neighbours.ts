/** Neighbours of both families: `ip -j neigh show` (no family given dumps IPv4 and IPv6). */
import type { Collector } from './types.js';
import type { Parsed } from '../../contract/result.js';
import type { Neighbour } from '../../contract/snapshot.js';
import { parseIpNeigh } from '../parsers/ip-json.js';
import { runAndParse } from './run-command.js';

export const NEIGH_ARGV = ['ip', '-j', 'neigh', 'show'] as const;

/** Old iproute2 prints nothing for an empty table. */
const parse = (text: string): Parsed<Neighbour[]> => {
  const p = parseIpNeigh(text);
  return !p.ok && p.error.code === 'empty' ? { ok: true, value: [] } : p;
};

export const collectNeighbours: Collector<'neighbours'> = (host, config) => runAndParse(host, config, NEIGH_ARGV, parse);
