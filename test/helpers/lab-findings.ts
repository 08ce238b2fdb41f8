/**
 * The aggregator's findings as the lab tests read and wait for them: one copy of the helpers every
 * lab mode's test file needs (findings, the serious ones, a one-line summary, matching an expected
 * finding, polling until a condition holds while `tick` drives traffic).
 */
import type { Finding } from '../../contract/finding.js';
import type { ExpectedFinding } from '../../lab/faults.js';
import type { LabProcesses } from '../../lab/processes.js';

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
