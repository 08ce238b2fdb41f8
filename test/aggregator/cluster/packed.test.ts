import { describe, expect, it } from 'vitest';
import { EntryTable, idArray, materialise, pack, packLike, packedHostSet, packedOf, packedSection } from '../../../aggregator/cluster/packed.js';

// issue #3
describe('packed per-peer lists (aggregator/cluster/packed)', () => {
  it('interns equal entries once, frozen, and materialises a packed list back to the shared entries', () => {
    const table = new EntryTable<{ dst: string; flags: string[] }>();
    const a = pack(table, [{ dst: '10.0.0.0/26', flags: ['onlink'] }, { dst: '10.0.0.64/26', flags: [] }]);
    const b = pack(table, [{ dst: '10.0.0.64/26', flags: [] }, { dst: '10.0.0.0/26', flags: ['onlink'] }]);
    expect(table.size).toBe(2);
    expect(Array.from(b.ids)).toEqual([1, 0]);
    const back = materialise(b);
    expect(back).toEqual([{ dst: '10.0.0.64/26', flags: [] }, { dst: '10.0.0.0/26', flags: ['onlink'] }]);
    expect(back[1]).toBe(materialise(a)[0]);
    expect(Object.isFrozen(back[0]) && Object.isFrozen(back[0]!.flags)).toBe(true);
  });

  // issue #17: the correlation pass sums weights over lists known to hold each entry once
  it('says whether a list holds any entry twice, list after list of one table', () => {
    const table = new EntryTable<string>();
    expect(pack(table, ['a', 'b', 'c']).distinct).toBe(true);
    expect(pack(table, ['c', 'd', 'c']).distinct).toBe(false);
    expect(pack(table, ['d', 'a', 'e', 'b']).distinct).toBe(true);
    expect(pack(table, []).distinct).toBe(true);
    expect(pack(table, ['e', 'e']).distinct).toBe(false);
  });

  // issue #17: members packed along the last list of their host set
  it('packs strings along a guide list to exactly the ids and table that interning gives', () => {
    const ips = Array.from({ length: 40 }, (_, k) => `172.16.0.${k}`);
    const cases: string[][] = [
      ips,
      ips.filter((_, k) => k !== 7), // an entry fewer
      [...ips.slice(0, 10), '172.16.9.9', ...ips.slice(10)], // an entry more, new to the table
      [...ips.slice(20), ...ips.slice(0, 20)], // another order
      ips.filter((_, k) => k % 3 !== 0),
      [...ips, ips[3]!, ips[3]!], // repeats
      [],
    ];
    for (const values of cases) {
      const guided = new EntryTable<string>();
      const plain = new EntryTable<string>();
      const guide = pack(guided, ips);
      pack(plain, ips);
      const got = packLike(guided, values, guide);
      const want = pack(plain, values);
      expect(Array.from(got.ids)).toEqual(Array.from(want.ids));
      expect(got.ids.constructor).toBe(want.ids.constructor);
      expect(got.distinct).toBe(want.distinct);
      expect(guided.keys).toEqual(plain.keys);
      expect(materialise(got)).toEqual(values);
    }
    // a guide of another table (a compacted one) is not followed
    const old = new EntryTable<string>();
    const guide = pack(old, ['b', 'a']);
    const table = new EntryTable<string>();
    const got = packLike(table, ['a', 'b'], guide);
    expect(got.table).toBe(table);
    expect(Array.from(got.ids)).toEqual([0, 1]);
    expect(packLike(table, ['b'], undefined).ids[0]).toBe(1);
  });

  it('uses 16-bit ids while the table fits them, 32-bit beyond', () => {
    expect(idArray(3, 0x10000)).toBeInstanceOf(Uint16Array);
    expect(idArray(3, 0x10001)).toBeInstanceOf(Uint32Array);
    const table = new EntryTable<string>();
    const many = Array.from({ length: 0x10001 }, (_, i) => `m${i}`);
    const list = pack(table, many);
    expect(list.ids).toBeInstanceOf(Uint32Array);
    expect(materialise(list)[0x10000]).toBe('m65536');
  });

  it('a packed section and host set read like the wire objects (JSON, spread, equality) and carry their list', () => {
    const table = new EntryTable<string>();
    const list = pack(table, ['172.16.0.1', '172.16.0.2']);
    const section = packedSection(list);
    expect(JSON.parse(JSON.stringify(section))).toEqual({ status: 'ok', data: ['172.16.0.1', '172.16.0.2'] });
    expect(section).toEqual({ status: 'ok', data: ['172.16.0.1', '172.16.0.2'] });
    expect(packedOf(section)).toBe(list);
    expect(packedOf({ status: 'ok', data: [] })).toBeNull();
    const set = packedHostSet({ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet' as const, members: ['172.16.0.1', '172.16.0.2'] }, list);
    expect(Object.keys(set)).toEqual(['name', 'type', 'family', 'members']);
    expect({ ...set }).toEqual({ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: ['172.16.0.1', '172.16.0.2'] });
    expect(packedOf(set)).toBe(list);
  });

  it('a plain (unfrozen) table for per-pass use keys by identity and leaves entries as they are', () => {
    const table = new EntryTable<{ x: number }>(false);
    const e = { x: 1 };
    expect(table.intern(e, e)).toBe(0);
    expect(table.intern({ x: 1 }, { x: 1 })).toBe(1);
    expect(table.intern(e, e)).toBe(0);
    expect(Object.isFrozen(e)).toBe(false);
  });
});
