/**
 * issue #19, IPIP Always on a real kernel: runs inside user-mode-linux (npm run test:uml --
 * test/lab/uml/ipip.uml.test.ts; test/lab/ipip-uml.test.ts runs it from the host), whose 6.1 kernel
 * has the ipip module this host's kernel lacks. Two nodes run BIRD 1.6 (node-to-node mesh), tunl0
 * with the IPIP tunnel address and MTU 1480, `<block> via <peer node IP> dev tunl0 onlink proto bird`,
 * current Felix's IPIP guard on cali40all-hosts-net (iptables-legacy), the real agents and the real
 * aggregator.
 * The overlay runbook end to end: a client node (node1) cannot reach a pod on a server node (node2);
 * `diagnose` must find the hop the manual tcpdump hunt finds (client tunl0 out → client uplink out →
 * server uplink in → server tunl0 in → reply path) and the root finding on the node holding the wrong
 * state, for each fault of lab/ipip-faults.ts; healthy has no gap and no warning or critical finding.
 * Everything in UML is slow (each system call is a ptrace round trip): the agents report every
 * INTERVAL_S, the aggregator gives agent calls AGENT_CALL_TIMEOUT_MS, and the capture window is longer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, IPIP_MTU, ALL_HOSTS_IPSET, type Lab } from '../../../lab/topology.js';
import { startLabProcesses, type LabProcesses } from '../../../lab/processes.js';
import { injectIpipFault, type IpipFaultKind } from '../../../lab/ipip-faults.js';
import type { Diagnosis } from '../../../contract/diagnosis.js';
import type { Finding } from '../../../contract/finding.js';
import { aggregatorFindings, brief, matches, serious } from '../../helpers/lab-findings.js';

const INTERVAL_S = 20;
const AGENT_CALL_TIMEOUT_MS = 20_000;
const CAPTURE_SECONDS = 12;
/** a fault is seen within two reports of its node (plus a slow snapshot) */
const DETECT_DEADLINE_MS = 3 * INTERVAL_S * 1000 + 20_000;

let lab: Lab | undefined;
let procs: LabProcesses | undefined;
const L = (): Lab => lab ?? (() => { throw new Error('lab not built'); })();
const P = (): LabProcesses => procs ?? (() => { throw new Error('lab processes not started'); })();
const { pollUntil } = aggregatorFindings(P);
/** measured figures, printed at the end (README compatibility table) */
const figures: string[] = [];

const pod2 = (): string => L().node('node2').pods[0]!.ip;
/** pod traffic node1 → node2's pod, so drop counters have something to count */
const traffic = async (): Promise<void> => {
  await L().ping(L().node('node1').pods[0]!.ns, pod2(), { timeoutS: 1 });
};

const explain = (d: Diagnosis): string =>
  `${d.verdict} gap=${JSON.stringify(d.gap)} causes=${JSON.stringify(d.causes.map((c) => `${c.rule}@${c.node}`))}\n` +
  d.hops.map((h) => `  ${h.hop.padEnd(26)} ${h.node} ${h.device ?? ''} ${h.status} ${h.seqs.join(',')} ${h.note ?? ''}`).join('\n') +
  `\n  probe: ${JSON.stringify(d.probe ?? null)}\n  ${d.summary}\n  warnings: ${d.warnings.join(' | ')}`;

