/** Links: `ip -j -d -s link show` (kinds, VXLAN details, counters). */
import type { Collector } from './types.js';
import { parseIpLinks } from '../parsers/ip-json.js';
import { runAndParse } from './run-command.js';

export const LINKS_ARGV = ['ip', '-j', '-d', '-s', 'link', 'show'] as const;

export const collectLinks: Collector<'links'> = (host, config) => runAndParse(host, config, LINKS_ARGV, parseIpLinks);
