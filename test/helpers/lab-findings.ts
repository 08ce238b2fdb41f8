/**
 * The aggregator's findings as the lab tests read and wait for them: one copy of the helpers every
 * lab mode's test file needs (findings, the serious ones, a one-line summary, matching an expected
 * finding, polling until a condition holds while `tick` drives traffic).
 */
import { expect } from 'vitest';
import type { Diagnosis } from '../../contract/diagnosis.js';
import type { Finding } from '../../contract/finding.js';
import type { ExpectedFinding } from '../../lab/faults.js';
import type { LabProcesses } from '../../lab/processes.js';
import type { Lab } from '../../lab/topology.js';

export const serious = (fs: Finding[]): Finding[] => fs.filter((f) => f.severity === 'critical' || f.severity === 'warning');
export const brief = (fs: Finding[]): string => fs.map((f) => `${f.severity} ${f.rule} node=${f.node}${f.peer ? ` peer=${f.peer}` : ''}: ${f.summary}`).join('\n');
export const matches = (f: Finding, e: ExpectedFinding): boolean => f.rule === e.rule && f.node === e.node && (e.peer === undefined || f.peer === e.peer);

export interface Polled {
  ok: boolean;
  last: Finding[];
  elapsedMs: number;
}

/** GET /v1/findings of the lab's aggregator, and a poller over it. */
export const aggregatorFindings = (procs: () => LabProcesses) => {
  const findings = async (): Promise<Finding[]> => {
    const res = await procs().aggregatorGet<{ findings: Finding[] }>('/v1/findings');
    if (res.status !== 200) throw new Error(`GET /v1/findings answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.findings;
  };
  /** Polls until check() holds or the deadline passes; `tick` runs every round (traffic). */
  const pollUntil = async (deadlineMs: number, check: (fs: Finding[]) => boolean, tick?: () => Promise<void>): Promise<Polled> => {
    const start = Date.now();
    for (;;) {
      if (tick) await tick();
      const last = await findings();
      if (check(last)) return { ok: true, last, elapsedMs: Date.now() - start };
      if (Date.now() - start > deadlineMs) return { ok: false, last, elapsedMs: Date.now() - start };
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  return { findings, pollUntil };
};

/**
 * With a fault removing node1 from node2's guarding set in place (`fault`): once the aggregator
 * reports it, a diagnosis node1 → node2's pod puts the gap at node2's tunnel device on the forward
 * path, caused by host-not-in-allowed-set on node2. Removes the fault, also on failure.
 */
export const expectGuardingSetGap = async (
  lab: Lab,
  procs: LabProcesses,
  fault: { expected: ExpectedFinding; remove(): Promise<void> },
  deadlineMs: number,
): Promise<void> => {
  try {
    await aggregatorFindings(() => procs).pollUntil(deadlineMs, (fs) => fs.some((x) => matches(x, fault.expected)));
    const res = await procs.aggregatorPost<Diagnosis>('/v1/diagnose', { from: 'node1', to: lab.node('node2').pods[0]!.ip }, 40);
    expect(res.status).toBe(200);
    const d = res.body;
    expect(d.verdict, JSON.stringify(d.hops)).toBe('one-way-gap');
    expect(d.gap).toEqual({ node: 'node2', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.causes[0]).toMatchObject({ rule: 'host-not-in-allowed-set', node: 'node2' });
  } finally {
    await fault.remove();
  }
};