const diagnoseOnce = async (): Promise<Diagnosis> => {
  const res = await P().aggregatorPost<Diagnosis>('/v1/diagnose', { from: 'node1', to: pod2(), durationSeconds: CAPTURE_SECONDS }, 150);
  if (res.status !== 200) throw new Error(`POST /v1/diagnose answered ${res.status}: ${JSON.stringify(res.body)}\n${P().logTail('aggregator', 20)}`);
  return res.body;
};
/** An inconclusive diagnosis (a capture late on a loaded machine) is run once more, as its remedy says. */
const diagnose = async (): Promise<Diagnosis> => {
  const t0 = Date.now();
  let d = await diagnoseOnce();
  if (d.verdict === 'inconclusive') d = await diagnoseOnce();
  figures.push(`diagnose ${d.verdict}${d.gap ? ` at ${d.gap.node}/${d.gap.hop}` : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return d;
};

const waitHealthy = async (what: string): Promise<Finding[]> => {
  const r = await pollUntil(DETECT_DEADLINE_MS, (fs) => serious(fs).length === 0);
  expect(r.ok, `${what}: serious findings:\n${brief(r.last)}`).toBe(true);
  return r.last;
};

const route = async (node: string, dst: string): Promise<Record<string, unknown>> => {
  const out = await L().exec(L().node(node).ns, ['ip', '-j', '-d', 'route', 'show', dst]);
  const rs = JSON.parse(out.stdout) as Array<Record<string, unknown>>;
  expect(rs, `${node}: route ${dst}`).toHaveLength(1);
  return rs[0]!;
};

beforeAll(async () => {
  const t0 = Date.now();
  lab = await createLab({ nodes: 2, routing: { routing: 'bgp', encapsulation: 'ipip' } });
  procs = startLabProcesses(lab, { intervalS: INTERVAL_S, staleIntervals: 3, startDeadlineMs: 180_000 });
  await procs.startAggregator({ CALICO_DIAG_AGENT_CALL_TIMEOUT_MS: String(AGENT_CALL_TIMEOUT_MS) });
  await procs.startAgents();
  // both nodes in the cluster map with their pods (what a diagnosis resolves pod IPs with)
  for (let until = Date.now() + 3 * INTERVAL_S * 1000; Date.now() < until; ) {
    const r = await procs.aggregatorGet<{ nodes?: Array<{ stale: boolean; workloads: unknown[] }> }>('/v1/cluster');
    if ((r.body.nodes ?? []).filter((n) => !n.stale && n.workloads.length > 0).length === 2) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  figures.push(`lab + processes up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 600_000);

afterAll(async () => {
  if (figures.length) console.log(`IPIP lab figures: ${figures.join('; ')}`);
  await procs?.stopAll();
  await lab?.teardown();
});

describe('IPIP Always (BGP, iptables-legacy) in user-mode-linux', () => {
  it('healthy: tunl0 and routes as calico-node programs them, mode ipip, no warning or critical finding, diagnose healthy through tunl0', async () => {
    for (const [a, b] of [['node1', 'node2'], ['node2', 'node1']] as const) {
      const na = L().node(a);
      const nb = L().node(b);
      expect(await route(a, nb.block)).toMatchObject({ dst: nb.block, gateway: nb.nodeIp, dev: 'tunl0', protocol: 'bird', flags: ['onlink'] });
      const link = JSON.parse((await L().exec(na.ns, ['ip', '-j', '-d', 'addr', 'show', 'tunl0'])).stdout) as Array<{ mtu: number; linkinfo?: { info_kind?: string }; addr_info: Array<{ local: string; prefixlen: number }> }>;
      expect(link[0]).toMatchObject({ mtu: IPIP_MTU, linkinfo: { info_kind: 'ipip' }, addr_info: [{ local: na.tunnelIp, prefixlen: 32 }] });
      const rules = (await L().exec(na.ns, ['iptables-legacy-save', '-t', 'filter'])).stdout;
      expect(rules).toMatch(new RegExp(`-A cali-INPUT -p (4|ipencap) .*"Allow IPIP packets from Calico hosts" -m set --match-set ${ALL_HOSTS_IPSET} src -m addrtype --dst-type LOCAL -j ACCEPT`));
      expect(rules).toMatch(/-A cali-INPUT -p (4|ipencap) .*"Drop IPIP packets from non-Calico hosts" -j DROP/);
    }
    // pod to pod, small and full-size (1480 - 28) with don't-fragment
    expect(await L().ping(L().node('node1').pods[0]!.ns, pod2(), { count: 2 })).toBe(true);
    expect(await L().ping(L().node('node2').pods[0]!.ns, L().node('node1').pods[0]!.ip, { size: IPIP_MTU - 28, df: true })).toBe(true);

    const map = await P().aggregatorGet<{ nodes: Array<{ node: string; mode: { encapsulation: string; bgp: boolean; policyDataplane: string } }> }>('/v1/cluster');
    for (const n of map.body.nodes) expect(n.mode, n.node).toMatchObject({ encapsulation: 'ipip', bgp: true, policyDataplane: 'iptables-legacy' });
    const t0 = Date.now();
    const fs = await waitHealthy('healthy lab');
    figures.push(`healthy: ${serious(fs).length} warning/critical, ${fs.length} info finding(s) (after ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

    const d = await diagnose();
    expect(d.verdict, explain(d)).toBe('healthy');
    expect(d.hops.map((h) => `${h.hop}:${h.device ?? ''}`), explain(d)).toEqual([
      'source-tunnel-out:tunl0', 'source-uplink-out:eth0', 'destination-uplink-in:eth0', 'destination-tunnel-in:tunl0',
      `destination-workload-in:${L().node('node2').pods[0]!.caliIf}`, `destination-workload-out:${L().node('node2').pods[0]!.caliIf}`,
      'destination-tunnel-out:tunl0', 'destination-uplink-out:eth0', 'source-uplink-in:eth0', 'source-tunnel-in:tunl0', 'source-received:',
    ]);
    expect(d.hops.filter((h) => h.status !== 'seen'), explain(d)).toEqual([]);
  }, 600_000);

  /**
   * Injects the fault, waits for its root finding (driving pod traffic), diagnoses node1 → node2's
   * pod, hands the diagnosis over, removes the fault and waits until the finding has cleared.
   */
  const runbookCase = async (kind: IpipFaultKind, check: (d: Diagnosis, fs: Finding[]) => void): Promise<void> => {
    await waitHealthy(`before ${kind}`);
    const fault = await injectIpipFault(L(), kind, { client: 'node1', server: 'node2' });
    try {
      const seen = await pollUntil(DETECT_DEADLINE_MS, (fs) => fs.some((f) => matches(f, fault.expected)), traffic);
      expect(seen.ok, `${fault.description}: expected ${JSON.stringify(fault.expected)}; found:\n${brief(seen.last)}`).toBe(true);
      figures.push(`${kind}: ${fault.expected.rule}@${fault.expected.node} after ${(seen.elapsedMs / 1000).toFixed(1)} s`);
      expect(await L().ping(L().node('node1').pods[0]!.ns, pod2(), { timeoutS: 1 }), `${fault.description}: pod ping`).toBe(false);
      check(await diagnose(), seen.last);
    } finally {
      await fault.remove();
    }
    const cleared = await pollUntil(DETECT_DEADLINE_MS, (fs) => !fs.some((f) => matches(f, fault.expected) && f.severity !== 'info'), traffic);
    expect(cleared.ok, `${fault.description}: still found after removal:\n${brief(cleared.last)}`).toBe(true);
    figures.push(`${kind}: cleared after ${(cleared.elapsedMs / 1000).toFixed(1)} s`);
  };

  it('(a) block route missing on the client: nothing leaves the client\'s tunl0; route-missing on node1', async () => {
    await runbookCase('block-route-missing', (d) => {
      expect(d.gap, explain(d)).toMatchObject({ node: 'node1', direction: 'forward' });
      expect(['source-tunnel-out', 'source-uplink-out'], explain(d)).toContain(d.gap?.hop);
      expect(d.causes[0], explain(d)).toMatchObject({ rule: 'route-missing', node: 'node1' });
    });
  }, 600_000);

  it('(b) client missing from the server\'s guarding set: seen on the server\'s uplink, not on its tunl0; host-not-in-allowed-set on node2', async () => {
    await runbookCase('client-not-in-set', (d) => {
      expect(d.verdict, explain(d)).toBe('one-way-gap');
      expect(d.gap, explain(d)).toEqual({ node: 'node2', hop: 'destination-tunnel-in', direction: 'forward' });
      expect(d.hops.find((h) => h.hop === 'destination-uplink-in')?.status, explain(d)).toBe('seen');
      expect(d.causes[0], explain(d)).toMatchObject({ rule: 'host-not-in-allowed-set', node: 'node2' });
    });
  }, 600_000);

  it('(c) a DROP counted on the server: through its tunl0, not to the pod; iptables-drops-rising on node2 names the rule', async () => {
    await runbookCase('forward-drop', (d) => {
      expect(d.verdict, explain(d)).toBe('one-way-gap');
      expect(d.gap, explain(d)).toEqual({ node: 'node2', hop: 'destination-workload-in', direction: 'forward' });
      expect(d.hops.find((h) => h.hop === 'destination-tunnel-in')?.status, explain(d)).toBe('seen');
      expect(d.causes[0], explain(d)).toMatchObject({ rule: 'iptables-drops-rising', node: 'node2' });
    });
  }, 600_000);

  it('(d) reply route missing on the server: the pod answers, the reply never enters the server\'s tunl0; route-missing on node2', async () => {
    await runbookCase('reply-route-missing', (d) => {
      expect(d.verdict, explain(d)).toBe('one-way-gap');
      expect(d.gap, explain(d)).toEqual({ node: 'node2', hop: 'destination-tunnel-out', direction: 'return' });
      expect(d.hops.find((h) => h.hop === 'destination-workload-out')?.status, explain(d)).toBe('seen');
      expect(d.causes[0], explain(d)).toMatchObject({ rule: 'route-missing', node: 'node2' });
    });
  }, 600_000);
});
