/**
 * Routes of every table, both families: `ip -j -4 route show table all` and
 * `ip -j -6 route show table all`. The family is given explicitly: without it `table all` dumps
 * both families in one go (seen with iproute2 6.1), which would double the IPv6 routes.
 * IPv6 failing alone (IPv6 disabled, old kernel) keeps the IPv4 routes; IPv4 failing makes the
 * section unavailable, since checks would otherwise see every IPv4 route as missing.
 */
import type { Collector } from './types.js';
import { ok } from '../../contract/result.js';
import type { Parsed } from '../../contract/result.js';
import type { Route } from '../../contract/snapshot.js';
import { parseIpRoutes, type Family } from '../parsers/ip-json.js';
import { runAndParse } from './run-command.js';

export const ROUTES_V4_ARGV = ['ip', '-j', '-4', 'route', 'show', 'table', 'all'] as const;
export const ROUTES_V6_ARGV = ['ip', '-j', '-6', 'route', 'show', 'table', 'all'] as const;

/** Old iproute2 prints nothing for an empty dump. */
const parseRoutes =
  (family: Family) =>
  (text: string): Parsed<Route[]> => {
    const p = parseIpRoutes(text, family);
    return !p.ok && p.error.code === 'empty' ? { ok: true, value: [] } : p;
  };

export const collectRoutes: Collector<'routes'> = async (host, config) => {
  const [v4, v6] = await Promise.all([
    runAndParse(host, config, ROUTES_V4_ARGV, parseRoutes('inet')),
    runAndParse(host, config, ROUTES_V6_ARGV, parseRoutes('inet6')),
  ]);
  if (v4.status !== 'ok') return v4;
  return ok(v6.status === 'ok' ? [...v4.data, ...v6.data] : v4.data);
};
