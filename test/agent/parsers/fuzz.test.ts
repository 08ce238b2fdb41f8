/**
 * Seeded fuzz of the node parsers (issue #2): mutated real fixtures (truncated, bytes flipped, lines
 * deleted/duplicated, JSON values of the wrong type) must give a Parsed value or a typed error, never
 * an exception, and every value they do return must satisfy the contract schema.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { parseBridgeFdbJson, parseBridgeFdbText } from '../../../agent/parsers/bridge-fdb.js';
import { parseSysctlInt, parseSysctlText } from '../../../agent/parsers/sysctl.js';
import { parseIpsetList, parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { birdReplyComplete, parseBirdProtocols } from '../../../agent/parsers/bird.js';
import { Address, BgpProtocol, FdbEntry, IpSet, Link, Neighbour, Route } from '../../../contract/snapshot.js';
import type { Parsed } from '../../../contract/result.js';
import { fixture } from './fixture.js';
import { mulberry32 as prng } from '../../../bench/prng.js';

const CASES = 2500;
const CODES = ['empty', 'invalid-json', 'invalid-shape', 'syntax', 'truncated', 'incompatible'];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const JUNK = ['', ' ', '\n', '[', ']', '{', '}', '"', ',', ':', '-', '0000', '1002-', '9001 x', 'null', '-1', '1e309', '\u0000', 'é', 'dev', 'add', 'Name:', '='];
const WRONG: unknown[] = [null, -1, 1.5, 'x', '', true, [], {}, [1], { a: 1 }, 2 ** 60];

const mutateJsonValue = (r: Rand, v: unknown): unknown => {
  if (r() < 0.08) return pick(r, WRONG);
  if (Array.isArray(v)) return v.filter(() => r() > 0.05).map((x) => mutateJsonValue(r, x));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (r() > 0.05) out[k] = mutateJsonValue(r, x);
    return out;
  }
  return v;
};

const mutate = (r: Rand, text: string, json: boolean): string => {
  const kind = Math.floor(r() * (json ? 7 : 6));
  const lines = text.split('\n');
  switch (kind) {
    case 0: // truncate
      return text.slice(0, Math.floor(r() * text.length));
    case 1: {
      // flip bytes
      const chars = [...text];
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n && chars.length > 0; i++) chars[Math.floor(r() * chars.length)] = String.fromCharCode(Math.floor(r() * 128));
      return chars.join('');
    }
    case 2: // delete lines
      return lines.filter(() => r() > 0.3).join('\n');
    case 3: {
      // duplicate / swap lines
      const i = Math.floor(r() * lines.length);
      const j = Math.floor(r() * lines.length);
      const copy = [...lines];
      copy.splice(j, 0, lines[i] ?? '');
      return copy.join('\n');
    }
    case 4: {
      // insert junk
      const at = Math.floor(r() * text.length);
      return text.slice(0, at) + pick(r, JUNK) + text.slice(at);
    }
    case 5: // splice two halves of different places
      return text.slice(0, Math.floor(r() * text.length)) + text.slice(Math.floor(r() * text.length));
    default:
      // wrong JSON types
      try {
        return JSON.stringify(mutateJsonValue(r, JSON.parse(text)));
      } catch {
        return text;
      }
  }
};

const check = <T>(name: string, seed: number, inputs: string[], json: boolean, parse: (t: string) => Parsed<T[]>, schema: z.ZodType) => {
  it(`${name}: ${CASES} mutated inputs, never throws, values match the contract`, () => {
    const r = prng(seed);
    let oks = 0;
    let errs = 0;
    for (let c = 0; c < CASES; c++) {
      const input = mutate(r, pick(r, inputs), json);
      let res: Parsed<T[]>;
      try {
        res = parse(input);
      } catch (err) {
        throw new Error(`${name} case ${c} threw ${String(err)} on ${JSON.stringify(input.slice(0, 300))}`, { cause: err });
      }
      if (res.ok) {
        oks++;
        for (const v of res.value) {
          const s = schema.safeParse(v);
          if (!s.success) throw new Error(`${name} case ${c}: value breaks the contract: ${JSON.stringify(v)}`);
        }
      } else {
        errs++;
        expect(CODES).toContain(res.error.code);
        expect(typeof res.error.message).toBe('string');
        if (res.error.line !== undefined) expect(Number.isInteger(res.error.line) && res.error.line >= 1).toBe(true);
      }
    }
    // both outcomes occur, so the mutations neither always break nor never break the input
    expect(oks).toBeGreaterThan(0);
    expect(errs).toBeGreaterThan(0);
  });
};

describe('parser fuzz', () => {
  const links = [fixture('ip/cdA-vxlan-node-ip-j-d-s-link-show.json'), fixture('ip/kaweezle-iknite-ip-j-link-show-flannel-node.json')];
  const addrs = [fixture('ip/cdA-vxlan-node-ip-j-addr-show.json'), fixture('ip/cdA-vxlan-node-ip-j-4-addr-show.json')];
  const routes = [
    fixture('ip/cdA-vxlan-node-ip-j-route-show-table-all.json'),
    fixture('ip/cdA-vxlan-node-ip-j-4-route-show-table-all.json'),
    fixture('ip/cdA-vxlan-node-ip-j-6-route-show-table-all.json'),
  ];
  const neigh = [fixture('ip/cdA-vxlan-node-ip-j-neigh-show.json')];
  const fdbJson = [fixture('bridge/cdA-vxlan-node-bridge-j-fdb-show.json')];
  const fdbText = [fixture('bridge/cdA-vxlan-node-bridge-fdb-show.txt')];
  const sysctl = [fixture('sysctl/cdA-vxlan-node-sysctl-a-r.txt')];
  const save = [fixture('ipset/cdA-vxlan-node-ipset-save.txt')];
  const list = [fixture('ipset/cdA-vxlan-node-ipset-list.txt')];
  const bird = [
    fixture('bird/bird1-show-protocols.txt'),
    fixture('bird/bird1-show-protocols-all.txt'),
    fixture('bird/bird2-show-protocols.txt'),
    fixture('bird/bird2-show-protocols-all.txt'),
  ];

  check('parseIpLinks', 1, links, true, parseIpLinks, Link);
  check('parseIpAddrs', 2, addrs, true, parseIpAddrs, Address);
  check('parseIpRoutes', 3, routes, true, (t) => parseIpRoutes(t, 'inet'), Route);
  check('parseIpNeigh', 4, neigh, true, parseIpNeigh, Neighbour);
  check('parseBridgeFdbJson', 5, fdbJson, true, (t) => parseBridgeFdbJson(t), FdbEntry);
  check('parseBridgeFdbText', 6, fdbText, false, (t) => parseBridgeFdbText(t), FdbEntry);
  check('parseSysctlText', 7, sysctl, false, parseSysctlText, z.object({ path: z.array(z.string().min(1)), value: z.string() }));
  check('parseIpsetSave', 8, save, false, parseIpsetSave, IpSet);
  check('parseIpsetList', 9, list, false, parseIpsetList, IpSet);
  check('parseBirdProtocols', 10, bird, false, parseBirdProtocols, BgpProtocol);
  check('parseSysctlInt', 11, ['1\n', '262144\n', '0\n'], false, (t) => {
    const p = parseSysctlInt(t);
    return p.ok ? { ok: true, value: [p.value] } : p;
  }, z.number().int());

  it('birdReplyComplete never throws on mutated replies', () => {
    const r = prng(12);
    for (let c = 0; c < CASES; c++) expect(typeof birdReplyComplete(mutate(r, pick(r, bird), false))).toBe('boolean');
  });
});
