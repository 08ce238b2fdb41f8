import { describe, expect, it } from 'vitest';
import { ackedOf, meshSnapshot, nodeIP, toReport } from '../../bench/aggregator-mesh.js';
import { hashSection } from '../../contract/hash.js';
import { Report } from '../../contract/report.js';
import { Interner, ReportStore } from '../../aggregator/store.js';

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

  it('keeps the intern table bounded', () => {
    const interner = new Interner(10);
    for (let i = 0; i < 100; i++) interner.value({ i });
    expect(interner.size).toBeLessThanOrEqual(20);
    const a = interner.value({ x: 1 });
    expect(interner.value({ x: 1 })).toBe(a);
  });

  it('forgets a removed node', () => {
    const store = new ReportStore();
    store.ingest(full(1, 1), T0);
    expect(store.remove('node-00001')).toBe(true);
    expect(store.get('node-00001')).toBeUndefined();
    expect(store.nodes()).toEqual([]);
  });
});
