/**
 * issue #19: correlation (and the diagnosis path choice) over reports built from real outputs of
 * the BGP lab modes (test/fixtures/lab-bgp, see its SOURCES.md): BIRD 1.6 per node, BGP without
 * encapsulation and VXLAN CrossSubnet. The agent's own parsers (BIRD's raw control-socket reply
 * included) and identity/mode derivation turn each node's recording into a report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { correlate } from '../../../aggregator/correlate/index.js';
import type { NodeState } from '../../../aggregator/cluster/node-state.js';
import type { DatastoreView } from '../../../aggregator/correlate/types.js';
import { pathForm } from '../../../aggregator/diagnose/path.js';
import { resolveEndpoint } from '../../../aggregator/diagnose/resolve.js';
import { ok, unavailable, type Parsed } from '../../../contract/result.js';
import type { Sections } from '../../../contract/snapshot.js';
import { deriveIdentity } from '../../../agent/derive/identity.js';
import { deriveMode } from '../../../agent/derive/mode.js';
import { parseBirdProtocols } from '../../../agent/parsers/bird.js';
import { parseBridgeFdbJson } from '../../../agent/parsers/bridge-fdb.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';
import { parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { inputOf, NOW } from '../../helpers/reports.js';

const LAB = join(import.meta.dirname, '../../fixtures/lab-bgp');
const read = (dir: string, file: string) => readFileSync(join(LAB, dir, file), 'utf8');
const must = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`fixture did not parse: ${p.error.message}`);
  return p.value;
};

const stateFrom = (dir: string, node: string): NodeState => {
  const sets = must(parseIpsetSave(read(dir, 'ipset-save.txt')));
  const sections: Sections = {
    links: ok(must(parseIpLinks(read(dir, 'ip-j-d-s-link-show.json')))),
    addresses: ok(must(parseIpAddrs(read(dir, 'ip-j-addr-show.json')))),
    routes: ok(must(parseIpRoutes(read(dir, 'ip-j-route-show-table-all.json'), 'inet'))),
    neighbours: ok(must(parseIpNeigh(read(dir, 'ip-j-neigh-show.json')))),
    fdb: ok(must(parseBridgeFdbJson(read(dir, 'bridge-j-fdb-show.json'))).filter((e) => e.dev === 'vxlan.calico')),
    sysctls: unavailable('not-present', 'not built in this test'),
    iptables: unavailable('not-present', 'not built in this test'),
    ipsets: ok({ hostSets: sets.filter((s) => s.name === 'cali40all-hosts-net'), caliSetSizes: Object.fromEntries(sets.map((s) => [s.name, s.members.length])) }),
    felix: unavailable('unreachable', 'no Felix in the lab'),
    bgp: ok({ socket: `/run/bird-${node}.ctl`, protocols: must(parseBirdProtocols(read(dir, 'bird-show-protocols.txt'))) }),
  };
  const identity = deriveIdentity(sections);
  return {
    node,
    receivedAt: NOW,
    report: {
      schemaVersion: 1, node, agentId: `lab-${node}`, seq: 1, agentVersion: '0.1.0', intervalSeconds: 10, takenAt: NOW, sentAt: NOW,
      mode: deriveMode(sections, identity), identity, sections, checks: [], findings: [],
    },
  };
};

const NODES = ['node1', 'node2', 'node3'] as const;
const cluster = (mode: 'none' | 'crosssubnet', kase: string): NodeState[] => NODES.map((n) => stateFrom(`${mode}-${kase}-${n}`, n));
const truth = (mode: string) =>
  JSON.parse(readFileSync(join(LAB, `${mode}-cluster.json`), 'utf8')) as { nodes: { name: string; nodeIp: string; subnet: string; block: string; tunnelIp: string | null }[] };
const ipOf = (mode: string, node: string) => truth(mode).nodes.find((n) => n.name === node)!.nodeIp;
const mesh = (ip: string) => `Mesh_${ip.replaceAll('.', '_')}`;
const brief = (fs: { rule: string; node: string; peer?: string }[]) => fs.map((f) => `${f.rule} ${f.node}${f.peer ? `→${f.peer}` : ''}`).sort();

describe('BGP without encapsulation, recorded', () => {
  it('healthy: nodes are BGP without encapsulation, blocks are BIRD blackholes, no finding at all', () => {
    const nodes = cluster('none', 'healthy');
    const { map, findings } = correlate(inputOf(nodes));
    expect(findings).toEqual([]);
    for (const t of truth('none').nodes) {
      const m = map.nodes.find((n) => n.node === t.name)!;
      expect(m.mode).toMatchObject({ encapsulation: 'none', bgp: true });
      expect(m.blocks).toEqual([t.block]);
      expect(m.tunnels).toEqual([]);
    }
  });

  it('session filtered one way: bgp-session-down on both ends comparing them; route-missing on both, explained by the session', () => {
    const { findings } = correlate(inputOf(cluster('none', 'bgp-session-filtered')));
    expect(brief(findings)).toEqual(['bgp-session-down node1→node2', 'bgp-session-down node2→node1', 'route-missing node1→node2', 'route-missing node2→node1']);
    const s1 = findings.find((f) => f.rule === 'bgp-session-down' && f.node === 'node1')!;
    expect(s1.subject).toBe(mesh(ipOf('none', 'node2')));
    expect(s1.severity).toBe('critical');
    expect(s1.evidence.details).toMatchObject({
      local: { node: 'node1', protocol: mesh(ipOf('none', 'node2')), established: false },
      remote: { node: 'node2', protocol: mesh(ipOf('none', 'node1')), established: false },
    });
    const rm = findings.find((f) => f.rule === 'route-missing' && f.node === 'node2')!;
    expect(rm.evidence.details).toMatchObject({ bgpSession: { protocol: mesh(ipOf('none', 'node1')), established: false, explains: true }, expectedForm: { form: 'direct', programmer: 'bird' } });
    expect(rm.summary).toContain(`BGP session ${mesh(ipOf('none', 'node1'))} to node1`);
  });

  it('wrong AS on one side: both ends down, the AS disagreement named', () => {
    const { findings } = correlate(inputOf(cluster('none', 'bgp-wrong-as')));
    const s = findings.filter((f) => f.rule === 'bgp-session-down');
    expect(brief(s)).toEqual(['bgp-session-down node1→node2', 'bgp-session-down node2→node1']);
    for (const f of s) expect(f.evidence.details).toMatchObject({ hint: expect.stringMatching(/AS number/) });
  });

  it("block not exported: each peer misses node1's block while its session is Established", () => {
    const { findings } = correlate(inputOf(cluster('none', 'bgp-block-not-exported')));
    expect(brief(findings)).toEqual(['route-missing node2→node1', 'route-missing node3→node1']);
    for (const f of findings) {
      expect(f.summary).toMatch(/is Established, so node1 does not advertise the block/);
      expect(f.evidence.details).toMatchObject({ bgpSession: { established: true, explains: false } });
    }
  });

  it('one end Established and the other not: the finding on the down end says so (one-sided)', () => {
    const nodes = cluster('none', 'bgp-session-filtered');
    // node2 as it was before the reset: its end still Established
    nodes[1] = stateFrom('none-healthy-node2', 'node2');
    const { findings } = correlate(inputOf(nodes));
    const s = findings.filter((f) => f.rule === 'bgp-session-down');
    expect(brief(s)).toEqual(['bgp-session-down node1→node2']);
    expect(s[0]!.summary).toMatch(/node2 Mesh_\S+ up Established/);
    expect(s[0]!.evidence.details).toMatchObject({ remote: { established: true }, hint: expect.stringMatching(/one-sided/) });
  });

  it('diagnosis path: direct between BGP nodes without encapsulation, also when the route is missing', () => {
    const target = truth('none').nodes.find((n) => n.name === 'node2')!.block.replace(/0\/26$/, '1');
    expect(pathForm(cluster('none', 'healthy')[0]!.report, target)).toMatchObject({ form: 'direct', why: expect.stringMatching(/^route 10\.244\.2\.0\/26 via eth0/) });
    // the session is down: no route to node2's block; the mode decides
    expect(pathForm(cluster('none', 'bgp-session-filtered')[0]!.report, target)).toMatchObject({ form: 'direct', why: expect.stringMatching(/no route/) });
  });

  it('a node without a tunnel IP is probed at its node IP', () => {
    const { map } = correlate(inputOf(cluster('none', 'healthy')));
    const r = resolveEndpoint('node2', map);
    expect(r).toMatchObject({ ok: true, endpoint: { node: 'node2', ip: ipOf('none', 'node2'), kind: 'node' } });
  });
});

describe('VXLAN CrossSubnet with BGP, recorded', () => {
  it('healthy: no finding; same-subnet peers direct, the other subnet through the tunnel', () => {
    const nodes = cluster('crosssubnet', 'healthy');
    expect(correlate(inputOf(nodes)).findings).toEqual([]);
    const t = truth('crosssubnet');
    const pod = (name: string) => t.nodes.find((n) => n.name === name)!.block.replace(/0\/26$/, '1');
    expect(pathForm(nodes[0]!.report, pod('node2')).form).toBe('direct');
    expect(pathForm(nodes[0]!.report, pod('node3')).form).toBe('tunnel');
    expect(pathForm(nodes[2]!.report, pod('node1')).form).toBe('tunnel');
  });

  it('same-subnet peer through the tunnel: route-wrong-form (warning) on node1 only', () => {
    const { findings } = correlate(inputOf(cluster('crosssubnet', 'route-form-tunnel')));
    expect(brief(findings)).toEqual(['route-wrong-form node1→node2']);
    expect(findings[0]).toMatchObject({ severity: 'warning', evidence: { details: { seenForm: 'tunnel', expectedForm: 'direct' } } });
  });

  it('other-subnet peer routed directly: route-wrong-form (critical) on node1', () => {
    const { findings } = correlate(inputOf(cluster('crosssubnet', 'route-form-direct')));
    expect(brief(findings)).toEqual(['route-wrong-form node1→node3']);
    expect(findings[0]).toMatchObject({ severity: 'critical', evidence: { details: { seenForm: 'direct', expectedForm: 'tunnel' }, expected: expect.stringMatching(/dev vxlan\.calico onlink$/) } });
  });

  it("the datastore's pools decide CrossSubnet when read: an Always pool makes the same-subnet direct routes the wrong form", () => {
    const ds = (vxlanMode: string): DatastoreView => ({
      nodes: [], calicoNodePods: [], blockAffinities: [],
      ipPools: [{ name: 'default-ipv4-ippool', cidr: '10.244.0.0/16', blockSize: 26, vxlanMode, ipipMode: 'Never', disabled: false, natOutgoing: true }],
      missing: [{ part: 'nodes', reason: 'test' }, { part: 'calicoNodePods', reason: 'test' }, { part: 'blockAffinities', reason: 'test' }],
    });
    const rules = (vxlanMode: string) => brief(correlate(inputOf(cluster('crosssubnet', 'healthy'), { datastore: ds(vxlanMode) })).findings.filter((f) => f.rule === 'route-wrong-form'));
    expect(rules('CrossSubnet')).toEqual([]);
    expect(rules('Always')).toEqual(['route-wrong-form node1→node2', 'route-wrong-form node2→node1']);
  });
});
