/**
 * #15 end to end on the lab's older-Felix variant: rules of older Felix releases (one DROP of VXLAN
 * negating `cali40all-hosts-net`) on an iptables-legacy node. The agents must detect the legacy
 * backend, derive the negated-drop guard, and the guarding-set faults must raise the right rule on
 * the node holding the wrong state, naming the peer, within two intervals, and clear on removal;
 * the healthy lab raises no warning or critical finding. The full fault set runs on the default
 * (current Felix) lab in findings.test.ts. Runs as root, never skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../lab/topology.js';
import { startLabProcesses, type LabProcesses } from '../../lab/processes.js';
import { injectFault, type FaultKind } from '../../lab/faults.js';
import { requireLabHost } from '../../lab/preflight.js';
import { cleanupLeftovers } from '../../lab/cleanup.js';
import { aggregatorFindings, brief, expectGuardingSetGap, matches, serious } from '../helpers/lab-findings.js';

const INTERVAL_S = 1;
/** two intervals plus the scheduling slack findings.test.ts explains */
const DETECT_DEADLINE_MS = 2 * INTERVAL_S * 1000 + 8000;

let lab: Lab | undefined;
let procs: LabProcesses | undefined;
let unhook: (() => void) | undefined;
const L = (): Lab => lab ?? (() => { throw new Error('lab not built'); })();
const P = (): LabProcesses => procs ?? (() => { throw new Error('lab processes not started'); })();
const { pollUntil } = aggregatorFindings(P);

const podPing = (from: string, to: string) => L().ping(L().node(from).pods[0]!.ns, L().node(to).pods[0]!.ip, { timeoutS: 0.5 });

beforeAll(async () => {
  await requireLabHost();
  await cleanupLeftovers();
  lab = await createLab({ nodes: 3, felix: 'legacy' });
  unhook = lab.installExitHooks();
  procs = startLabProcesses(lab, { intervalS: INTERVAL_S, staleIntervals: 3 });
  await procs.startAggregator();
  await procs.startAgents();
}, 90_000);

afterAll(async () => {
  await procs?.stopAll();
  await lab?.teardown();
  unhook?.();
});

// #15
describe('lab on older Felix (negated DROP on cali40all-hosts-net, iptables-legacy)', () => {
  it('healthy: every node reports, the agents see the legacy backend and the negated-drop guard, no critical or warning finding', async () => {
    expect(L().flavour).toMatchObject({ release: 'legacy', guardSet: 'cali40all-hosts-net', backend: 'legacy' });
    expect((await L().exec(L().node('node1').ns, ['iptables-nft-save'])).stdout).not.toContain('cali-');
    for (const [a, b] of [['node1', 'node2'], ['node2', 'node3'], ['node3', 'node1']] as const) expect(await podPing(a, b), `${a} → ${b}`).toBe(true);
    type NodeBody = { report?: { sections: { iptables: { status: string; data?: { backend: string; encapGuards?: unknown[] } } } } };
    let node1 = await P().aggregatorGet<NodeBody>('/v1/nodes/node1');
    for (let i = 0; i < 50 && node1.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      node1 = await P().aggregatorGet<NodeBody>('/v1/nodes/node1');
    }
    const ipt = node1.body.report?.sections.iptables;
    expect(ipt?.data?.backend).toBe('legacy');
    expect(ipt?.data?.encapGuards).toEqual([
      expect.objectContaining({ family: 'ipv4', encapsulation: 'vxlan', form: 'negated-drop', set: 'cali40all-hosts-net', chain: 'cali-INPUT', drop: expect.objectContaining({ index: 1 }) }),
    ]);
    const res = await pollUntil(5 * INTERVAL_S * 1000 + 5000, (fs) => serious(fs).length === 0);
    expect(res.ok, `findings in a healthy legacy lab:\n${brief(res.last)}`).toBe(true);
  }, 40_000);

  // the guarding-set faults, and the dataplane faults #15 asks of every mode
  const kinds: FaultKind[] = ['host-not-in-ipset', 'guard-set-flushed', 'encap-drop-input', 'neighbor-mac-wrong', 'route-missing'];
  it.each(kinds)('%s: pod traffic breaks, the expected finding within two intervals on the holder, cleared after removal', async (kind) => {
    const f = await injectFault({ lab: L(), agents: P() }, kind, { node: 'node1', peer: 'node2' });
    const expected = f.expected;
    try {
      const seen: boolean[] = [];
      const detected = await pollUntil(
        DETECT_DEADLINE_MS,
        (fs) => fs.some((x) => matches(x, expected)),
        async () => {
          seen.push(await podPing('node1', 'node2'));
          seen.push(await podPing('node2', 'node1'));
        },
      );
      expect(detected.ok, `${f.description}: expected ${expected.rule} on ${expected.node}${expected.peer ? ` naming ${expected.peer}` : ''}; findings:\n${brief(detected.last)}\n${P().logTail(expected.node, 8)}`).toBe(true);
      expect(seen.every((ok) => ok === (f.def.traffic.small === 'works')), `pod pings under ${kind}: ${JSON.stringify(seen)}`).toBe(true);
      const elsewhere = detected.last.filter((x) => x.rule === expected.rule && x.node !== expected.node);
      expect(elsewhere, brief(elsewhere)).toEqual([]);
    } finally {
      await f.remove();
    }
    const cleared = await pollUntil(DETECT_DEADLINE_MS + 2 * INTERVAL_S * 1000, (fs) => !fs.some((x) => matches(x, expected)) && serious(fs).length === 0);
    expect(cleared.ok, `after removing ${kind}, still:\n${brief(cleared.last)}`).toBe(true);
    expect(await podPing('node1', 'node2')).toBe(true);
  }, 45_000);

  it('diagnose: node1 missing from node2\'s guarding set puts the gap at node2\'s tunnel device, forward, cause on node2', async () => {
    const f = await injectFault({ lab: L(), agents: P() }, 'host-not-in-ipset', { node: 'node2', peer: 'node1' });
    await expectGuardingSetGap(L(), P(), f, DETECT_DEADLINE_MS);
  }, 60_000);
});
