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
    // a -c dump counts its counter-prefixed rule lines: the count of the same dump without -c
    expect(countRuleLines('*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -j a\n[3:9] -A INPUT -j b\n# -A c\nCOMMIT\n', true)).toBe(2);
    expect(hasKubernetesChains(':KUBE-KUBELET-CANARY - [0:0]')).toBe(true);
    expect(hasKubernetesChains(':KUBE-SERVICES - [0:0]')).toBe(false);
  });
});

const NO_CHAIN: FakeAnswer = { stdout: '', stderr: "iptables v1.8.9 (nf_tables): chain `KUBE-IPTABLES-HINT' in table `mangle' is incompatible, use 'nft' tool.\n", exitCode: 1 };
/** the nft hint-chain queries (#17: by chain name, not a mangle dump), none present */
const noNftHint = (): Record<string, FakeAnswer> => {
  const a: Record<string, FakeAnswer> = {};
  for (const v of ['', '6']) for (const c of ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']) a[`ip${v}tables-nft -t mangle -S ${c}`] = NO_CHAIN;
  return a;
};
const rulesC = (n: number) => `*filter\n:INPUT ACCEPT [0:0]\n${'[1:60] -A INPUT -j ACCEPT\n'.repeat(n)}COMMIT\n`;

describe('detectIptablesBackend (IO through a fake runner)', () => {
  it('asks the nft mangle table for the hint chains by name (ip6 first, as Felix) and stops at the first one found', async () => {
    const { host, run } = hostWith({
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
      'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
    });
    expect(await detectIptablesBackend(host, config)).toMatchObject({ backend: 'nft' });
    expect(run.calls.map((c) => c.argv.join(' '))).toEqual([
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT',
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT',
      'iptables-nft -t mangle -S KUBE-KUBELET-CANARY',
    ]);
  });

  it('the canary chain alone is a hint too; a failing chain query is no hint', async () => {
    const { host } = hostWith({
      ...noNftHint(),
      'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': { stdout: '-N KUBE-KUBELET-CANARY\n' },
    });
    expect(await detectIptablesBackend(host, config)).toMatchObject({ backend: 'nft' });
    // exit 1 with text on stdout is not a hint
    const { host: h2 } = hostWith({
      ...noNftHint(),
      'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': { stdout: '-N KUBE-KUBELET-CANARY\n', exitCode: 1 },
      'ip6tables-legacy-save -t mangle': { stdout: '' },
      'iptables-legacy-save -t mangle': { stdout: MANGLE_WITH_HINT },
    });
    expect(await detectIptablesBackend(h2, config)).toMatchObject({ backend: 'legacy', reason: expect.stringContaining('legacy mangle') });
  });

  it('falls back to ip[6]tables[-save] when the backend binary is missing, and counts full -c dumps', async () => {
    const { host, run } = hostWith({
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { error: 'missing-binary' },
      'ip6tables -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
      'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': { error: 'missing-binary' },
      'ip6tables -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
      'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
      'ip6tables-legacy-save -t mangle': { stdout: '' },
      'iptables-legacy-save -t mangle': { stdout: MANGLE_EMPTY },
      'ip6tables-legacy-save -c': { stdout: '' },
      'iptables-legacy-save -c': { stdout: rulesC(1) },
      'ip6tables-nft-save -c': { error: 'missing-binary' },
      'ip6tables-save -c': { stdout: '' },
      'iptables-nft-save -c': { stdout: rulesC(5) },
    });
    const d = await detectIptablesBackend(host, config);
    expect(d).toMatchObject({ backend: 'nft', reason: expect.stringContaining('nft has 5 rules, legacy 1') });
    expect(run.calls.map((c) => c.argv.join(' '))).toContain('ip6tables -t mangle -S KUBE-IPTABLES-HINT');
    expect(run.calls.every((c) => c.maxOutputBytes === 40 * 1024 * 1024)).toBe(true);
    // the decided backend's dumps are handed on, so the collector does not read them again
    expect(d.dumps?.[4]?.argv).toEqual(['iptables-nft-save', '-c']);
    expect(d.dumps?.[4]?.result.stdout).toBe(rulesC(5));
    expect(d.dumps?.[6]).toBeUndefined(); // both v6 dumps empty: the legacy one was kept (tie), not the decided backend's
  });

  it('without a hint, keeps no dump of the losing backend', async () => {
    const { host } = hostWith({
      ...noNftHint(),
      'ip6tables-legacy-save -t mangle': { stdout: '' },
      'iptables-legacy-save -t mangle': { stdout: MANGLE_EMPTY },
      'ip6tables-legacy-save -c': { stdout: rulesC(2) },
      'iptables-legacy-save -c': { stdout: rulesC(3) },
      'ip6tables-nft-save -c': { stdout: rulesC(4) },
      'iptables-nft-save -c': { stdout: '' },
    });
    const d = await detectIptablesBackend(host, config);
    expect(d).toMatchObject({ backend: 'legacy', reason: expect.stringContaining('legacy has 5 rules, nft 4') });
    expect(d.dumps?.[4]?.argv).toEqual(['iptables-legacy-save', '-c']);
    expect(d.dumps?.[6]).toBeUndefined(); // the larger v6 dump was nft's
  });

  it('a failing command counts as empty output (Felix ignores Output() errors) → legacy on a tie', async () => {
    const { host } = hostWith({
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { error: 'timeout' },
      'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': { error: 'timeout' },
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { error: 'permission-denied' },
      'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': { error: 'permission-denied' },
      'ip6tables-legacy-save -t mangle': { stdout: '', exitCode: 1 },
      'iptables-legacy-save -t mangle': { error: 'timeout' },
      'ip6tables-legacy-save -c': { error: 'timeout' },
      'iptables-legacy-save -c': { error: 'timeout' },
      'ip6tables-nft-save -c': { error: 'timeout' },
      'iptables-nft-save -c': { error: 'timeout' },
    });
    const d = await detectIptablesBackend(host, config);
    expect(d).toMatchObject({ backend: 'legacy' });
    expect(d.dumps).toEqual({});
  });
});
