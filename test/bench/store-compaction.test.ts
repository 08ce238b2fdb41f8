import { describe, expect, it } from 'vitest';
import { churnRoutesSection, runCompactionBench } from '../../bench/store-compaction.js';
import { meshSnapshot, nodeName } from '../../bench/aggregator-mesh.js';
import { packedOf } from '../../aggregator/cluster/packed.js';
import { ReportStore } from '../../aggregator/cluster/store.js';
import { SECTION_NAMES } from '../../contract/snapshot.js';

describe('bench/store-compaction', () => {
  it('churns routes until the store compacts, and the store reads the same reports afterwards', () => {
    const n = 12;
    const proto = ReportStore.prototype as unknown as { compact: unknown };
    const compact = proto.compact;
    const r = runCompactionBench({ nodes: n, compactAbove: 300, compactions: 2 });
    expect(r.compactions).toHaveLength(2);
    for (const c of r.compactions) {
      // the benchmark knew which ingest would compact, and it did: the table shrank to the live entries
      expect(c.predicted).toBe(true);
      expect(c.tableBefore).toBeGreaterThan(300);
      expect(c.tableAfter).toBeLessThan(c.tableBefore);
      expect(c.idsRepacked).toBe(n * (n - 1 + 11));
      expect(c.ordinary.count).toBeGreaterThan(0);
      expect(c.ratio).toBeGreaterThan(0);
      expect(c.mismatches).toEqual([]);
      expect(c.checked).toBe(n);
    }
    // the routes compaction was timed, and the prototype is restored afterwards
    expect(r.compactions[0]!.compactMs).toBeGreaterThan(0);
    expect(proto.compact).toBe(compact);

    // independently of the benchmark's own check: every node reads the mesh's sections, with the
    // routes of the churn round it was last sent, and its routes are packed against the new table
    const live = new Set<string>();
    let table: unknown = null;
    for (let i = 0; i < n; i++) {
      const state = r.store.get(nodeName(i))!;
      const expected = meshSnapshot(i, n, 1).sections;
      for (const s of SECTION_NAMES) {
        const want = s === 'routes' && r.rounds[i]! > 1 ? churnRoutesSection(i, n, r.rounds[i]!) : expected[s];
        expect(JSON.parse(JSON.stringify(state.report.sections[s])), `${nodeName(i)} ${s}`).toEqual(want);
      }
      const routes = state.report.sections.routes;
      if (routes.status === 'ok') for (const x of routes.data) live.add(JSON.stringify(x));
      const list = packedOf(routes);
      expect(list).not.toBeNull();
      table ??= list!.table;
      expect(list!.table).toBe(table);
    }
    // the nodes were in two different rounds at the last compaction (it happened mid-round)
    expect(new Set(r.rounds).size).toBe(2);
    // right after the last compaction the table holds only live entries (plus none since: it was the last ingest)
    expect(r.store.tableSizes().routes).toBe(live.size);
    expect(r.compactions[1]!.tableAfter).toBe(live.size);
  });
});
