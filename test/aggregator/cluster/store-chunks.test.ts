import { describe, expect, it } from 'vitest';
import { meshSnapshot, toReport } from '../../../bench/aggregator-mesh.js';
import { buildReport } from '../../../agent/push.js';
import { CHUNK_SECTIONS } from '../../../contract/chunks.js';
import { Report } from '../../../contract/report.js';
import { SECTION_NAMES, type SectionName } from '../../../contract/snapshot.js';
import { ReportStore, type IngestResult } from '../../../aggregator/cluster/store.js';

const N = 600;
const T0 = '2026-01-01T00:00:00.000Z';
const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

/** Node `i`'s report as the agent builds it in full with its per-peer lists in chunks (data on `want`). */
const chunked = (i: number, seq: number, want: Map<SectionName, Set<string>> = new Map(), agentId = `agent-${i}-aaaaaaaa`) => {
  const wire = buildReport(
    { snapshot: meshSnapshot(i, N, 1), checks: [], findings: [] },
    { agentId, seq, agentVersion: '0.1.0', intervalSeconds: 30, sentAt: T0 },
    new Map(),
    'all',
    new Map(),
    { chunked: new Set(CHUNK_SECTIONS), want },
  );
  return { wire, report: Report.parse(JSON.parse(JSON.stringify(wire))) };
};
const wantOf = (r: IngestResult) => new Map(Object.entries(r.kind === 'sections-required' ? (r.chunks ?? {}) : {}).map(([k, v]) => [k as SectionName, new Set(v)]));
const chunkCount = (r: Report, name: 'routes' | 'neighbours' | 'fdb') => (r.sections[name] as { chunks?: unknown[] }).chunks?.length ?? 0;

