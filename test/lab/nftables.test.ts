/**
 * issue #15 end to end on Calico's native nftables dataplane: the lab runs VXLAN with a
 * `table ip calico` (lab/felix-nftables.ts) instead of ipset + iptables, the real agents read it
 * with `nft -j list ruleset` and report to the real aggregator. A healthy lab gives no warning or
 * critical finding and says the policy dataplane is nftables; each injected fault breaks pod
 * traffic as the kernel decides and raises the expected finding on the node holding the wrong
 * state (naming the peer, or for the drop rule the peer's address in the rule) within two report
 * intervals; removing it clears the finding. One shared lab; runs as root, never skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../lab/topology.js';
import { AGENT_PORT, startLabProcesses, type LabProcesses } from '../../lab/processes.js';
import { NFT_FAULTS, injectNftFault, type NftFaultKind } from '../../lab/felix-nftables.js';
import { injectFault, type FaultKind } from '../../lab/faults.js';
import { requireLabHost } from '../../lab/preflight.js';
import { cleanupLeftovers } from '../../lab/cleanup.js';
import { aggregatorFindings, brief, expectGuardingSetGap, matches, serious } from '../helpers/lab-findings.js';

const INTERVAL_S = 1;
/** "within two intervals", plus the same scheduling slack as findings.test.ts */
const DETECT_DEADLINE_MS = 2 * INTERVAL_S * 1000 + 8000;

let lab: Lab | undefined;
let procs: LabProcesses | undefined;
let unhook: (() => void) | undefined;
const detectMs = new Map<string, number>();
const L = (): Lab => {
  if (!lab) throw new Error('lab not built');
  return lab;
};
const P = (): LabProcesses => {
  if (!procs) throw new Error('lab processes not started');
  return procs;
};
const { pollUntil } = aggregatorFindings(P);

const podPing = (from: string, to: string) => L().ping(L().node(from).pods[0]!.ns, L().node(to).pods[0]!.ip, { timeoutS: 0.5 });

