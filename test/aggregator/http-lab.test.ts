/**
 * issue #3 end to end on real data: reports built from the outputs recorded in the namespace lab
 * (test/fixtures/lab, see its SOURCES.md) go through POST /v1/reports, full then hash-only, and
 * the real correlate() finds the recorded fault through GET /v1/findings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ackedOf, toReport } from '../../bench/aggregator-mesh.js';
import { ok, unavailable, type Parsed } from '../../contract/result.js';
import type { Sections, Snapshot } from '../../contract/snapshot.js';
import { deriveIdentity } from '../../agent/derive/identity.js';
import { deriveMode } from '../../agent/derive/mode.js';
import { parseBridgeFdbJson } from '../../agent/parsers/bridge-fdb.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../agent/parsers/ip-json.js';
import { parseIpsetSave } from '../../agent/parsers/ipset.js';
import { correlate } from '../../aggregator/correlate/index.js';
import { CorrelationEngine } from '../../aggregator/engine.js';
import { buildAggregatorApp } from '../../aggregator/http/app.js';
import { createAggregatorMetrics } from '../../aggregator/metrics.js';
import { ReportStore } from '../../aggregator/cluster/store.js';

const LAB = join(import.meta.dirname, '../fixtures/lab');
const read = (dir: string, file: string) => readFileSync(join(LAB, dir, file), 'utf8');
const must = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`fixture did not parse: ${p.error.message}`);
  return p.value;
};
const T0 = '2026-01-01T00:00:00.000Z';

const snapshotFrom = (dir: string, node: string): Snapshot => {
  const sets = must(parseIpsetSave(read(dir, 'ipset-save.txt')));
  const sections: Sections = {
    links: ok(must(parseIpLinks(read(dir, 'ip-j-d-s-link-show.json')))),
    addresses: ok(must(parseIpAddrs(read(dir, 'ip-j-addr-show.json')))),
    routes: ok([...must(parseIpRoutes(read(dir, 'ip-j-route-show-table-all.json'), 'inet')), ...must(parseIpRoutes(read(dir, 'ip-j-6-route-show-table-all.json'), 'inet6'))]),
    neighbours: ok(must(parseIpNeigh(read(dir, 'ip-j-neigh-show.json')))),
    fdb: ok(must(parseBridgeFdbJson(read(dir, 'bridge-j-fdb-show.json'))).filter((e) => e.dev === 'vxlan.calico')),
    sysctls: unavailable('not-present', 'not built in this test'),
    iptables: unavailable('not-present', 'not built in this test'),
    ipsets: ok({ hostSets: sets.filter((s) => s.name === 'cali40all-hosts-net'), caliSetSizes: Object.fromEntries(sets.map((s) => [s.name, s.members.length])) }),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: unavailable('not-present', 'no BIRD socket'),
  };
  const identity = deriveIdentity(sections);
  return { schemaVersion: 1, node, takenAt: T0, durationMs: 50, agentVersion: '0.1.0', sections, timings: {}, mode: deriveMode(sections, identity), identity };
};

describe('aggregator API over reports built from the recorded lab', () => {
  it('finds the recorded wrong neighbour MAC after full and hash-only reports, and clears it when fixed', async () => {
    let now = Date.parse(T0);
    const clock = { now: () => now, monotonic: () => now };
    const registry = new Registry();
    const metrics = createAggregatorMetrics(registry);
    const logger = pino({ level: 'silent' });
    const store = new ReportStore();
    const engine = new CorrelationEngine({ store, correlate, metrics, logger, clock, staleAfterIntervals: 3, debounceMs: 60_000 });
    const app = await buildAggregatorApp({ store, engine, metrics, registry, token: () => 't0ken', logger, clock, staleAfterIntervals: 3 });
    const post = (body: unknown) =>
      app.inject({ method: 'POST', url: '/v1/reports', payload: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: 'Bearer t0ken' } });
    const findings = async () => (await app.inject({ method: 'GET', url: '/v1/findings', headers: { authorization: 'Bearer t0ken' } })).json().findings as { rule: string; node: string; peer?: string; firstSeen: string }[];
    try {
      const sent = new Map<string, ReturnType<typeof toReport>>();
      const cases: [string, string][] = [['neighbor-mac-wrong-node1', 'node1'], ['healthy-node2', 'node2'], ['healthy-node3', 'node3']];
      for (const [dir, node] of cases) {
        const r = toReport(snapshotFrom(dir, node), { agentId: `agent-${node}-0001`, seq: 1, intervalSeconds: 10 });
        expect((await post(r)).statusCode).toBe(200);
        sent.set(node, r);
      }
      await engine.trigger();
      expect((await findings()).map((f) => [f.rule, f.node, f.peer])).toEqual([['vxlan-neighbor-mac-mismatch', 'node1', 'node2']]);

      // next interval: nothing changed, every section travels as a hash only
      now += 10_000;
      for (const [dir, node] of cases) {
        const r = toReport(snapshotFrom(dir, node), { agentId: `agent-${node}-0001`, seq: 2, intervalSeconds: 10 }, ackedOf(sent.get(node)!));
        expect(Object.values(r.sections).every((s) => s.data === undefined)).toBe(true);
        expect((await post(r)).statusCode).toBe(200);
      }
      await engine.trigger();
      const still = await findings();
      expect(still).toHaveLength(1);
      expect(still[0]!.firstSeen).toBe(T0);

      // node1 fixed: its neighbours section changes and travels with data; the finding clears
      now += 10_000;
      const fixed = toReport(snapshotFrom('healthy-node1', 'node1'), { agentId: 'agent-node1-0001', seq: 3, intervalSeconds: 10 }, ackedOf(sent.get('node1')!));
      expect(fixed.sections.neighbours.data).toBeDefined();
      expect((await post(fixed)).statusCode).toBe(200);
      await engine.trigger();
      expect(await findings()).toEqual([]);
      const nodes = (await app.inject({ method: 'GET', url: '/v1/nodes', headers: { authorization: 'Bearer t0ken' } })).json().nodes;
      expect(nodes.map((n: { name: string; mode: { encapsulation: string } }) => [n.name, n.mode.encapsulation])).toEqual([
        ['node1', 'vxlan'],
        ['node2', 'vxlan'],
        ['node3', 'vxlan'],
      ]);
    } finally {
      await engine.stop();
      await app.close();
    }
  });
});
