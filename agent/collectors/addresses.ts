/**
 * Addresses of both families: `ip -j addr show`; on iproute2 without JSON support (`incompatible`)
 * the text output of `ip addr show` (issue #2).
 * When the text command fails too, the `incompatible` result is kept, with the fallback's failure added to its detail.
 */
import type { Collector } from './types.js';
import { parseIpAddrs } from '../parsers/ip-json.js';
import { parseIpTextAddrs } from '../parsers/ip-text.js';
import { runAndParse } from './run-command.js';

export const ADDRESSES_ARGV = ['ip', '-j', 'addr', 'show'] as const;
export const ADDRESSES_TEXT_ARGV = ['ip', 'addr', 'show'] as const;

export const collectAddresses: Collector<'addresses'> = async (host, config) => {
  const r = await runAndParse(host, config, ADDRESSES_ARGV, parseIpAddrs);
  if (r.status === 'ok' || r.reason !== 'incompatible') return r;
  const t = await runAndParse(host, config, ADDRESSES_TEXT_ARGV, parseIpTextAddrs);
  return t.status === 'ok' ? t : { ...r, detail: `${r.detail}; fallback ${t.detail}` };
};
