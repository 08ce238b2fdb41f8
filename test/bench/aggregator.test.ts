import { describe, expect, it } from 'vitest';
import { MeshReports } from '../../bench/aggregator.js';
import { ackedOf, meshSnapshot, toReport, type MeshFaults } from '../../bench/aggregator-mesh.js';
import { buildReport } from '../../agent/push.js';
import { hashSection } from '../../contract/hash.js';
import { Report } from '../../contract/report.js';
import { SECTION_NAMES, type SectionName } from '../../contract/snapshot.js';

const faults: MeshFaults = { wrongNeighbourMac: [{ at: 1, peer: 2 }], missingRoute: [{ at: 3, peer: 4 }], missingFromIpset: [{ at: 5, peer: 6 }] };
const takenAt = (round: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + round * 30_000).toISOString();

describe('bench/aggregator report text', () => {
  it('equals the JSON of the report an agent would send, full and steady', () => {
    const n = 10;
    const mesh = new MeshReports(n, faults);
    for (const i of [0, 1, 3, 5, 9]) {
      const full = mesh.body(i, 1, { full: true });
      const expected = toReport(meshSnapshot(i, n, 1, faults, takenAt(1)), { agentId: `bench-agent-${i}`, seq: 1, intervalSeconds: 30 });
      expect(full.text).toBe(JSON.stringify(expected));
      expect(Report.safeParse(JSON.parse(full.text)).success).toBe(true);
      mesh.ack(i, full.hashes);
      const steady = mesh.body(i, 2);
      const expectedSteady = toReport(meshSnapshot(i, n, 2, faults, takenAt(2)), { agentId: `bench-agent-${i}`, seq: 2, intervalSeconds: 30 }, ackedOf(expected));
      expect(steady.text).toBe(JSON.stringify(expectedSteady));
      expect(expectedSteady.sections.routes.data).toBeUndefined();
      expect(expectedSteady.sections.iptables.data).toBeDefined();
    }
  });

  // issue #3
  it.each([12, 100])('a join and a leave with deltas equal what the agent sends (buildReport), %i nodes', (n) => {
    const mesh = new MeshReports(n, faults);
    const agentReport = (i: number, nodes: number, prevNodes: number, round: number, seq: number) => {
      const prev = meshSnapshot(i, prevNodes, 1, faults, takenAt(1));
      const snapshot = meshSnapshot(i, nodes, round, faults, takenAt(round));
      const acked = new Map(SECTION_NAMES.map((name) => [name, hashSection(prev.sections[name])]));
      const ackedData = new Map<SectionName, unknown>((['routes', 'neighbours', 'fdb', 'ipsets'] as const).map((name) => [name, prev.sections[name]]));
      return buildReport({ snapshot, checks: [], findings: [] }, { agentId: `bench-agent-${i}`, seq, agentVersion: snapshot.agentVersion, intervalSeconds: 30, sentAt: snapshot.takenAt }, acked, new Set(), ackedData);
    };
    for (const i of [0, 3, 5]) {
      const full = mesh.body(i, 1, { full: true });
      mesh.ack(i, full.hashes, full.version);
    }
    mesh.join();
    for (const i of [0, 3, 5]) {
      const b = mesh.body(i, 2, { delta: true });
      const expected = agentReport(i, n + 1, n, 2, 2);
      expect(expected.sections.routes).toHaveProperty('delta');
      if (n >= 100) expect(expected.sections.ipsets, `node ${i}`).toHaveProperty('delta');
      expect(b.text).toBe(JSON.stringify(expected));
      expect(Report.safeParse(JSON.parse(b.text)).success).toBe(true);
      mesh.ack(i, b.hashes, b.version);
    }
    // the joined node's own lists hold every other node
    const joined = JSON.parse(mesh.body(n, 2).text) as Report;
    expect(joined.sections.fdb.data).toEqual(meshSnapshot(n, n + 1, 2, faults).sections.fdb);
    mesh.leave(n);
    const left = JSON.parse(mesh.body(0, 3, { delta: true }).text) as Report;
    expect(left.sections.fdb).toMatchObject({ delta: { base: hashSection(meshSnapshot(0, n + 1, 1).sections.fdb), splices: [{ at: n - 1, remove: 1, insert: [] }] } });
    expect(left.sections.fdb.hash).toBe(hashSection(meshSnapshot(0, n, 3).sections.fdb));
  });

  it('puts the injected faults where they were asked for', () => {
    const s = meshSnapshot(1, 10, 1, faults);
    const neigh = s.sections.neighbours.status === 'ok' ? s.sections.neighbours.data : [];
    expect(neigh.filter((e) => e.lladdr === '66:de:ad:be:ef:00')).toHaveLength(1);
    const r3 = meshSnapshot(3, 10, 1, faults).sections.routes;
    const r0 = meshSnapshot(0, 10, 1, faults).sections.routes;
    expect(r3.status === 'ok' && r0.status === 'ok' && r0.data.length - r3.data.length).toBe(1);
    const ip5 = meshSnapshot(5, 10, 1, faults).sections.ipsets;
    expect(ip5.status === 'ok' && ip5.data.hostSets[0]!.members).toHaveLength(9);
  });
});
