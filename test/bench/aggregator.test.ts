import { describe, expect, it } from 'vitest';
import { MeshReports } from '../../bench/aggregator.js';
import { ackedOf, meshSnapshot, toReport, type MeshFaults } from '../../bench/aggregator-mesh.js';
import { Report } from '../../contract/report.js';

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
