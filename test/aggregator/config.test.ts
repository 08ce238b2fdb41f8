import { describe, expect, it } from 'vitest';
import { resolveAggregatorConfig } from '../../aggregator/config.js';

describe('aggregator/config', () => {
  it('uses defaults for everything but the token file', () => {
    const r = resolveAggregatorConfig({ tokenFile: '/t' }, {});
    expect(r).toEqual({ ok: true, config: { listen: { host: '0.0.0.0', port: 9478 }, tokenFile: '/t', staleIntervals: 3, bodyLimit: 32 * 1024 * 1024, kube: 'auto', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' } });
  });

  it('takes env vars, and flags over env vars', () => {
    const env = { CALICO_DIAG_LISTEN: '127.0.0.1:9999', CALICO_DIAG_TOKEN_FILE: '/env-token', CALICO_DIAG_STALE_INTERVALS: '5', CALICO_DIAG_BODY_LIMIT: '8MiB', CALICO_DIAG_KUBE: 'off', CALICO_DIAG_MAX_FINDING_SERIES: '0' };
    const fromEnv = resolveAggregatorConfig({}, env);
    expect(fromEnv).toEqual({ ok: true, config: { listen: { host: '127.0.0.1', port: 9999 }, tokenFile: '/env-token', staleIntervals: 5, bodyLimit: 8 * 1024 * 1024, kube: 'off', maxFindingSeries: 0, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' } });
    const r = resolveAggregatorConfig({ listen: '[::1]:9478', staleIntervals: '2', bodyLimit: '65536', maxFindingSeries: '50' }, env);
    expect(r.ok && r.config).toMatchObject({ listen: { host: '::1', port: 9478 }, staleIntervals: 2, bodyLimit: 65536, tokenFile: '/env-token', maxFindingSeries: 50, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' });
  });

  // #19
  it('diagnose agent-call timeout: unset by default, a whole number of milliseconds from flag or env', () => {
    const get = (flags: Record<string, string>, env: Record<string, string> = {}) => {
      const r = resolveAggregatorConfig({ tokenFile: '/t', ...flags }, env);
      return r.ok ? r.config.agentCallTimeoutMs : r.message;
    };
    expect(get({})).toBeUndefined();
    expect(get({}, { CALICO_DIAG_AGENT_CALL_TIMEOUT_MS: '15000' })).toBe(15000);
    expect(get({ agentCallTimeoutMs: '20000' }, { CALICO_DIAG_AGENT_CALL_TIMEOUT_MS: '15000' })).toBe(20000);
    expect(get({ agentCallTimeoutMs: '0' })).toMatch(/^invalid --agent-call-timeout-ms \/ CALICO_DIAG_AGENT_CALL_TIMEOUT_MS "0": must be at least 1/);
    expect(get({ agentCallTimeoutMs: '2s' })).toMatch(/whole number of milliseconds/);
  });

  it('names the flag and the env var of a bad or missing value', () => {
    expect(resolveAggregatorConfig({}, {})).toEqual({ ok: false, message: '--token-file / CALICO_DIAG_TOKEN_FILE is required' });
    const bad = (flags: Record<string, string>) => {
      const r = resolveAggregatorConfig({ tokenFile: '/t', ...flags }, {});
      return r.ok ? '' : r.message;
    };
    expect(bad({ staleIntervals: '0' })).toMatch(/^invalid --stale-intervals \/ CALICO_DIAG_STALE_INTERVALS "0"/);
    expect(bad({ staleIntervals: 'x' })).toMatch(/--stale-intervals/);
    expect(bad({ bodyLimit: '12 parsecs' })).toMatch(/--body-limit .*size in bytes/);
    expect(bad({ bodyLimit: '10' })).toMatch(/between 1KiB and 1GiB/);
    expect(bad({ kube: 'yes' })).toMatch(/--kube \/ CALICO_DIAG_KUBE "yes": must be auto or off/);
    expect(bad({ listen: 'nohost' })).toMatch(/--listen/);
    expect(bad({ maxFindingSeries: '-1' })).toMatch(/^invalid --max-finding-series \/ CALICO_DIAG_MAX_FINDING_SERIES "-1": must be at least 0/);
    expect(bad({ maxFindingSeries: '1.5' })).toMatch(/--max-finding-series .*whole number/);
    expect(bad({ maxFindingSeries: '100001' })).toMatch(/at most 100000/);
    expect(bad({ auth: 'token' })).toMatch(/--auth \/ CALICO_DIAG_AUTH "token": must be shared or kubernetes/);
    expect(bad({ agentServiceAccount: 'no-namespace' })).toMatch(/--agent-service-account .*NAMESPACE:NAME/);
  });

  it('takes node identities from Kubernetes with --auth kubernetes', () => {
    const r = resolveAggregatorConfig({ tokenFile: '/t', auth: 'kubernetes', agentServiceAccount: 'monitoring:cd-agent', agentAudience: 'cd' }, {});
    expect(r.ok && r.config).toMatchObject({ auth: 'kubernetes', agentServiceAccount: 'monitoring:cd-agent', agentAudience: 'cd' });
  });
});
