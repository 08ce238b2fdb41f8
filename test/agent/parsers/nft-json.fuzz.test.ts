/**
 * Seeded fuzz of the nft JSON parser (issue #15): mutated real dumps (Felix's FV ruleset, the lab's
 * recorded nftables mode, the shapes fixture) — truncated, bytes flipped, junk inserted, halves
 * spliced, JSON values of the wrong type — give a value or a typed error, never an exception; an
 * error always carries its position (line/column/offset for JSON syntax, a JSON path for shapes).
 */
import { describe, expect, it } from 'vitest';
import { jsonErrorOffset, parseNftJson } from '../../../agent/parsers/nft-json.js';
import { nftPolicyRule } from '../../../agent/derive/nft-policy-rule.js';
import { summariseNftRuleset, nftIpSets } from '../../../agent/collectors/nftables.js';
import { Iptables, IpSets } from '../../../contract/snapshot.js';
import { ok } from '../../../contract/result.js';
import { fixture } from './fixture.js';
import { mulberry32 as prng } from '../../../bench/prng.js';

const CASES = 3000;

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const JUNK = ['', ' ', '[', ']', '{', '}', '"', ',', ':', '-1', '1e309', 'null', '\u0000', 'é', '"@', '{"set":', '{"counter":'];
const WRONG: unknown[] = [null, -1, 1.5, 'x', '', '@', true, [], {}, [1], { a: 1 }, { set: 1 }, { prefix: null }, 2 ** 60];

const mutateValue = (r: Rand, v: unknown, depth = 0): unknown => {
  if (r() < 0.04) return pick(r, WRONG);
  if (depth > 30) return v;
  if (Array.isArray(v)) return v.filter(() => r() > 0.03).map((x) => mutateValue(r, x, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (r() > 0.03) out[r() < 0.01 ? `${k}x` : k] = mutateValue(r, x, depth + 1);
    return out;
  }
  return v;
};

const mutate = (r: Rand, text: string): string => {
  switch (Math.floor(r() * 5)) {
    case 0:
      return text.slice(0, Math.floor(r() * text.length));
    case 1: {
      const chars = [...text];
      for (let i = 0, n = 1 + Math.floor(r() * 6); i < n; i++) chars[Math.floor(r() * chars.length)] = String.fromCharCode(Math.floor(r() * 128));
      return chars.join('');
    }
    case 2: {
      const at = Math.floor(r() * text.length);
      return text.slice(0, at) + pick(r, JUNK) + text.slice(at);
    }
    case 3:
      return text.slice(0, Math.floor(r() * text.length)) + text.slice(Math.floor(r() * text.length));
    default:
      return JSON.stringify(mutateValue(r, JSON.parse(text)));
  }
};

describe('nft JSON parser fuzz', () => {
  const inputs = [
    fixture('nft/calico-felix-fv-cali-nftables-dump.json'),
    fixture('nft/shapes.json'),
    fixture('lab/nftables/healthy-node1/nft-j-list-ruleset.json'),
    fixture('lab/nftables/nft-encap-drop-node1/nft-j-list-ruleset.json'),
  ];

  it(`${CASES} mutated dumps: never throws; errors are typed with a position; values reduce to valid snapshot sections`, () => {
    const r = prng(15);
    let oks = 0;
    const codes = new Map<string, number>();
    for (let c = 0; c < CASES; c++) {
      const input = mutate(r, pick(r, inputs));
      let res;
      try {
        res = parseNftJson(input);
      } catch (err) {
        throw new Error(`case ${c} threw ${String(err)} on ${JSON.stringify(input.slice(0, 300))}`, { cause: err });
      }
      if (res.ok) {
        oks++;
        // the value feeds the mapping and the reductions: they must not throw either, and give valid sections
        for (const ch of res.value.chains) for (const rule of ch.rules) nftPolicyRule(rule);
        const s = summariseNftRuleset(res.value);
        const section = { backend: 'nftables', backendReason: 'fuzz', ipv4: ok(s.ipv4), ipv6: ok(s.ipv6), chains: s.chains, dropRules: s.dropRules, warnings: s.warnings, idlePolicyDropRules: s.idlePolicyDropRules, encapGuards: s.encapGuards };
        const v = Iptables.safeParse(section);
        if (!v.success) throw new Error(`case ${c}: iptables section breaks the contract: ${JSON.stringify(v.error.issues.slice(0, 2))}`);
        const sets = IpSets.safeParse(nftIpSets(res.value));
        if (!sets.success) throw new Error(`case ${c}: ipsets section breaks the contract`);
      } else {
        const e = res.error;
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        expect(['empty', 'invalid-json', 'invalid-shape', 'truncated']).toContain(e.code);
        expect(e.message.length).toBeGreaterThan(0);
        if (e.code === 'invalid-shape') expect(e.path, e.message).toMatch(/^(\$$|nftables)/);
        if (e.code === 'truncated' || (e.code === 'invalid-json' && e.offset !== undefined)) {
          expect(Number.isInteger(e.line) && (e.line ?? 0) >= 1).toBe(true);
          expect(Number.isInteger(e.column) && (e.column ?? 0) >= 1).toBe(true);
        }
      }
    }
    expect(oks).toBeGreaterThan(50);
    expect(codes.get('invalid-json') ?? 0).toBeGreaterThan(0);
    expect(codes.get('invalid-shape') ?? 0).toBeGreaterThan(0);
    expect(codes.get('truncated') ?? 0).toBeGreaterThan(0);
  });

  it('the error offset agrees with V8 wherever V8 names a position, and valid JSON scans to its end', () => {
    const r = prng(1515);
    let compared = 0;
    for (let c = 0; c < CASES; c++) {
      const input = mutate(r, pick(r, inputs));
      let v8: number | null = null;
      try {
        JSON.parse(input);
        expect(jsonErrorOffset(input), `case ${c}: valid JSON`).toBe(input.length);
        continue;
      } catch (err) {
        const m = /at position (\d+)/.exec((err as Error).message);
        if (m) v8 = Number(m[1]);
      }
      const mine = jsonErrorOffset(input);
      expect(mine >= 0 && mine <= input.length).toBe(true);
      if (v8 !== null) {
        compared++;
        expect(mine, `case ${c}: ${JSON.stringify(input.slice(Math.max(0, v8 - 40), v8 + 40))}`).toBe(v8);
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