// issue #17
describe('aggregator/store: per-peer lists in chunks', () => {
  it('asks for the chunks it lacks, then resolves the lists; a second node sends only the chunks it does not share', () => {
    const store = new ReportStore();
    const first = chunked(0, 1);
    expect(chunkCount(first.report, 'routes')).toBeGreaterThan(3);
    const asked = store.ingest(first.report, T0, first.wire.sections);
    expect(asked.kind).toBe('sections-required');
    if (asked.kind !== 'sections-required') return;
    expect(asked.sections).toEqual(['routes', 'neighbours', 'fdb']);
    for (const name of CHUNK_SECTIONS) expect(asked.chunks?.[name]).toHaveLength(new Set((first.report.sections[name] as { chunks: { hash: string }[] }).chunks.map((c) => c.hash)).size);
    expect(store.size).toBe(0);

    const resent = chunked(0, 2, wantOf(asked));
    expect(store.ingest(resent.report, T0, resent.wire.sections)).toMatchObject({ kind: 'accepted', changed: expect.arrayContaining(['routes', 'neighbours', 'fdb']) });
    const held = store.get('node-00000')!.report.sections;
    for (const name of SECTION_NAMES) expect(plain(held[name])).toEqual(plain(meshSnapshot(0, N, 1).sections[name]));

    const second = chunked(1, 1);
    const asked2 = store.ingest(second.report, T0, second.wire.sections);
    expect(asked2.kind).toBe('sections-required');
    for (const name of CHUNK_SECTIONS) {
      const lacking = asked2.kind === 'sections-required' ? (asked2.chunks?.[name] ?? []) : [];
      expect(lacking.length).toBeGreaterThan(0);
      expect(lacking.length).toBeLessThanOrEqual(3);
    }
    const resent2 = chunked(1, 2, wantOf(asked2));
    expect(store.ingest(resent2.report, T0, resent2.wire.sections).kind).toBe('accepted');
    const held2 = store.get('node-00001')!.report.sections;
    for (const name of SECTION_NAMES) expect(plain(held2[name])).toEqual(plain(meshSnapshot(1, N, 1).sections[name]));
  });

  it('takes a section sent in chunks at the hash it holds without asking for anything', () => {
    const store = new ReportStore();
    const r = Report.parse(toReport(meshSnapshot(0, N, 1), { agentId: 'agent-0-aaaaaaaa', seq: 1 }));
    expect(store.ingest(r, T0).kind).toBe('accepted');
    const again = chunked(0, 2);
    expect(store.ingest(again.report, T0, again.wire.sections)).toMatchObject({ kind: 'accepted', changed: expect.not.arrayContaining(['routes']) });
  });

  it('still takes full reports (agents without chunks) next to chunked ones', () => {
    const store = new ReportStore();
    const c0 = chunked(0, 1);
    const c1 = chunked(0, 2, wantOf(store.ingest(c0.report, T0, c0.wire.sections)));
    expect(store.ingest(c1.report, T0, c1.wire.sections).kind).toBe('accepted');
    const old = Report.parse(toReport(meshSnapshot(1, N, 1), { agentId: 'agent-1-aaaaaaaa', seq: 1 }));
    expect(store.ingest(old, T0).kind).toBe('accepted');
    expect(plain(store.get('node-00001')!.report.sections.routes)).toEqual(plain(meshSnapshot(1, N, 1).sections.routes));
  });

  it('refuses a chunk whose data does not match its hash, without changing anything', () => {
    const store = new ReportStore();
    const c0 = chunked(0, 1);
    const want = wantOf(store.ingest(c0.report, T0, c0.wire.sections));
    const bad = chunked(0, 2, want);
    const chunk = (bad.report.sections.routes as { chunks: { data?: { dst: string }[] }[] }).chunks.find((c) => c.data)!;
    chunk.data![0]!.dst = '10.99.0.0/26';
    expect(store.ingest(bad.report, T0)).toEqual({ kind: 'hash-mismatch', node: 'node-00000', sections: ['routes'] });
    expect(store.size).toBe(0);
    expect(store.heldChunks).toBe(0);
  });

  it('asks for a section in full when its chunks do not give the list its hash names', () => {
    const store = new ReportStore();
    const c0 = chunked(0, 1);
    const want = wantOf(store.ingest(c0.report, T0, c0.wire.sections));
    const wrong = chunked(0, 2, want);
    wrong.report.sections.routes.hash = 'f'.repeat(64);
    const r = store.ingest(wrong.report, T0);
    expect(r).toMatchObject({ kind: 'sections-required', sections: ['routes'] });
    expect(r.kind === 'sections-required' && r.chunks).toBeFalsy();
    expect(store.size).toBe(0);
  });

  it('resolves every node of a mesh from chunks other nodes sent, each list exactly its own', () => {
    // issue #17: held chunks' texts are kept for the section hash; lists from many nodes reuse them
    const store = new ReportStore();
    for (let i = 0; i < 6; i++) {
      const probe = chunked(i, 1);
      const asked = store.ingest(probe.report, T0, probe.wire.sections);
      const resent = chunked(i, 2, wantOf(asked));
      expect(store.ingest(resent.report, T0, resent.wire.sections).kind).toBe('accepted');
      const held = store.get(`node-0000${i}`)!.report.sections;
      for (const name of SECTION_NAMES) expect(plain(held[name])).toEqual(plain(meshSnapshot(i, N, 1).sections[name]));
    }
    // a list of held chunks (texts kept) under a hash they do not give is still asked for in full
    const probe = chunked(6, 1);
    const wrong = chunked(6, 2, wantOf(store.ingest(probe.report, T0, probe.wire.sections)));
    wrong.report.sections.fdb.hash = 'e'.repeat(64);
    expect(store.ingest(wrong.report, T0)).toMatchObject({ kind: 'sections-required', sections: ['fdb'] });
    expect(store.get('node-00006')).toBeUndefined();
    // a list made only of held chunks, the first one included: taken without asking for anything
    const twin = chunked(3, 3);
    twin.report.node = 'node-twin';
    expect(store.ingest(twin.report, T0, twin.wire.sections)).toMatchObject({ kind: 'accepted', node: 'node-twin' });
    for (const name of CHUNK_SECTIONS) expect(plain(store.get('node-twin')!.report.sections[name])).toEqual(plain(meshSnapshot(3, N, 1).sections[name]));
  });

  it('forgets its chunks when it compacts their table (they are asked for again)', () => {
    const store = new ReportStore({ compactAbove: 1 });
    const c0 = chunked(0, 1);
    const c1 = chunked(0, 2, wantOf(store.ingest(c0.report, T0, c0.wire.sections)));
    expect(store.ingest(c1.report, T0, c1.wire.sections).kind).toBe('accepted'); // the first ingest compacts every table
    expect(store.heldChunks).toBe(0);
    const again = chunked(1, 1);
    const r = store.ingest(again.report, T0, again.wire.sections);
    expect(r.kind === 'sections-required' && r.chunks?.routes).toHaveLength(chunkCount(again.report, 'routes'));
  });
});
