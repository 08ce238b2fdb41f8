import { describe, expect, it } from 'vitest';
import { ackedOf, meshSnapshot, nodeIP, toReport } from '../../../bench/aggregator-mesh.js';
import { hashSection } from '../../../contract/hash.js';
import { Report } from '../../../contract/report.js';
import { packedOf } from '../../../aggregator/cluster/packed.js';
import { ReportStore } from '../../../aggregator/cluster/store.js';
import { buildReport } from '../../../agent/push.js';
import { SECTION_NAMES, type SectionName, type Sections } from '../../../contract/snapshot.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:30.000Z';

const full = (i: number, seq: number, round = seq, agentId = 'agent-aaaaaaaa') => Report.parse(toReport(meshSnapshot(i, 4, round), { agentId, seq }));

describe('aggregator/store', () => {
  it('fixture reports satisfy the contract', () => {
    expect(Report.safeParse(toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 })).success).toBe(true);
  });

  it('takes a full report and resolves every section', () => {
    const store = new ReportStore();
    const r = store.ingest(full(0, 1), T0);
    expect(r).toMatchObject({ kind: 'accepted', node: 'node-00000', seq: 1, restarted: false });
    const s = store.get('node-00000')!;
    expect(s.receivedAt).toBe(T0);
    expect(s.report.sections.fdb.status).toBe('ok');
    expect(s.previous).toBeUndefined();
  });

  it('reuses held data for hash-only sections and keeps the previous report', () => {
    const store = new ReportStore();
    const first = toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 });
    store.ingest(Report.parse(first), T0);
    const second = toReport(meshSnapshot(0, 4, 2), { agentId: 'agent-aaaaaaaa', seq: 2 }, ackedOf(first));
    // counters moved: links and iptables travel with data, the rest as hashes only
    expect(second.sections.routes.data).toBeUndefined();
    expect(second.sections.iptables.data).toBeDefined();
    const r = store.ingest(Report.parse(second), T1);
    expect(r).toMatchObject({ kind: 'accepted', changed: expect.arrayContaining(['iptables', 'links']) });
    expect(r.kind === 'accepted' && r.changed).not.toContain('routes');
    const s = store.get('node-00000')!;
    expect(s.report.sections.routes).toEqual(meshSnapshot(0, 4, 2).sections.routes);
    expect(s.previous?.seq).toBe(1);
    // the previous counters are kept; unchanged sections are shared, not copied
    expect(s.previous?.sections.iptables).toEqual(meshSnapshot(0, 4, 1).sections.iptables);
    expect(s.report.sections.felix).toBe(s.previous?.sections.felix);
    // N-sized sections are not kept twice
    expect(s.previous?.sections.routes).toMatchObject({ status: 'unavailable', detail: 'not kept for the previous report' });
  });

  it('refuses an unknown hash with the section names and keeps the stored state', () => {
    const store = new ReportStore();
    store.ingest(full(0, 1), T0);
    const before = store.get('node-00000');
    const bad = toReport(meshSnapshot(0, 4, 2), { agentId: 'agent-aaaaaaaa', seq: 2 });
    bad.sections.routes = { hash: 'f'.repeat(64) };
    bad.sections.fdb = { hash: 'e'.repeat(64) };
    expect(store.ingest(Report.parse(bad), T1)).toEqual({ kind: 'sections-required', node: 'node-00000', sections: ['routes', 'fdb'] });
    expect(store.get('node-00000')).toBe(before);
    // the same seq resent in full is then accepted (the refused report did not advance the sequence)
    expect(store.ingest(full(0, 2), T1).kind).toBe('accepted');
  });

  it('refuses hash-only sections from a node it has never seen', () => {
    const store = new ReportStore();
    const r = toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 });
    const only = ackedOf(r);
    const hashOnly = toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 }, only);
    const res = store.ingest(Report.parse(hashOnly), T0);
    expect(res.kind).toBe('sections-required');
    expect(res.kind === 'sections-required' && res.sections).toHaveLength(10);
    expect(store.size).toBe(0);
  });

  it('ignores older and equal sequence numbers from the same agent, accepts a restarted agent', () => {
    const store = new ReportStore();
    store.ingest(full(0, 5), T0);
    const held = store.get('node-00000');
    expect(store.ingest(full(0, 5), T1)).toEqual({ kind: 'stale', node: 'node-00000', seq: 5, lastSeq: 5 });
    expect(store.ingest(full(0, 3), T1)).toMatchObject({ kind: 'stale', lastSeq: 5 });
    expect(store.get('node-00000')).toBe(held);
    const restarted = store.ingest(full(0, 0, 9, 'agent-bbbbbbbb'), T1);
    expect(restarted).toMatchObject({ kind: 'accepted', seq: 0, restarted: true });
    expect(store.get('node-00000')!.report.agentId).toBe('agent-bbbbbbbb');
  });

  it('rejects section data that does not match its hash, without changing anything', () => {
    const store = new ReportStore();
    store.ingest(full(0, 1), T0);
    const held = store.get('node-00000');
    const r = toReport(meshSnapshot(0, 4, 2), { agentId: 'agent-aaaaaaaa', seq: 2 });
    r.sections.felix.hash = 'a'.repeat(64);
    expect(store.ingest(Report.parse(r), T1)).toEqual({ kind: 'hash-mismatch', node: 'node-00000', sections: ['felix'] });
    expect(store.get('node-00000')).toBe(held);
  });

  it('checks the hash against the raw JSON the agent sent (key order as sent)', () => {
    const store = new ReportStore();
    const r = toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 });
    // the agent built felix with another key order than the schema: its hash is of that text
    const felix = { data: { detail: '', liveness: 'ready', readiness: 'ready', url: 'http://127.0.0.1:9099' }, status: 'ok' };
    const raw = JSON.parse(JSON.stringify(r));
    raw.sections.felix = { hash: hashSection(felix), data: felix };
    const parsed = Report.parse(raw);
    expect(store.ingest(parsed, T0).kind).toBe('hash-mismatch');
    expect(store.ingest(parsed, T0, raw.sections).kind).toBe('accepted');
  });

  // issue #17: full routes/neighbours/fdb lists are hashed from their entries' keys
  it('refuses a full routes list that does not match its hash, and takes one whose raw JSON has another entry key order', () => {
    const store = new ReportStore();
    store.ingest(full(0, 1), T0);
    const held = store.get('node-00000');
    const wrong = toReport(meshSnapshot(0, 4, 2), { agentId: 'agent-aaaaaaaa', seq: 2 });
    const routes = wrong.sections.routes.data as Sections['routes'] & { status: 'ok' };
    wrong.sections.routes.data = { status: 'ok', data: routes.data.slice(1) };
    expect(store.ingest(Report.parse(wrong), T1, JSON.parse(JSON.stringify(wrong.sections)))).toEqual({ kind: 'hash-mismatch', node: 'node-00000', sections: ['routes'] });
    expect(store.get('node-00000')).toBe(held);

    // the agent built its route entries with the keys in another order: its hash is of that text
    const r = toReport(meshSnapshot(0, 4, 2), { agentId: 'agent-aaaaaaaa', seq: 2 });
    const reordered = { status: 'ok', data: routes.data.map((e) => Object.fromEntries(Object.entries(e).reverse())) };
    const raw = JSON.parse(JSON.stringify(r));
    raw.sections.routes = { hash: hashSection(reordered), data: reordered };
    const parsed = Report.parse(raw);
    expect(store.ingest(parsed, T1).kind).toBe('hash-mismatch');
    expect(store.ingest(parsed, T1, raw.sections).kind).toBe('accepted');
    const got = store.get('node-00000')!.report.sections.routes;
    expect(got.status === 'ok' ? got.data : null).toEqual(routes.data);
  });

  it('shares identical per-peer entries between nodes (interning)', () => {
    const store = new ReportStore();
    for (let i = 0; i < 4; i++) store.ingest(full(i, 1), T0);
    const fdbOf = (node: string) => {
      const s = store.get(node)!.report.sections.fdb;
      return s.status === 'ok' ? s.data : [];
    };
    const aboutNode3On0 = fdbOf('node-00000').find((e) => e.dst === nodeIP(3));
    const aboutNode3On1 = fdbOf('node-00001').find((e) => e.dst === nodeIP(3));
    expect(aboutNode3On0).toBeDefined();
    expect(aboutNode3On0).toBe(aboutNode3On1);
    expect(Object.isFrozen(aboutNode3On0)).toBe(true);
  });

  // issue #3
  describe('per-peer lists held as entry ids in typed arrays', () => {
    const PEER = ['routes', 'neighbours', 'fdb'] as const;
    const hostSetOf = (sections: Sections) => (sections.ipsets.status === 'ok' ? sections.ipsets.data.hostSets[0]! : null);

    it('packs routes, neighbours, FDB entries and host set members, and reads them back whole (JSON round trip)', () => {
      const store = new ReportStore();
      const sent = full(2, 1);
      store.ingest(sent, T0);
      const held = store.get('node-00002')!.report.sections;
      for (const name of PEER) {
        const list = packedOf(held[name]);
        expect(list, name).not.toBeNull();
        expect(list!.ids, name).toBeInstanceOf(Uint16Array);
        expect(list!.ids.length, name).toBe((sent.sections[name].data as { data: unknown[] }).data.length);
      }
      expect(packedOf(hostSetOf(held)!)!.ids).toHaveLength(4);
      // what GET /v1/nodes/:name serialises equals what the agent sent
      for (const name of [...PEER, 'ipsets', 'links', 'iptables'] as const) expect(JSON.parse(JSON.stringify(held[name])), name).toEqual(sent.sections[name].data);
    });

    it('shares one table entry per distinct entry across nodes and reuses the held section on a hash match', () => {
      const store = new ReportStore();
      for (let i = 0; i < 4; i++) store.ingest(full(i, 1), T0);
      // 4 nodes × 3 peers each, but one table entry per distinct route, neighbour, FDB entry, member
      const distinct = (name: 'routes' | 'neighbours' | 'fdb') => new Set([0, 1, 2, 3].flatMap((i) => (meshSnapshot(i, 4, 1).sections[name] as { data: unknown[] }).data.map((e) => JSON.stringify(e)))).size;
      expect(distinct('neighbours')).toBe(4);
      expect(store.tableSizes()).toEqual({ routes: distinct('routes'), neighbours: 4, fdb: 4, members: 4 });
      const held = store.get('node-00000')!.report.sections;
      const first = toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 });
      const second = toReport(meshSnapshot(0, 4, 2), { agentId: 'agent-aaaaaaaa', seq: 2 }, ackedOf(first));
      expect(store.ingest(Report.parse(second), T1).kind).toBe('accepted');
      const now = store.get('node-00000')!.report.sections;
      for (const name of [...PEER, 'ipsets'] as const) expect(now[name], name).toBe(held[name]);
      expect(store.tableSizes().routes).toBe(distinct('routes'));
    });

    it('keeps the previous report without its per-peer sections', () => {
      const store = new ReportStore();
      store.ingest(full(0, 1), T0);
      store.ingest(full(0, 2), T1);
      const s = store.get('node-00000')!;
      for (const name of [...PEER, 'ipsets'] as const) {
        expect(s.previous?.sections[name], name).toEqual({ status: 'unavailable', reason: 'not-present', detail: 'not kept for the previous report' });
      }
      for (const name of PEER) expect(packedOf(s.report.sections[name]), name).not.toBeNull();
      expect(packedOf(hostSetOf(s.report.sections)!)).not.toBeNull();
      expect(s.previous?.sections.links.status).toBe('ok');
    });

    it('keeps the tables bounded: compaction drops entries no report uses, and readers of older states still read them right', () => {
      const store = new ReportStore({ compactAbove: 20 });
      for (let i = 0; i < 4; i++) store.ingest(full(i, 1), T0);
      // node 0's routes change every report (a new metric each time): every report adds 3 routes
      const withMetric = (seq: number) => {
        const r = toReport(meshSnapshot(0, 4, seq), { agentId: 'agent-aaaaaaaa', seq });
        const routes = r.sections.routes.data as { status: 'ok'; data: { metric: number | null }[] };
        for (const x of routes.data) x.metric = seq;
        r.sections.routes.hash = hashSection(routes);
        return Report.parse(r);
      };
      let oldest = store.get('node-00000')!;
      const oldestRoutes = JSON.stringify(oldest.report.sections.routes);
      const peersBefore = store.get('node-00001')!.report.sections.routes;
      const perReport = (withMetric(2).sections.routes.data as { data: unknown[] }).data.length;
      const live = () => new Set(store.nodes().flatMap((n) => (n.report.sections.routes.status === 'ok' ? n.report.sections.routes.data.map((r) => JSON.stringify(r)) : []))).size;
      let max = 0;
      for (let seq = 2; seq < 40; seq++) {
        expect(store.ingest(withMetric(seq), T1).kind).toBe('accepted');
        max = Math.max(max, store.tableSizes().routes);
        if (seq === 2) oldest = store.get('node-00000')!;
      }
      // 38 reports brought 38 × perReport new routes; the table never held much more than twice the live ones
      expect(38 * perReport).toBeGreaterThan(4 * live());
      expect(max).toBeLessThanOrEqual(2 * live() + perReport);
      // the latest lists read right after compaction
      const routes = store.get('node-00000')!.report.sections.routes;
      expect(routes.status === 'ok' && routes.data.every((r) => r.metric === 39)).toBe(true);
      expect(JSON.parse(JSON.stringify(store.get('node-00001')!.report.sections.routes))).toEqual(JSON.parse(JSON.stringify(peersBefore)));
      // a NodeState taken before compaction still reads its own (old) table
      expect(oldest.report.sections.routes.status === 'ok' && oldest.report.sections.routes.data.every((r) => r.metric === 2)).toBe(true);
      expect(oldestRoutes).not.toBe(JSON.stringify(routes));
    });
  });

  // issue #17: a 5000-node compaction in one go paused ingest for ~0.5 s
  it('spreads a compaction over the ingests that follow; every node reads right throughout, and a new report mid-way lands in the new table', () => {
    const store = new ReportStore({ compactAbove: 20, compactIdsPerIngest: 5 });
    const n = 8;
    for (let i = 0; i < n; i++) store.ingest(Report.parse(toReport(meshSnapshot(i, n, 1), { agentId: `agent-${i}-aaaaaaaa`, seq: 1 })), T0);
    const withMetric = (i: number, seq: number) => {
      const r = toReport(meshSnapshot(i, n, seq), { agentId: `agent-${i}-aaaaaaaa`, seq });
      const routes = r.sections.routes.data as { status: 'ok'; data: { metric: number | null }[] };
      for (const x of routes.data) x.metric = seq;
      r.sections.routes.hash = hashSection(routes);
      return Report.parse(r);
    };
    const expected = new Map<number, unknown>(Array.from({ length: n }, (_, i) => [i, JSON.parse(JSON.stringify(meshSnapshot(i, n, 1).sections.routes)) as unknown]));
    const readsRight = () => {
      for (let i = 0; i < n; i++) expect(JSON.parse(JSON.stringify(store.get(`node-0000${i}`)!.report.sections.routes)), `node ${i}`).toEqual(expected.get(i));
    };
    const tables = () => new Set(store.nodes().map((x) => packedOf(x.report.sections.routes)!.table));
    let seq = 2;
    let spanned = 0;
    let sawTwoTables = false;
    // node 0 churns its routes until a compaction begins, then nodes 1.. report new routes while it runs
    while (store.compacting.length === 0) {
      expect(store.ingest(withMetric(0, seq), T1).kind).toBe('accepted');
      expected.set(0, JSON.parse(JSON.stringify(withMetric(0, seq).sections.routes.data)) as unknown);
      seq++;
      expect(seq).toBeLessThan(100);
    }
    expect(store.compacting).toEqual(['routes']);
    readsRight();
    for (let i = 1; store.compacting.length > 0; i = (i % (n - 1)) + 1) {
      sawTwoTables ||= tables().size === 2;
      const r = withMetric(i, seq++);
      expect(store.ingest(r, T1).kind).toBe('accepted');
      expected.set(i, JSON.parse(JSON.stringify(r.sections.routes.data)) as unknown);
      readsRight();
      spanned++;
      expect(spanned).toBeLessThan(50);
    }
    expect(spanned).toBeGreaterThan(1);
    expect(sawTwoTables).toBe(true);
    // done: every list on the one new table, which holds only the live entries (and those re-sent since)
    expect(tables().size).toBe(1);
    const live = new Set(store.nodes().flatMap((x) => (x.report.sections.routes.status === 'ok' ? x.report.sections.routes.data.map((r) => JSON.stringify(r)) : [])));
    expect(store.tableSizes().routes).toBeLessThanOrEqual(live.size + spanned * 12);
    readsRight();
  });

  describe('entry-level deltas for routes, neighbours, fdb and ipsets', () => {
    const AGENT = 'agent-aaaaaaaa';
    const DELTA = ['routes', 'neighbours', 'fdb'] as const;
    const meta = (seq: number) => ({ agentId: AGENT, seq, agentVersion: '0.1.0', intervalSeconds: 30, sentAt: T1 });
    const snap = (n: number, round: number) => meshSnapshot(0, n, round);
    /** node 0's report for an `n`-node mesh, as the agent builds it after `prev` (n0 nodes) was accepted */
    const deltaReport = (n0: number, n: number, seq: number) => {
      const prev = snap(n0, 1);
      const acked = new Map(SECTION_NAMES.map((name) => [name, hashSection(prev.sections[name])]));
      const ackedData = new Map<SectionName, unknown>([...DELTA, 'ipsets' as const].map((name) => [name, prev.sections[name]]));
      return buildReport({ snapshot: snap(n, seq), checks: [], findings: [] }, meta(seq), acked, new Set(), ackedData);
    };
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
    const start = (n: number) => {
      const store = new ReportStore();
      expect(store.ingest(Report.parse(toReport(snap(n, 1), { agentId: AGENT, seq: 1 })), T0).kind).toBe('accepted');
      return store;
    };

    it('a join travels as one-entry splices and resolves to exactly the new lists', () => {
      const store = start(20);
      const r = deltaReport(20, 21, 2);
      for (const name of DELTA) {
        expect(r.sections[name].data).toBeUndefined();
        expect(r.sections[name]).toMatchObject({ delta: { base: hashSection(snap(20, 1).sections[name]), splices: [{ remove: 0, insert: [expect.anything()] }] } });
      }
      const sizes = store.tableSizes();
      const res = store.ingest(Report.parse(JSON.parse(JSON.stringify(r))), T1);
      expect(res).toMatchObject({ kind: 'accepted', changed: expect.arrayContaining([...DELTA]) });
      const held = store.get('node-00000')!.report.sections;
      for (const name of DELTA) {
        expect(plain(held[name])).toEqual(plain(snap(21, 2).sections[name]));
        expect(packedOf(held[name])).not.toBeNull();
      }
      // only the joined peer's entries were interned
      expect(store.tableSizes()).toMatchObject({ routes: sizes.routes + 1, neighbours: sizes.neighbours + 1, fdb: sizes.fdb + 1 });
      // and the next report against the new hashes is hash-only
      const next = buildReport({ snapshot: snap(21, 2), checks: [], findings: [] }, meta(3), new Map(SECTION_NAMES.map((n) => [n, hashSection(snap(21, 2).sections[n])])), new Set());
      expect(store.ingest(Report.parse(next), T1).kind).toBe('accepted');
    });

    it('a leave travels as a removal', () => {
      const store = start(20);
      const r = deltaReport(20, 19, 2);
      expect(r.sections.fdb).toMatchObject({ delta: { splices: [{ remove: 1, insert: [] }] } });
      expect(store.ingest(Report.parse(r), T1).kind).toBe('accepted');
      expect(plain(store.get('node-00000')!.report.sections.fdb)).toEqual(plain(snap(19, 2).sections.fdb));
    });

    it('an unknown base is 409 SECTIONS_REQUIRED for that section; the store and its tables stay as they were', () => {
      const store = start(20);
      const before = store.get('node-00000');
      const sizes = store.tableSizes();
      const r = Report.parse(deltaReport(20, 21, 2));
      (r.sections.neighbours as { delta: { base: string } }).delta.base = 'd'.repeat(64);
      expect(store.ingest(r, T1)).toEqual({ kind: 'sections-required', node: 'node-00000', sections: ['neighbours'] });
      expect(store.get('node-00000')).toBe(before);
      expect(store.tableSizes()).toEqual(sizes);
    });

    it('a delta whose result does not hash to `hash` is 409 SECTIONS_REQUIRED, nothing changes', () => {
      const store = start(20);
      const before = store.get('node-00000');
      const sizes = store.tableSizes();
      const r = Report.parse(deltaReport(20, 21, 2));
      const d = (r.sections.routes as { delta: { splices: { insert: { dst: string }[] }[] } }).delta;
      d.splices[0]!.insert[0]!.dst = '10.99.0.0/26';
      expect(store.ingest(r, T1)).toEqual({ kind: 'sections-required', node: 'node-00000', sections: ['routes'] });
      expect(store.get('node-00000')).toBe(before);
      expect(store.tableSizes()).toEqual(sizes);
    });

    it('a delta for a node never seen, or against a held unavailable section, is 409', () => {
      expect(new ReportStore().ingest(Report.parse(deltaReport(20, 21, 2)), T1)).toMatchObject({ kind: 'sections-required', sections: expect.arrayContaining(['routes', 'neighbours', 'fdb']) });
      const store = new ReportStore();
      const first = toReport(snap(20, 1), { agentId: AGENT, seq: 1 });
      const unavailable = { status: 'unavailable', reason: 'not-present', detail: 'x' } as const;
      first.sections.fdb = { hash: hashSection(unavailable), data: unavailable };
      expect(store.ingest(Report.parse(first), T0).kind).toBe('accepted');
      const r = Report.parse(deltaReport(20, 21, 2));
      (r.sections.fdb as { delta: { base: string } }).delta.base = first.sections.fdb.hash;
      expect(store.ingest(r, T1)).toMatchObject({ kind: 'sections-required', sections: ['fdb'] });
    });

    it('splices out of the held list\'s range are delta-invalid (400), nothing changes', () => {
      const store = start(20);
      const before = store.get('node-00000');
      const r = Report.parse(deltaReport(20, 21, 2));
      (r.sections.fdb as { delta: { splices: { at: number; remove: number }[] } }).delta.splices[0]!.at = 19;
      (r.sections.fdb as { delta: { splices: { at: number; remove: number }[] } }).delta.splices[0]!.remove = 5;
      const res = store.ingest(r, T1);
      expect(res).toMatchObject({ kind: 'delta-invalid', problems: [{ section: 'fdb', message: expect.stringMatching(/base list has 19 entries/) }] });
      expect(store.get('node-00000')).toBe(before);
    });

    describe('ipsets: splices of each host set\'s members', () => {
      type IpsetsSection = Sections['ipsets'];
      const hostSet = (name: string, members: string[]) => ({ name, type: 'hash:net', family: 'inet' as const, members });
      const ipsets = (...sets: ReturnType<typeof hostSet>[]): IpsetsSection => ({
        status: 'ok',
        data: { hostSets: sets, caliSetSizes: Object.fromEntries(sets.map((x) => [x.name, x.members.length])) },
      });
      const ips = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `172.16.${(from + k) >> 8}.${(from + k) & 255}`);
      const withIpsets = (round: number, section: IpsetsSection) => {
        const s0 = snap(20, round);
        return { ...s0, sections: { ...s0.sections, ipsets: section } };
      };
      /** store holding node 0 with `a`, and the agent's report going from `a` to `b` */
      const setup = (a: IpsetsSection, b: IpsetsSection) => {
        const store = new ReportStore();
        expect(store.ingest(Report.parse(toReport(withIpsets(1, a), { agentId: AGENT, seq: 1 })), T0).kind).toBe('accepted');
        const acked = new Map(SECTION_NAMES.map((name) => [name, hashSection(withIpsets(1, a).sections[name])]));
        const r = buildReport({ snapshot: withIpsets(1, b), checks: [], findings: [] }, meta(2), acked, new Set(), new Map([['ipsets', a]]));
        return { store, r };
      };

      it('a join travels as one inserted member and resolves to exactly the new section', () => {
        const store = start(100);
        const sizes = store.tableSizes();
        const r = deltaReport(100, 101, 2);
        expect(r.sections.ipsets).toMatchObject({ delta: { hostSets: [{ name: 'cali40all-hosts-net', splices: [{ remove: 0, insert: [nodeIP(100)] }] }] } });
        expect(store.ingest(Report.parse(JSON.parse(JSON.stringify(r))), T1)).toMatchObject({ kind: 'accepted', changed: expect.arrayContaining(['ipsets']) });
        const held = store.get('node-00000')!.report.sections;
        expect(plain(held.ipsets)).toEqual(plain(snap(101, 2).sections.ipsets));
        expect(held.ipsets.status === 'ok' && packedOf(held.ipsets.data.hostSets[0]!)).not.toBeNull();
        expect(store.tableSizes().members).toBe(sizes.members + 1);
      });

      it('host sets that appear, disappear and change are all rebuilt right', () => {
        const a = ipsets(hostSet('cali40all-hosts-net', ips(0, 200)), hostSet('felix-calico-hosts-4', ips(0, 200)));
        const b = ipsets(hostSet('cali40all-hosts-net', [...ips(0, 100), ...ips(101, 200)]), hostSet('cali40this-host', ['10.0.0.1']));
        const { store, r } = setup(a, b);
        expect(r.sections.ipsets).toHaveProperty('delta');
        expect(store.ingest(Report.parse(r), T1).kind).toBe('accepted');
        expect(plain(store.get('node-00000')!.report.sections.ipsets)).toEqual(plain(b));
      });

      it('a wrong result is 409, a splice outside a held set is 400, and neither changes anything', () => {
        const a = ipsets(hostSet('cali40all-hosts-net', ips(0, 200)));
        const b = ipsets(hostSet('cali40all-hosts-net', ips(0, 201)));
        const { store, r } = setup(a, b);
        const before = store.get('node-00000');
        const sizes = store.tableSizes();
        const wrong = Report.parse(r);
        (wrong.sections.ipsets as { delta: { hostSets: { splices: { insert: string[] }[] }[] } }).delta.hostSets[0]!.splices[0]!.insert = ['10.9.9.9'];
        expect(store.ingest(wrong, T1)).toEqual({ kind: 'sections-required', node: 'node-00000', sections: ['ipsets'] });
        const outside = Report.parse(r);
        (outside.sections.ipsets as { delta: { hostSets: { splices: { at: number; remove: number }[] }[] } }).delta.hostSets[0]!.splices[0]!.remove = 1;
        expect(store.ingest(outside, T1)).toMatchObject({ kind: 'delta-invalid', problems: [{ section: 'ipsets', message: expect.stringMatching(/host set "cali40all-hosts-net": splice 0: .*200 entries/) }] });
        expect(store.get('node-00000')).toBe(before);
        expect(store.tableSizes()).toEqual(sizes);
        expect(store.ingest(Report.parse(r), T1).kind).toBe('accepted');
      });
    });

    it('applies deltas against a held list whose table was compacted', () => {
      const store = new ReportStore({ compactAbove: 1 });
      for (let i = 1; i < 3; i++) store.ingest(Report.parse(toReport(meshSnapshot(i, 20, 1), { agentId: `agent-${i}bbbbbbb`, seq: 1 })), T0);
      expect(store.ingest(Report.parse(toReport(snap(20, 1), { agentId: AGENT, seq: 1 })), T0).kind).toBe('accepted');
      const r = deltaReport(20, 21, 2);
      expect(store.ingest(Report.parse(r), T1).kind).toBe('accepted');
      expect(plain(store.get('node-00000')!.report.sections.routes)).toEqual(plain(snap(21, 2).sections.routes));
    });
  });

  it('forgets a removed node', () => {
    const store = new ReportStore();
    store.ingest(full(1, 1), T0);
    expect(store.remove('node-00001')).toBe(true);
    expect(store.get('node-00001')).toBeUndefined();
    expect(store.nodes()).toEqual([]);
  });
});
