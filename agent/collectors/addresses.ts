/** Addresses of both families: `ip -j addr show`. */
import type { Collector } from './types.js';
import { parseIpAddrs } from '../parsers/ip-json.js';
import { runAndParse } from './run-command.js';

export const ADDRESSES_ARGV = ['ip', '-j', 'addr', 'show'] as const;

export const collectAddresses: Collector<'addresses'> = (host, config) => runAndParse(host, config, ADDRESSES_ARGV, parseIpAddrs);