interface AgentSnapshot {
  mode: { policyDataplane?: string; evidence: string[] };
  sections: { iptables: { status: string; data?: { backend: string; encapGuards?: Array<{ set: string; form: string; chain: string }> } } };
}
/** The agent's latest snapshot, from inside its node namespace (waits for the first one). */
const agentSnapshot = async (node: string): Promise<AgentSnapshot> => {
  const n = L().node(node);
  const until = Date.now() + 10_000;
  for (;;) {
    const res = await L().sh.try([
      'ip', 'netns', 'exec', n.ns, 'curl', '-s', '--max-time', '5', '-H', `Authorization: Bearer ${P().token}`, `http://127.0.0.1:${AGENT_PORT}/v1/snapshot`,
    ]);
    const body = JSON.parse(res.stdout || '{}') as { snapshot?: AgentSnapshot };
    if (body.snapshot !== undefined) return body.snapshot;
    if (Date.now() > until) throw new Error(`no snapshot from the agent on ${node}: ${res.stdout.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

beforeAll(async () => {
  await requireLabHost('nftables');
  await cleanupLeftovers();
  lab = await createLab({ nodes: 3, dataplane: 'nftables' });
  unhook = lab.installExitHooks();
  procs = startLabProcesses(lab, { intervalS: INTERVAL_S, staleIntervals: 3 });
  await procs.startAggregator();
  await procs.startAgents();
}, 90_000);

afterAll(async () => {
  if (detectMs.size > 0) console.log(`nftables lab detection latency (ms): ${[...detectMs].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  await procs?.stopAll();
  await lab?.teardown();
  unhook?.();
});

describe('the lab on the nftables dataplane (agents + aggregator)', () => {
  it('healthy: pods reach each other, the agent reports the nftables dataplane and its VXLAN guard, no critical or warning finding', async () => {
    for (const [a, b] of [['node1', 'node2'], ['node2', 'node3'], ['node3', 'node1']] as const) expect(await podPing(a, b), `${a} → ${b}`).toBe(true);
    const snap = await agentSnapshot('node1');
    expect(snap.mode.policyDataplane).toBe('nftables');
    expect(snap.mode.evidence.some((e) => e.includes('ip calico'))).toBe(true);
    expect(snap.sections.iptables.status).toBe('ok');
    expect(snap.sections.iptables.data?.backend).toBe('nftables');
    expect(snap.sections.iptables.data?.encapGuards).toEqual([
      expect.objectContaining({ set: 'cali40all-vxlan-net', form: 'accept-then-drop', chain: 'filter-cali-INPUT' }),
    ]);
    type Nodes = { nodes: Array<{ name: string; stale: boolean }> };
    const until = Date.now() + 5 * INTERVAL_S * 1000 + 5000;
    let nodes = await P().aggregatorGet<Nodes>('/v1/nodes');
    while (nodes.body.nodes?.filter((n) => !n.stale).length !== 3 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      nodes = await P().aggregatorGet<Nodes>('/v1/nodes');
    }
    expect(nodes.body.nodes.map((n) => n.name).sort()).toEqual(['node1', 'node2', 'node3']);
    const res = await pollUntil(2 * INTERVAL_S * 1000 + 2000, (fs) => serious(fs).length === 0);
    expect(res.ok, `findings in a healthy nftables lab:\n${brief(res.last)}`).toBe(true);
  }, 40_000);

  const kinds = Object.keys(NFT_FAULTS) as NftFaultKind[];
  it.each(kinds)('%s: traffic breaks, the expected finding within two intervals on the holder, cleared after removal', async (kind) => {
    const params = { node: 'node1', peer: 'node2' };
    const f = await injectNftFault(L(), kind, params);
    const expected = f.expected;
    try {
      const seen: boolean[] = [];
      const tick = async () => {
        seen.push(await podPing('node1', 'node2'));
        seen.push(await podPing('node2', 'node1'));
      };
      const detected = await pollUntil(DETECT_DEADLINE_MS, (fs) => fs.some((x) => matches(x, expected)), tick);
      expect(
        detected.ok,
        `${f.description}: expected ${expected.rule} on ${expected.node}${expected.peer ? ` naming ${expected.peer}` : ''}; findings:\n${brief(detected.last)}\nagent log:\n${P().logTail(expected.node, 8)}`,
      ).toBe(true);
      detectMs.set(kind, detected.elapsedMs);
      expect(seen.every((ok) => ok === (f.def.traffic.small === 'works')), `pod pings under ${kind}: ${JSON.stringify(seen)}`).toBe(true);
      const elsewhere = detected.last.filter((x) => x.rule === expected.rule && x.node !== expected.node);
      expect(elsewhere, `${expected.rule} also raised on other nodes:\n${brief(elsewhere)}`).toEqual([]);
      const hit = detected.last.find((x) => matches(x, expected))!;
      expect(hit.evidence.seen.length).toBeGreaterThan(0);
      expect(hit.remedy.length).toBeGreaterThan(0);
      if (kind === 'nft-encap-drop') {
        expect(hit.summary).toContain(L().node('node2').nodeIp);
        // and the local drop counter check on the same node, naming the rule that matches the peer's address
        const rising = await pollUntil(DETECT_DEADLINE_MS, (fs) => fs.some((x) => x.rule === 'iptables-drops-rising' && x.node === 'node1'), tick);
        const drop = rising.last.find((x) => x.rule === 'iptables-drops-rising' && x.node === 'node1');
        expect(drop, brief(rising.last)).toBeDefined();
        expect(JSON.stringify(drop?.evidence.details)).toContain(`ip saddr ${L().node('node2').nodeIp}`);
        expect(drop?.remedy).toContain('nft list chain'); // the aggregator's own remedy catalogue (common/remedies.ts)
      }
    } finally {
      await f.remove();
    }
    const cleared = await pollUntil(DETECT_DEADLINE_MS + 2 * INTERVAL_S * 1000, (fs) => !fs.some((x) => matches(x, expected)) && serious(fs).length === 0);
    expect(cleared.ok, `after removing ${kind}, still:\n${brief(cleared.last)}`).toBe(true);
    expect(await podPing('node1', 'node2')).toBe(true);
  }, 45_000);

  // #15: the dataplane faults of every mode, on the nftables dataplane too
  const generic: FaultKind[] = ['neighbor-mac-wrong', 'route-missing'];
  it.each(generic)('%s: the expected finding within two intervals on the holder, cleared after removal', async (kind) => {
    const f = await injectFault({ lab: L(), agents: P() }, kind, { node: 'node1', peer: 'node2' });
    try {
      const detected = await pollUntil(DETECT_DEADLINE_MS, (fs) => fs.some((x) => matches(x, f.expected)));
      expect(detected.ok, `${f.description}: expected ${f.expected.rule} on ${f.expected.node}; findings:\n${brief(detected.last)}`).toBe(true);
    } finally {
      await f.remove();
    }
    const cleared = await pollUntil(DETECT_DEADLINE_MS + 2 * INTERVAL_S * 1000, (fs) => !fs.some((x) => matches(x, f.expected)) && serious(fs).length === 0);
    expect(cleared.ok, `after removing ${kind}, still:\n${brief(cleared.last)}`).toBe(true);
  }, 45_000);

  it('diagnose: node1 missing from node2\'s nft guarding set puts the gap at node2\'s tunnel device, forward, cause on node2', async () => {
    const f = await injectNftFault(L(), 'nft-host-not-in-set', { node: 'node2', peer: 'node1' });
    await expectGuardingSetGap(L(), P(), f, DETECT_DEADLINE_MS);
  }, 60_000);
});
