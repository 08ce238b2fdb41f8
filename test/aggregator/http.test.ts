import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ackedOf, meshSnapshot, toReport } from '../../bench/aggregator-mesh.js';
import type { FindingDraft } from '../../contract/finding.js';
import type { Report } from '../../contract/report.js';
import type { Clock } from '../../common/clock.js';
import { CorrelationEngine, type CorrelateFn } from '../../aggregator/engine.js';
import { buildAggregatorApp } from '../../aggregator/http/app.js';
import { createAggregatorMetrics } from '../../aggregator/metrics.js';
import { ReportStore } from '../../aggregator/cluster/store.js';
import { buildReport } from '../../agent/push.js';
import { hashSection } from '../../contract/hash.js';
import { SECTION_NAMES, type SectionName } from '../../contract/snapshot.js';

const TOKEN = 'test-token-123';
const auth = { authorization: `Bearer ${TOKEN}` };

const fixedClock = (ms = Date.parse('2026-01-01T00:01:00.000Z')): Clock & { set(ms: number): void } => {
  let t = ms;
  return { now: () => t, monotonic: () => t, set: (v) => void (t = v) };
};

/** A stand-in for aggregator/correlate: one finding per node named in `bad`. */
const fakeCorrelate =
  (bad: Record<string, FindingDraft[]> = {}): CorrelateFn =>
  ({ nodes }) => ({
    map: { nodes: [] },
    findings: nodes.flatMap((n) => bad[n.node] ?? []),
  });

const draft = (node: string, rule: string, severity: 'critical' | 'warning' | 'info', peer?: string): FindingDraft => ({
  rule,
  severity,
  node,
  ...(peer ? { peer } : {}),
  summary: `${rule} on ${node}`,
  evidence: { seen: 'x', expected: 'y', details: {} },
  remedy: 'fix it',
});

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

const setup = async (opts: { bodyLimit?: number; bad?: Record<string, FindingDraft[]>; maxConcurrentReports?: number; maxNodes?: number; knownNodes?: ReadonlySet<string> | null } = {}) => {
  const registry = new Registry();
  const metrics = createAggregatorMetrics(registry);
  const logger = pino({ level: 'silent' });
  const store = new ReportStore();
  const clock = fixedClock();
  const engine = new CorrelationEngine({ store, correlate: fakeCorrelate(opts.bad), metrics, logger, clock, staleAfterIntervals: 3, debounceMs: 60_000 });
  const app = await buildAggregatorApp({ store, engine, metrics, registry, token: () => TOKEN, logger, clock, staleAfterIntervals: 3, ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}), ...(opts.maxConcurrentReports ? { maxConcurrentReports: opts.maxConcurrentReports } : {}), ...(opts.maxNodes ? { maxNodes: opts.maxNodes } : {}), ...(opts.knownNodes !== undefined ? { knownNodes: () => opts.knownNodes ?? null } : {}) });
  apps.push({ close: async () => { await engine.stop(); await app.close(); } });
  const post = (payload: unknown, headers: Record<string, string> = auth) =>
    app.inject({ method: 'POST', url: '/v1/reports', payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });
  const get = (url: string, headers: Record<string, string> = auth) => app.inject({ method: 'GET', url, headers });
  return { app, store, engine, registry, metrics, clock, post, get };
};

const report = (i: number, seq: number, acked?: Map<string, string>, n = 3): Report => toReport(meshSnapshot(i, n, seq), { agentId: 'agent-aaaaaaaa', seq }, acked);

