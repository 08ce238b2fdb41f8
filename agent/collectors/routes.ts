/**
 * Routes of every table, both families: `ip -j -4 route show table all` and
 * `ip -j -6 route show table all`. The family is given explicitly: without it `table all` dumps
 * both families in one go (seen with iproute2 6.1), which would double the IPv6 routes.
 * IPv6 failing alone (IPv6 disabled, old kernel) keeps the IPv4 routes; IPv4 failing makes the
 * section unavailable, since checks would otherwise see every IPv4 route as missing.
 * iproute2 without JSON support (`incompatible`: "-j" unknown, or plain text printed for -j as
 * iproute2 4.15 does for routes) is read from the text output of the same command without -j
 * (issue #2); when that fails too, `incompatible` is kept with the fallback's failure in the detail.
 */
import type { Collector, CollectorConfig, Host } from './types.js';
import { ok } from '../../contract/result.js';
import type { Parsed } from '../../contract/result.js';
import type { Route } from '../../contract/snapshot.js';
import { parseIpRoutes, type Family } from '../parsers/ip-json.js';
import { parseIpTextRoutes } from '../parsers/ip-text.js';
import { runAndParse } from './run-command.js';

export const ROUTES_V4_ARGV = ['ip', '-j', '-4', 'route', 'show', 'table', 'all'] as const;
export const ROUTES_V6_ARGV = ['ip', '-j', '-6', 'route', 'show', 'table', 'all'] as const;
export const ROUTES_V4_TEXT_ARGV = ['ip', '-4', 'route', 'show', 'table', 'all'] as const;
export const ROUTES_V6_TEXT_ARGV = ['ip', '-6', 'route', 'show', 'table', 'all'] as const;

/** Old iproute2 prints nothing for an empty dump. */
const parseRoutes =
  (family: Family, parse: (text: string, family: Family) => Parsed<Route[]> = parseIpRoutes) =>
  (text: string): Parsed<Route[]> => {
    const p = parse(text, family);
    return !p.ok && p.error.code === 'empty' ? { ok: true, value: [] } : p;
  };

const collectFamily = async (host: Host, config: CollectorConfig, fam: Family) => {
  const [json, text] = fam === 'inet' ? [ROUTES_V4_ARGV, ROUTES_V4_TEXT_ARGV] : [ROUTES_V6_ARGV, ROUTES_V6_TEXT_ARGV];
  const r = await runAndParse(host, config, json, parseRoutes(fam));
  if (r.status === 'ok' || r.reason !== 'incompatible') return r;
  const t = await runAndParse(host, config, text, parseRoutes(fam, parseIpTextRoutes));
  return t.status === 'ok' ? t : { ...r, detail: `${r.detail}; fallback ${t.detail}` };
};

export const collectRoutes: Collector<'routes'> = async (host, config) => {
  const [v4, v6] = await Promise.all([collectFamily(host, config, 'inet'), collectFamily(host, config, 'inet6')]);
  if (v4.status !== 'ok') return v4;
  return ok(v6.status === 'ok' ? [...v4.data, ...v6.data] : v4.data);
};
