import { describe, expect, it } from 'vitest';
import { buildClusterIndex } from '../../../aggregator/cluster-map.js';
import { entryList, memoFor, membersList, sectionList, UNSET } from '../../../aggregator/correlate/common.js';
import { EntryTable, pack, packedHostSet, packedSection } from '../../../aggregator/entry-table.js';
import type { Route } from '../../../contract/snapshot.js';
import { buildCluster, inputOf, nodeNamed, okData, VXLAN_NODES } from '../../helpers/reports.js';

const freshIndex = () => buildClusterIndex(inputOf(buildCluster(VXLAN_NODES, 'vxlan'))).index;

// issue #3
describe('entry lists (what the rules read of the store layout)', () => {
  it('reads a packed section as its ids and table, keyed by the packed list', () => {
    const index = freshIndex();
    const table = new EntryTable<string>();
    const list = pack(table, ['a', 'b', 'a', 'c']);
    const got = entryList(index, 'members', packedSection(list), () => {
      throw new Error('a packed list is not read as a plain array');
    });
    expect(got.key).toBe(list);
    expect(got.table).toBe(table);
    expect(Array.from(got.ids)).toEqual([0, 1, 0, 2]);
    // the same for a packed host set
    const set = packedHostSet({ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet' as const, members: ['x', 'a'] }, pack(table, ['x', 'a']));
    expect(Array.from(membersList(index, set).ids)).toEqual([3, 0]);
  });

  it('packs plain lists for the pass by entry identity, once per array, one table per kind', () => {
    const index = freshIndex();
    const w1 = nodeNamed(index.nodes.map((n) => n.state), 'worker1');
    const routes = okData(w1, 'routes');
    const a = sectionList(index, index.byName.get('worker1')!, 'routes')!;
    expect(a.key).toBe(routes);
    expect(Array.from(a.ids, (id) => a.table.values[id])).toEqual(routes);
    expect(sectionList(index, index.byName.get('worker1')!, 'routes')).toBe(a);
    // the same route objects on another node get the same ids; plain entries are not frozen
    const shared: Route[] = [routes[0]!, routes[1]!];
    const b = entryList(index, 'routes', {}, () => shared);
    expect(b.table).toBe(a.table);
    expect(Array.from(b.ids)).toEqual([a.ids[0], a.ids[1]]);
    expect(Object.isFrozen(routes[0])).toBe(false);
  });

  it('memoFor: one Int32Array per table and question, grown with the table, UNSET until computed', () => {
    const index = freshIndex();
    const table = new EntryTable<string>();
    pack(table, ['a', 'b']);
    const m = memoFor(index, table, 'q');
    expect(Array.from(m)).toEqual([UNSET, UNSET]);
    m[1] = 7;
    expect(memoFor(index, table, 'q')).toBe(m);
    expect(memoFor(index, table, 'other')[1]).toBe(UNSET);
    pack(table, ['c', 'd', 'e']);
    const grown = memoFor(index, table, 'q');
    expect(grown.length).toBeGreaterThanOrEqual(5);
    expect([grown[1], grown[4]]).toEqual([7, UNSET]);
  });
});