describe('aggregator/http POST /v1/reports', () => {
  it('needs the bearer token', async () => {
    const { post, store } = await setup();
    expect((await post(report(0, 1), {})).statusCode).toBe(401);
    const wrong = await post(report(0, 1), { authorization: 'Bearer nope' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(store.size).toBe(0);
  });

  // issue #3
  it('with one ingestion slot, concurrent reports (and refused ones) all complete and leave no slot held', async () => {
    const { post, store } = await setup({ maxConcurrentReports: 1 });
    const results = await Promise.all([
      post(report(0, 1)),
      post(report(1, 1)),
      post('{"broken":', auth),
      post(report(2, 1), { authorization: 'Bearer wrong' }),
      post(report(2, 1)),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 400, 401, 200]);
    expect(store.nodes().map((n) => n.node).sort()).toEqual(['node-00000', 'node-00001', 'node-00002']);
    // a later report still gets the slot: nothing leaked
    expect((await post(report(0, 2))).statusCode).toBe(200);
  });

  it('accepts a full report', async () => {
    const { post, store } = await setup();
    const res = await post(report(0, 1));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: true, node: 'node-00000', seq: 1 });
    expect(store.get('node-00000')?.report.seq).toBe(1);
  });

  it('answers malformed JSON with 400 INVALID_BODY', async () => {
    const { post } = await setup();
    const res = await post('{"schemaVersion": 1,');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_BODY' });
  });

  it('answers a body off the schema with 400 and the zod issues', async () => {
    const { post, store } = await setup();
    const r = report(0, 1) as unknown as Record<string, unknown>;
    const res = await post({ ...r, seq: -1, sections: { ...(r.sections as object), routes: { hash: 'not-hex' } } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('INVALID_REQUEST');
    const paths = body.details.map((d: { path: string }) => d.path);
    expect(paths).toContain('/seq');
    expect(paths).toContain('/sections/routes/hash');
    expect(store.size).toBe(0);
  });

  it('refuses node names that are not RFC 1123 names', async () => {
    const { post } = await setup();
    for (const node of ['node;rm -rf /', '../etc', 'Node-A', '$(id)', 'a b']) {
      const res = await post({ ...report(0, 1), node });
      expect(res.statusCode, node).toBe(400);
    }
  });

  it('answers an oversized body with 413', async () => {
    const { post, store, registry } = await setup({ bodyLimit: 4096 });
    const res = await post(report(0, 1));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(store.size).toBe(0);
    expect(await registry.getSingleMetricAsString('calico_diag_reports_total')).toMatch(/outcome="too_large"} 1/);
  });

  it('ignores an older seq with 409 STALE_REPORT and leaves the store unchanged', async () => {
    const { post, store } = await setup();
    expect((await post(report(0, 5))).statusCode).toBe(200);
    const held = store.get('node-00000');
    const res = await post(report(0, 4));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'STALE_REPORT', details: { seq: 4, lastSeq: 5 } });
    expect(store.get('node-00000')).toBe(held);
  });

  it('accepts a hash-only delta when the hashes are known, asks for sections when not', async () => {
    const { post, store, registry } = await setup();
    const first = report(0, 1, undefined, 50);
    expect((await post(first)).statusCode).toBe(200);
    const delta = report(0, 2, ackedOf(first), 50);
    expect(delta.sections.routes.data).toBeUndefined();
    const bytes = JSON.stringify(delta).length;
    expect(bytes).toBeLessThan(JSON.stringify(first).length / 2);
    expect((await post(delta)).statusCode).toBe(200);
    expect(store.get('node-00000')?.report.sections.routes.status).toBe('ok');

    const unknown = report(0, 3, ackedOf(delta), 50);
    unknown.sections.neighbours = { hash: 'b'.repeat(64) };
    const res = await post(unknown);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'SECTIONS_REQUIRED', sections: ['neighbours'] });
    expect(store.get('node-00000')?.report.seq).toBe(2);
    const text = await registry.getSingleMetricAsString('calico_diag_reports_total');
    expect(text).toMatch(/outcome="accepted"} 2/);
    expect(text).toMatch(/outcome="sections_required"} 1/);
  });

  it('asks a node it has never seen for every section (aggregator restarted)', async () => {
    const { post } = await setup();
    const r = report(1, 7);
    const next = report(1, 8, ackedOf(r));
    const hashOnly = Object.entries(next.sections).filter(([, s]) => s.data === undefined).map(([n]) => n);
    expect(hashOnly).toContain('routes');
    const res = await post(next);
    expect(res.statusCode).toBe(409);
    expect(res.json().sections).toEqual(hashOnly);
  });

  it('rejects data that does not match its hash', async () => {
    const { post } = await setup();
    const r = report(0, 1);
    r.sections.sysctls.hash = 'c'.repeat(64);
    const res = await post(r);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'SECTION_HASH_MISMATCH', details: { sections: ['sysctls'] } });
  });
});

