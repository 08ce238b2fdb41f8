import { describe, expect, it } from 'vitest';
import { countRuleLines, decideBackend, detectIptablesBackend, hasKubernetesChains } from '../../../agent/collectors/iptables-backend.js';
import type { CollectorConfig, Host } from '../../../agent/collectors/types.js';
import { fakeRunner, type FakeAnswer } from '../../helpers/fake-runner.js';

const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const hostWith = (answers: Record<string, FakeAnswer>) => {
  const run = fakeRunner(answers);
  const unused = () => {
    throw new Error('not used by the iptables collector');
  };
  const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
  return { host, run };
};

// mangle table as kubelet leaves it (shape of ip6tables-save v1.8.7 in projectcalico/calico#8636)
const MANGLE_WITH_HINT = '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n';
const MANGLE_EMPTY = '*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n';
const rules = (n: number) => `*filter\n:INPUT ACCEPT [0:0]\n${'-A INPUT -j ACCEPT\n'.repeat(n)}COMMIT\n`;

describe('decideBackend (Felix DetectBackend)', () => {
  it('kube hint chains in the nft mangle table → nft, before looking at legacy', () => {
    expect(decideBackend({ nftMangle: { v4: '', v6: MANGLE_WITH_HINT } })).toMatchObject({ backend: 'nft' });
  });
  it('no nft hint → asks for the legacy mangle tables; a hint there → legacy', () => {
    expect(decideBackend({ nftMangle: { v4: MANGLE_EMPTY, v6: '' } })).toEqual({ need: 'legacy-mangle' });
    expect(decideBackend({ nftMangle: { v4: MANGLE_EMPTY, v6: '' }, legacyMangle: { v4: MANGLE_WITH_HINT, v6: '' } })).toMatchObject({ backend: 'legacy' });
  });
  it('no hints anywhere → the larger rule count over both families wins, a tie is legacy', () => {
    const base = { nftMangle: { v4: '', v6: '' }, legacyMangle: { v4: '', v6: '' } };
    expect(decideBackend(base)).toEqual({ need: 'full' });
    const full = (l4: number, l6: number, n4: number, n6: number) => ({
      ...base,
      full: {
        legacy: countRuleLines(rules(l4)) + countRuleLines(rules(l6)),
        nft: countRuleLines(rules(n4)) + countRuleLines(rules(n6)),
      },
    });
    expect(decideBackend(full(3, 0, 1, 1))).toMatchObject({ backend: 'legacy' });
    expect(decideBackend(full(1, 1, 3, 0))).toMatchObject({ backend: 'nft', reason: expect.stringContaining('nft has 3 rules, legacy 2') });
    expect(decideBackend(full(0, 0, 0, 0))).toMatchObject({ backend: 'legacy', reason: expect.stringContaining('ties') });
    expect(decideBackend(full(2, 0, 0, 2))).toMatchObject({ backend: 'legacy' });
  });
  it('counts rule lines as Felix does: lines starting with "-" (not counter-prefixed -c lines)', () => {
    expect(countRuleLines('-A a\n[0:0] -A b\n# -A c\n-A d')).toBe(2);
    expect(hasKubernetesChains(':KUBE-KUBELET-CANARY - [0:0]')).toBe(true);
    expect(hasKubernetesChains(':KUBE-SERVICES - [0:0]')).toBe(false);
  });
});

describe('detectIptablesBackend (IO through a fake runner)', () => {
  it('runs only the nft mangle dumps when they carry the hint (ip6 first, as Felix)', async () => {
    const { host, run } = hostWith({
      'ip6tables-nft-save -t mangle': { stdout: MANGLE_WITH_HINT },
      'iptables-nft-save -t mangle': { stdout: MANGLE_EMPTY },
    });
    expect(await detectIptablesBackend(host, config)).toMatchObject({ backend: 'nft' });
    expect(run.calls.map((c) => c.argv.join(' '))).toEqual(['ip6tables-nft-save -t mangle', 'iptables-nft-save -t mangle']);
  });

  it('falls back to ip[6]tables-save when the backend binary is missing, and counts full dumps', async () => {
    const { host, run } = hostWith({
      'ip6tables-nft-save -t mangle': { error: 'missing-binary' },
      'ip6tables-save -t mangle': { stdout: '' },
      'iptables-nft-save -t mangle': { stdout: MANGLE_EMPTY },
      'ip6tables-legacy-save -t mangle': { stdout: '' },
      'iptables-legacy-save -t mangle': { stdout: MANGLE_EMPTY },
      'ip6tables-legacy-save': { stdout: '' },
      'iptables-legacy-save': { stdout: rules(1) },
      'ip6tables-nft-save': { error: 'missing-binary' },
      'ip6tables-save': { stdout: '' },
      'iptables-nft-save': { stdout: rules(5) },
    });
    expect(await detectIptablesBackend(host, config)).toMatchObject({ backend: 'nft' });
    expect(run.calls.map((c) => c.argv.join(' '))).toContain('ip6tables-save -t mangle');
    expect(run.calls.every((c) => c.maxOutputBytes === 40 * 1024 * 1024)).toBe(true);
  });

  it('a failing command counts as empty output (Felix ignores Output() errors) → legacy on a tie', async () => {
    const { host } = hostWith({
      'ip6tables-nft-save -t mangle': { error: 'timeout' },
      'iptables-nft-save -t mangle': { error: 'permission-denied' },
      'ip6tables-legacy-save -t mangle': { stdout: '', exitCode: 1 },
      'iptables-legacy-save -t mangle': { error: 'timeout' },
      'ip6tables-legacy-save': { error: 'timeout' },
      'iptables-legacy-save': { error: 'timeout' },
      'ip6tables-nft-save': { error: 'timeout' },
      'iptables-nft-save': { error: 'timeout' },
    });
    expect(await detectIptablesBackend(host, config)).toMatchObject({ backend: 'legacy' });
  });
});
