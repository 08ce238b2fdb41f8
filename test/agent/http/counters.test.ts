/**
 * #18: GET /v1/counters reads the DROP/REJECT counters now, through the iptables collector, behind
 * the bearer token; an unreadable iptables is a typed `unavailable`, never a crash; concurrent
 * requests share one read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildAgentApp } from '../../../agent/http/app.js';
import { countersRoutesFor } from '../../../agent/http/counters.js';
import type { Host } from '../../../agent/collectors/types.js';
import { RuleCounters } from '../../../contract/counters.js';
import { fakeRunner, type FakeAnswer } from '../../helpers/fake-runner.js';

const FIX = join(import.meta.dirname, '../../fixtures/iptables-save');
const HINT = '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
const T = Date.parse('2026-11-21T12:00:05.000Z');

const build = (answers: Record<string, FakeAnswer>) => {
  const run = fakeRunner(answers);
  const unused = () => {
    throw new Error('not used');
  };
  const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
  const app = buildAgentApp({
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    token: () => 's3cret',
    latest: () => null,
    now: () => T,
    staleAfterMs: 60_000,
    extraRoutes: [countersRoutesFor({ host, node: 'node-a', now: () => T, config: { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/x' } })],
  });
  return { app, run };
};
const auth = { authorization: 'Bearer s3cret' };

// #18
describe('agent GET /v1/counters', () => {
  it('answers the DROP/REJECT rules with their counters, read now, and needs the token', async () => {
    const { app, run } = build({
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '', exitCode: 1 },
      'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': { stdout: '', exitCode: 1 },
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '', exitCode: 1 },
      'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': { stdout: '', exitCode: 1 },
      'ip6tables-legacy-save -t mangle': { stdout: '' },
      'iptables-legacy-save -t mangle': { stdout: HINT },
      'iptables-legacy-save -c': { stdout: readFileSync(join(FIX, 'legacy-1.8.9-calico-like-v4-c.txt'), 'utf8') },
      'ip6tables-legacy-save -c': { stdout: readFileSync(join(FIX, 'legacy-1.8.9-calico-like-v6-c.txt'), 'utf8') },
      'nft list flowtables': { error: 'missing-binary' },
    });
    expect((await app.inject({ method: 'GET', url: '/v1/counters' })).statusCode).toBe(401);
    const [a, b] = await Promise.all([app.inject({ method: 'GET', url: '/v1/counters', headers: auth }), app.inject({ method: 'GET', url: '/v1/counters', headers: auth })]);
    expect(a.statusCode).toBe(200);
    const body = RuleCounters.parse(a.json());
    expect(b.json()).toEqual(a.json());
    expect(body).toMatchObject({ node: 'node-a', takenAt: '2026-11-21T12:00:05.000Z', backend: 'legacy', status: 'ok' });
    expect(body.rules.length).toBeGreaterThan(0);
    expect(body.rules.every((r) => r.target === 'DROP' || r.target === 'REJECT')).toBe(true);
    // one iptables-save -c per family for both concurrent requests
    expect(run.calls.filter((c) => c.argv.join(' ') === 'iptables-legacy-save -c')).toHaveLength(1);
  });

  it('iptables that cannot be read is a typed unavailable answer', async () => {
    const answers: Record<string, FakeAnswer> = {};
    for (const v of ['', '6']) for (const b of ['-nft', '-legacy', '']) for (const a of ['', ' -t mangle', ' -c']) answers[`ip${v}tables${b}-save${a}`] = { error: 'missing-binary' };
    answers['nft list flowtables'] = { error: 'missing-binary' };
    for (const v of ['', '6']) for (const b of ['-nft', '-legacy', '']) for (const c of ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']) answers[`ip${v}tables${b} -t mangle -S ${c}`] = { error: 'missing-binary' };
    const { app } = build(answers);
    const res = await app.inject({ method: 'GET', url: '/v1/counters', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = RuleCounters.parse(res.json());
    expect(body.status).toBe('unavailable');
    expect(body.reason).toMatch(/missing-binary/);
    expect(body.rules).toEqual([]);
    // a runner that throws is the same typed answer, not a 500
    const thrown = build({});
    const t = RuleCounters.parse((await thrown.app.inject({ method: 'GET', url: '/v1/counters', headers: auth })).json());
    expect(t).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/^error: /) });
  });
});
