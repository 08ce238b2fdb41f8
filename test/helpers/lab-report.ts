/**
 * A report of the lab's node 1 (test/fixtures/lab/healthy-node1) as its agent posts it: the
 * recorded kernel outputs through the agent's own parsers, identity and mode derivation and report
 * builder, then through JSON as on the wire. A real report for the tests of the report route
 * (its fuzz, its fast path).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../agent/parsers/ip-json.js';
import { parseBridgeFdbJson } from '../../agent/parsers/bridge-fdb.js';
import { parseIptablesSave } from '../../agent/parsers/iptables-save.js';
import { deriveIdentity } from '../../agent/derive/identity.js';
import { deriveMode } from '../../agent/derive/mode.js';
import { summariseFamily } from '../../agent/collectors/iptables.js';
import { buildReport } from '../../agent/push.js';
import { ok, unavailable } from '../../contract/result.js';
import type { Sections } from '../../contract/snapshot.js';
import { must } from './lab-recorded.js';

const LAB = join(import.meta.dirname, '../fixtures/lab/healthy-node1');

export const labNode1Report = (): Record<string, unknown> => {
  const read = (f: string) => readFileSync(join(LAB, f), 'utf8');
  const ipt = summariseFamily('ipv4', must(parseIptablesSave(read('iptables-save-c.txt'))));
  const sections: Sections = {
    links: ok(must(parseIpLinks(read('ip-j-d-s-link-show.json')))),
    addresses: ok(must(parseIpAddrs(read('ip-j-addr-show.json')))),
    routes: ok(must(parseIpRoutes(read('ip-j-route-show-table-all.json'), 'inet'))),
    neighbours: ok(must(parseIpNeigh(read('ip-j-neigh-show.json')))),
    fdb: ok(must(parseBridgeFdbJson(read('bridge-j-fdb-show.json')))),
    sysctls: unavailable('not-present', 'not recorded'),
    iptables: ok({ backend: 'legacy', backendReason: 'recorded', ipv4: ok(ipt.totals), ipv6: unavailable('not-present', 'none'), chains: ipt.chains, dropRules: ipt.dropRules, warnings: [], idlePolicyDropRules: ipt.idlePolicyDropRules }),
    ipsets: ok({ hostSets: [], caliSetSizes: {} }),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: unavailable('not-present', 'no BIRD socket'),
  };
  const identity = deriveIdentity(sections);
  const snapshot = { schemaVersion: 1 as const, node: 'lab-node1', takenAt: '2026-01-01T00:00:00.000Z', durationMs: 12, agentVersion: '0.1.0', sections, timings: {}, mode: deriveMode(sections, identity), identity };
  const finding = { id: 'tunnel-mtu/lab-node1//vxlan.calico', rule: 'tunnel-mtu', severity: 'warning' as const, node: 'lab-node1', summary: 'mtu', evidence: { seen: '1500', expected: '1450', details: { device: 'vxlan.calico', mtu: 1500 } }, remedy: 'set it', firstSeen: snapshot.takenAt, lastSeen: snapshot.takenAt };
  return JSON.parse(JSON.stringify(buildReport({ snapshot, checks: [{ rule: 'tunnel-mtu', status: 'finding' }], findings: [finding] }, { agentId: 'agent-lab00001', seq: 1, agentVersion: '0.1.0', intervalSeconds: 10, sentAt: snapshot.takenAt }, new Map(), new Set(), new Map()))) as Record<string, unknown>;
};
