/**
 * Seeded fuzz of the iproute2 text parsers (issue #2): real recorded text, truncated at any byte,
 * with lines deleted/duplicated/swapped and junk tokens spliced in, must give a contract-valid value
 * or a typed error, never an exception.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseIpTextAddrs, parseIpTextLinks, parseIpTextNeigh, parseIpTextRoutes } from '../../../agent/parsers/ip-text.js';
import { Address, Link, Neighbour, Route } from '../../../contract/snapshot.js';
import type { Parsed } from '../../../contract/result.js';
import { fixture } from './fixture.js';
import { mulberry32 as prng } from '../../../bench/prng.js';

const CASES = 2000;
const CODES = ['empty', 'syntax', 'truncated'];
const JUNK = ['', ' ', '\t', '\n', ':', '@', '<', '>', '/', 'dev', 'via', 'nexthop', 'mtu', 'lladdr', 'RX:', 'link/ether', '99999999999999999999', '-1', 'é', '\u0000', 'inet', 'peer', 'vxlan', 'id'];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const mutate = (r: Rand, text: string): string => {
  let ls = text.split('\n');
  const ops = 1 + Math.floor(r() * 4);
  for (let k = 0; k < ops; k++) {
    const i = Math.floor(r() * ls.length);
    const op = Math.floor(r() * 5);
    if (op === 0) ls.splice(i, 1);
    else if (op === 1) ls.splice(i, 0, ls[i] ?? '');
    else if (op === 2) {
      const words = (ls[i] ?? '').split(' ');
      words.splice(Math.floor(r() * (words.length + 1)), r() < 0.5 ? 1 : 0, pick(r, JUNK));
      ls[i] = words.join(' ');
    } else if (op === 3) ls = ls.slice(0, i);
    else {
      const j = Math.floor(r() * ls.length);
      [ls[i], ls[j]] = [ls[j] ?? '', ls[i] ?? ''];
    }
  }
  const out = ls.join('\n');
  return r() < 0.3 ? out.slice(0, Math.floor(r() * out.length)) : out;
};

const check = <T>(p: Parsed<T[]>, schema: z.ZodType): void => {
  if (!p.ok) {
    expect(CODES).toContain(p.error.code);
    return;
  }
  for (const v of p.value) expect(schema.safeParse(v).success).toBe(true);
};

describe('ip-text parsers fuzz: mutated real text never throws', () => {
  const cases = [
    ['ip-text/cdT-node-ip-d-s-link-show.txt', (t: string) => check(parseIpTextLinks(t), Link)],
    ['ip-text/cdT-node-ip-addr-show.txt', (t: string) => check(parseIpTextAddrs(t), Address)],
    ['ip-text/rendoaw-ubuntu3-ip-a-tunl0-cali.txt', (t: string) => (check(parseIpTextLinks(t), Link), check(parseIpTextAddrs(t), Address))],
    ['ip-text/cdT-node-ip-4-route-show-table-all.txt', (t: string) => check(parseIpTextRoutes(t, 'inet'), Route)],
    ['ip-text/cdT-node-ip-6-route-show-table-all.txt', (t: string) => check(parseIpTextRoutes(t, 'inet6'), Route)],
    ['ip-text/rendoaw-kube2-ip-r-ip-6-r-unreachable.txt', (t: string) => check(parseIpTextRoutes(t, 'inet'), Route)],
    ['ip-text/cdT-node-ip-neigh-show.txt', (t: string) => check(parseIpTextNeigh(t), Neighbour)],
  ] as const;
  for (const [file, run] of cases) {
    it(`${file}: ${CASES} mutations give values or typed errors`, () => {
      // the rendoaw files are pasted transcripts: drop prompt/fence lines and the markdown indent
      const raw = fixture(file);
      const base = file.includes('rendoaw')
        ? raw.split('\n').filter((l) => !/[#$] ip|```/.test(l)).map((l) => l.replace(/^ {4}( {4})?/, '')).join('\n')
        : raw;
      const r = prng(file.length * 7919);
      for (let c = 0; c < CASES; c++) {
        const text = mutate(r, base);
        try {
          run(text);
        } catch (err) {
          throw new Error(`case ${c}: ${(err as Error).message}\n${text}`, { cause: err });
        }
      }
    });
  }
});