describe('aggregator/http POST /v1/reports with entry-level deltas', () => {
  const DELTA = ['routes', 'neighbours', 'fdb'] as const;
  /** node 0's report for an `n`-node mesh, as the agent builds it once the `n0`-node one was accepted */
  const joinReport = (n0: number, n: number, seq: number): Report => {
    const prev = meshSnapshot(0, n0, 1);
    const acked = new Map(SECTION_NAMES.map((name) => [name, hashSection(prev.sections[name])]));
    const ackedData = new Map<SectionName, unknown>([...DELTA, 'ipsets' as const].map((name) => [name, prev.sections[name]]));
    return buildReport({ snapshot: meshSnapshot(0, n, seq), checks: [], findings: [] }, { agentId: 'agent-aaaaaaaa', seq, agentVersion: '0.1.0', intervalSeconds: 30, sentAt: '2026-01-01T00:00:30.000Z' }, acked, new Set(), ackedData);
  };
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
  type Spliced = { delta: { base: string; splices: { at: number; remove: number; insert: unknown[] }[] } };

  it('takes a join as deltas, serves the resulting lists, and counts section forms', async () => {
    const { post, get, store, registry } = await setup();
    expect((await post(report(0, 1, undefined, 100))).statusCode).toBe(200);
    const join = joinReport(100, 101, 2);
    const fullBytes = JSON.stringify(report(0, 2, undefined, 101)).length;
    expect(JSON.stringify(join).length).toBeLessThan(fullBytes / 5);
    const res = await post(join);
    expect(res.statusCode).toBe(200);
    const held = store.get('node-00000')!.report.sections;
    for (const name of [...DELTA, 'ipsets'] as const) expect(plain(held[name])).toEqual(plain(meshSnapshot(0, 101, 2).sections[name]));
    const node = (await get('/v1/nodes/node-00000')).json();
    expect(node.report.sections.routes).toEqual(plain(meshSnapshot(0, 101, 2).sections.routes));
    expect(node.report.sections.ipsets).toEqual(plain(meshSnapshot(0, 101, 2).sections.ipsets));
    const text = await registry.getSingleMetricAsString('calico_diag_report_sections_total');
    // first report: 10 full; the join: routes, neighbours, fdb, ipsets as deltas, links/iptables/sysctls full, 3 unchanged
    expect(text).toMatch(/form="delta"} 4/);
    expect(text).toMatch(/form="full"} 13/);
    expect(text).toMatch(/form="unchanged"} 3/);
  });

  it('answers a delta against an unknown base with 409 SECTIONS_REQUIRED and keeps the store', async () => {
    const { post, store } = await setup();
    expect((await post(report(0, 1, undefined, 40))).statusCode).toBe(200);
    const before = store.get('node-00000');
    const join = joinReport(39, 41, 2);
    const res = await post(join);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'SECTIONS_REQUIRED', sections: expect.arrayContaining([...DELTA]) });
    expect(store.get('node-00000')).toBe(before);
  });

  it('refuses malformed deltas with 400 and a clear body, never a crash', async () => {
    const { post, store } = await setup();
    expect((await post(report(0, 1, undefined, 40))).statusCode).toBe(200);
    const before = store.get('node-00000');
    const variants: [string, (d: Spliced['delta']) => void, RegExp][] = [
      ['negative at', (d) => void (d.splices[0]!.at = -1), /\/sections\/routes\/delta\/splices\/0\/at/],
      ['overlapping', (d) => void (d.splices = [{ at: 5, remove: 2, insert: [] }, { at: 6, remove: 0, insert: [] }]), /overlaps/],
      ['unsorted', (d) => void (d.splices = [{ at: 6, remove: 0, insert: [] }, { at: 2, remove: 0, insert: [] }]), /sorted/],
      ['huge insert', (d) => void (d.splices[0]!.insert = Array.from({ length: 5000 }, () => d.splices[0]!.insert[0])), /splices\/0\/insert/],
      ['not an entry', (d) => void (d.splices[0]!.insert = [{ nonsense: true }]), /insert/],
      ['too many splices', (d) => void (d.splices = Array.from({ length: 100 }, (_, k) => ({ at: k, remove: 0, insert: [] }))), /splices/],
    ];
    for (const [what, spoil, detail] of variants) {
      const r = joinReport(40, 41, 2) as unknown as { sections: Record<string, Spliced> };
      spoil(r.sections.routes!.delta);
      const res = await post(r);
      expect(res.statusCode, what).toBe(400);
      expect(res.json(), what).toMatchObject({ code: 'INVALID_REQUEST' });
      expect(JSON.stringify(res.json().details), what).toMatch(detail);
    }
    // in range for the schema, out of range for the held list: 400 SECTION_DELTA_INVALID
    const r = joinReport(40, 41, 2) as unknown as { sections: Record<string, Spliced> };
    r.sections.fdb!.delta.splices = [{ at: 39, remove: 3, insert: [] }];
    const res = await post(r);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'SECTION_DELTA_INVALID', details: { problems: [{ section: 'fdb', message: expect.stringMatching(/39 entries/) }] } });
    expect(res.json().message).toMatch(/fdb: splice 0/);
    expect(store.get('node-00000')).toBe(before);
    // and the store still takes the good delta
    expect((await post(joinReport(40, 41, 2))).statusCode).toBe(200);
  });
});

