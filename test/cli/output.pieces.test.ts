/**
 * `writeCompactJson` writes the one-shot snapshot's JSON in pieces (#17: the whole document held as
 * one string, its escaped copy and the written bytes raised the snapshot's peak RSS): joined, the
 * pieces must be exactly what `renderStructured('json', …, { compact: true })` gives.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderStructured, writeCompactJson } from '../../cli/output.js';
import { parseIptablesSave } from '../../agent/parsers/iptables-save.js';
import { summariseFamily } from '../../agent/collectors/iptables.js';
import { generateIptablesSave } from '../../bench/gen-iptables.js';

const pieces = (data: unknown, pieceChars?: number, depth?: number): string[] => {
  const out: string[] = [];
  writeCompactJson(data, (p) => out.push(p), pieceChars, depth);
  return out;
};
const same = (data: unknown, pieceChars?: number, depth?: number) => expect(pieces(data, pieceChars, depth).join('')).toBe(renderStructured('json', data, { compact: true }));

describe('writeCompactJson', () => {
  it('writes what JSON.stringify writes for the shapes it walks and the values it leaves to JSON.stringify', () => {
    class WithToJson {
      toJSON(key: string) {
        return { key, n: 1 };
      }
    }
    const cases: unknown[] = [
      null,
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      'a"b\\c\n',
      true,
      [],
      {},
      [undefined, () => 1, Symbol('s'), null, 1],
      { a: undefined, b: () => 1, c: Symbol('s'), d: null, e: [1, [2, [3, [4, [5, [6, [7]]]]]]] },
      { date: new Date(0), nested: { at: new Date(1), list: [new Date(2)] } },
      { w: new WithToJson(), list: [new WithToJson()] },
      { map: new Map([[1, 2]]), set: new Set([1]), boxed: Object(5) as unknown, nullProto: Object.assign(Object.create(null) as object, { x: 1 }) },
      { 'quoted "key"': 1, 'ünïcode ☃': 'é', '': 0, 2: 'numeric keys first', z: 1 },
      { unsafe: 'del \u007f c1 \u0085 bidi \u202e \u2066 end', [`k\u0090`]: 'v' },
      { inner: { toJSON: () => undefined }, list: [{ toJSON: () => undefined }] },
    ];
    for (const c of cases) for (const size of [1, 7, 64 * 1024]) for (const depth of [0, 2, 6]) same(c, size, depth);
  });

  it('writes a summarised 20k-rule iptables dump, in many pieces, exactly as one string', () => {
    const p = parseIptablesSave(generateIptablesSave({ rules: 20_000, seed: 5 }));
    if (!p.ok) throw new Error(p.error.message);
    const data = { snapshot: { sections: { iptables: { status: 'ok', data: summariseFamily('ipv4', p.value) } } }, checks: [], findings: [] };
    const out = pieces(data, 4096);
    expect(out.length).toBeGreaterThan(50);
    expect(Math.max(...out.map((s) => s.length))).toBeLessThan(4096 * 2);
    expect(out.join('')).toBe(renderStructured('json', data, { compact: true }));
  });

  it('writes a recorded nft ruleset (deep, mixed) exactly as one string', () => {
    const data = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/nft/calico-felix-fv-cali-nftables-dump.json'), 'utf8')) as unknown;
    same(data, 1000);
    same(data, 1000, 20);
  });
});
