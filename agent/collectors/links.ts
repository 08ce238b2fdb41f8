/**
 * Links: `ip -j -d -s link show` (kinds, VXLAN details, counters). iproute2 without JSON support
 * (older than 4.13: "Option -j is unknown", or -j ignored) is `incompatible`: the same data is then
 * read from the text output `ip -d -s link show` (issue #2).
 * When the text command fails too, the `incompatible` result is kept, with the fallback's failure added to its detail.
 */
import type { Collector } from './types.js';
import { parseIpLinks } from '../parsers/ip-json.js';
import { parseIpTextLinks } from '../parsers/ip-text.js';
import { runAndParse } from './run-command.js';

export const LINKS_ARGV = ['ip', '-j', '-d', '-s', 'link', 'show'] as const;
export const LINKS_TEXT_ARGV = ['ip', '-d', '-s', 'link', 'show'] as const;

export const collectLinks: Collector<'links'> = async (host, config) => {
  const r = await runAndParse(host, config, LINKS_ARGV, parseIpLinks);
  if (r.status === 'ok' || r.reason !== 'incompatible') return r;
  const t = await runAndParse(host, config, LINKS_TEXT_ARGV, parseIpTextLinks);
  return t.status === 'ok' ? t : { ...r, detail: `${r.detail}; fallback ${t.detail}` };
};