describe('aggregator/http read routes', () => {
  const seeded = async () => {
    const ctx = await setup({
      bad: {
        'node-00000': [draft('node-00000', 'vxlan-fdb-mismatch', 'critical', 'node-00001'), draft('node-00000', 'route-missing', 'warning', 'node-00002')],
        'node-00001': [draft('node-00001', 'route-missing', 'warning', 'node-00000')],
      },
    });
    for (let i = 0; i < 3; i++) expect((await ctx.post(report(i, 1))).statusCode).toBe(200);
    await ctx.engine.trigger();
    return ctx;
  };

  it('filters findings by node, rule and severity', async () => {
    const { get } = await seeded();
    expect((await get('/v1/findings')).json().findings).toHaveLength(3);
    expect((await get('/v1/findings?node=node-00000')).json().findings).toHaveLength(2);
    const byRule = (await get('/v1/findings?rule=route-missing')).json().findings;
    expect(byRule.map((f: { node: string }) => f.node).sort()).toEqual(['node-00000', 'node-00001']);
    const crit = (await get('/v1/findings?severity=critical')).json().findings;
    expect(crit).toHaveLength(1);
    expect(crit[0]).toMatchObject({ id: 'vxlan-fdb-mismatch/node-00000/node-00001/', peer: 'node-00001', firstSeen: '2026-01-01T00:01:00.000Z' });
    expect((await get('/v1/findings?node=node-00002&severity=warning')).json().findings).toEqual([]);
  });

  it('refuses a bad severity or rule filter with 400', async () => {
    const { get } = await seeded();
    const res = await get('/v1/findings?severity=fatal');
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID_REQUEST');
    expect((await get('/v1/findings?rule=Not%20A%20Rule')).statusCode).toBe(400);
    expect((await get('/v1/findings', {})).statusCode).toBe(401);
  });

  it('lists nodes with staleness and finding counts', async () => {
    const { get, clock } = await seeded();
    const nodes = (await get('/v1/nodes')).json().nodes;
    expect(nodes.map((n: { name: string }) => n.name)).toEqual(['node-00000', 'node-00001', 'node-00002']);
    expect(nodes[0]).toMatchObject({ stale: false, seq: 1, mode: { encapsulation: 'vxlan' }, findings: { critical: 1, warning: 1, info: 0 } });
    clock.set(Date.parse('2026-01-01T00:03:00.000Z')); // 120 s later > 3 × 30 s
    expect((await get('/v1/nodes')).json().nodes[0].stale).toBe(true);
  });

  it("returns a node's resolved report, 404 for unknown nodes, 4xx for hostile names", async () => {
    const { get } = await seeded();
    const ok = await get('/v1/nodes/node-00001');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ name: 'node-00001', report: { seq: 1, sections: { routes: { status: 'ok' } } }, findings: [{ rule: 'route-missing' }] });
    // issue #3: the store holds the per-peer lists packed; the node's report comes back whole
    const sent = report(1, 1).sections;
    for (const name of ['routes', 'neighbours', 'fdb', 'ipsets'] as const) expect(ok.json().report.sections[name], name).toEqual(sent[name].data);
    const missing = await get('/v1/nodes/node-99999');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'NOT_FOUND' });
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '%3Bcat%20%2Fetc%2Fshadow', '%24(reboot)', 'a%00b', '..', 'a'.repeat(300), 'a'.repeat(5000), '%E2%98%83', 'node%7Cls']) {
      const res = await get(`/v1/nodes/${name}`);
      // 414 only for names far beyond the 253 characters a node name may have
      expect(name.length > 512 ? [414] : [400, 404], name.slice(0, 40)).toContain(res.statusCode);
      expect(res.json().code, name.slice(0, 40)).toBeTypeOf('string');
    }
    expect((await get('/v1/nodes/node-00001', {})).statusCode).toBe(401);
  });

  it('serves the cluster map and open health, readiness, metrics', async () => {
    const { get, app } = await seeded();
    expect((await get('/v1/cluster')).json()).toEqual({ nodes: [] });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready', nodes: 3 });
    const m = await app.inject({ method: 'GET', url: '/metrics' });
    expect(m.statusCode).toBe(200);
    expect(m.body).toMatch(/calico_diag_findings\{rule="route-missing",severity="warning"} 2/);
    expect(m.body).toMatch(/calico_diag_finding_active\{rule="vxlan-fdb-mismatch",severity="critical",node="node-00000",peer="node-00001"} 1/);
    expect(m.body).toMatch(/calico_diag_node_last_report_timestamp_seconds\{node="node-00002"} \d+/);
    expect(m.body).toMatch(/calico_diag_nodes\{state="reporting"} 3/);
  });

  it('publishes an OpenAPI document generated from the schemas', async () => {
    const { app } = await seeded();
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/v1/reports', '/v1/findings', '/v1/nodes', '/v1/nodes/{name}', '/v1/cluster', '/healthz', '/readyz']) expect(Object.keys(doc.paths), p).toContain(p);
    expect(doc.paths['/v1/reports'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('sections');
    expect(doc.paths['/v1/findings'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['node', 'rule', 'severity']);
    expect(doc.paths['/v1/findings'].get.security).toEqual([{ bearer: [] }]);
  });

  it('lets extensions add authenticated /v1 routes', async () => {
    const registry = new Registry();
    const metrics = createAggregatorMetrics(registry);
    const logger = pino({ level: 'silent' });
    const store = new ReportStore();
    const clock = fixedClock();
    const engine = new CorrelationEngine({ store, correlate: fakeCorrelate(), metrics, logger, clock, staleAfterIntervals: 3 });
    const app = await buildAggregatorApp({
      store, engine, metrics, registry, token: () => TOKEN, logger, clock, staleAfterIntervals: 3,
      extensions: [(scope) => void scope.get('/v1/extra', async () => ({ ok: true }))],
    });
    apps.push(app);
    expect((await app.inject({ method: 'GET', url: '/v1/extra' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/extra', headers: auth })).json()).toEqual({ ok: true });
  });
});

describe('aggregator/http report bounds', () => {
  const withFinding = (r: Report, over: Partial<Report['findings'][number]>): Report => ({
    ...r,
    findings: [
      {
        id: 'tunnel-mtu/node-00000//vxlan.calico',
        rule: 'tunnel-mtu',
        severity: 'warning',
        node: r.node,
        summary: 's',
        evidence: { seen: 'x', expected: 'y', details: {} },
        remedy: 'r',
        firstSeen: '2026-01-01T00:00:00.000Z',
        lastSeen: '2026-01-01T00:00:00.000Z',
        ...over,
      },
    ],
  });

  // #16: a report whose finding details nested thousands of levels deep was accepted, and the
  // findings API then answered 500 to everyone
  it('refuses a report nested thousands of levels deep with 400, and the findings API keeps answering', async () => {
    const { post, get, store } = await setup();
    // the deep part is written as text: JSON.stringify itself recurses
    const body = JSON.stringify(withFinding(report(0, 1), { evidence: { seen: 'x', expected: 'y', details: { nested: 'DEEP' } } }));
    const res = await post(body.replace('"DEEP"', `${'{"nested":'.repeat(5000)}{}${'}'.repeat(5000)}`));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BODY_LIMITS' });
    expect(res.json().message).toMatch(/\$\.findings\[0\]\.evidence\.details(\.nested)+: nested deeper than 16 levels/);
    expect(store.size).toBe(0);
    expect((await post(report(1, 1))).statusCode).toBe(200);
    expect((await get('/v1/findings')).statusCode).toBe(200);
  });

  it('refuses a report with a megabyte-long string', async () => {
    const { post } = await setup();
    const res = await post(withFinding(report(0, 1), { summary: 'x'.repeat(1024 * 1024) }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BODY_LIMITS' });
  });

  // #16: the token's holder could plant findings in another node's name
  it('refuses a report carrying a finding for another node', async () => {
    const { post, store } = await setup();
    const res = await post(withFinding(report(0, 1), { node: 'node-00001' }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'FINDING_NODE_MISMATCH' });
    expect(store.size).toBe(0);
  });
});

describe('aggregator/http node bounds', () => {
  // #16: 100k invented node names took the aggregator to 3 GiB (limit 2 GiB)
  it('refuses a new node past --max-nodes while the datastore cannot say which nodes exist; known nodes keep reporting', async () => {
    const { post, store } = await setup({ maxNodes: 2 });
    expect((await post(report(0, 1))).statusCode).toBe(200);
    expect((await post(report(1, 1))).statusCode).toBe(200);
    const third = await post(report(2, 1));
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ code: 'TOO_MANY_NODES' });
    expect((await post(report(0, 2))).statusCode).toBe(200);
    expect(store.size).toBe(2);
  });

  it('refuses a node name the datastore does not know', async () => {
    const { post, store } = await setup({ knownNodes: new Set(['node-00000']) });
    expect((await post(report(0, 1))).statusCode).toBe(200);
    const unknown = await post(report(1, 1));
    expect(unknown.statusCode).toBe(403);
    expect(unknown.json()).toMatchObject({ code: 'UNKNOWN_NODE' });
    expect(store.size).toBe(1);
  });
});
