import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectIptables, createIptablesMemory, iptablesCollector } from '../../../agent/collectors/iptables.js';
import type { CollectContext, CollectorConfig, Host } from '../../../agent/collectors/types.js';
import type { RunRequest, RunResult } from '../../../agent/exec/runner.js';
import { Sections } from '../../../contract/snapshot.js';
import { fakeRunner, type FakeAnswer } from '../../helpers/fake-runner.js';

const FIX = join(import.meta.dirname, '../../fixtures/iptables-save');
const fixture = (name: string) => readFileSync(join(FIX, name), 'utf8');
const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const context: CollectContext = { linkNames: null, uplinks: [] };

/** no nft binary: the iptables-only behaviour most cases check */
const NO_NFT: Record<string, FakeAnswer> = { 'nft list flowtables': { error: 'missing-binary' } };
const hostWith = (answers: Record<string, FakeAnswer>) => {
  const run = fakeRunner({ ...NO_NFT, ...answers });
  const unused = () => {
    throw new Error('not used by the iptables collector');
  };
  const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
  return { host, run };
};

const HINT = '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
/** backend detection answers: the legacy mangle table carries kubelet's hint → legacy */
const NO_CHAIN: FakeAnswer = { stdout: '', exitCode: 1 };
const legacyDetection: Record<string, FakeAnswer> = {
  'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
  'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
  'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
  'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
  'ip6tables-legacy-save -t mangle': { stdout: '' },
  'iptables-legacy-save -t mangle': { stdout: HINT },
};
const nftDetection: Record<string, FakeAnswer> = {
  'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
  'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
  'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
};

const schemaCheck = (value: unknown) => {
  const r = Sections.shape.iptables.safeParse(value);
  expect(r.success, r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))).toBe(true);
};

describe('collectIptables', () => {
  it('legacy node: totals per family, bounded chain list, DROP/REJECT rules with counters and ids', async () => {
    const { host, run } = hostWith({
      ...legacyDetection,
      'iptables-legacy-save -c': { stdout: fixture('legacy-1.8.9-calico-like-v4-c.txt') },
      'ip6tables-legacy-save -c': { stdout: fixture('legacy-1.8.9-calico-like-v6-c.txt') },
    });
    const r = await collectIptables(host, config, context);
    schemaCheck(r);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    const d = r.data;
    expect(d.backend).toBe('legacy');
    expect(d.backendReason).toContain('legacy mangle');
    expect(d.ipv4).toEqual({ status: 'ok', data: { tables: ['filter', 'raw'], chains: 12, rules: 22, caliChains: 7 } });
    expect(d.ipv6).toEqual({ status: 'ok', data: { tables: ['filter'], chains: 5, rules: 4, caliChains: 2 } });
    // per-workload chains are left out, builtin and other cali-* chains kept
    const names = d.chains.map((c) => `${c.family}/${c.table}/${c.chain}`);
    expect(names).toContain('ipv4/filter/FORWARD');
    expect(names).toContain('ipv4/filter/cali-pi-_test-policy');
    expect(names).toContain('ipv6/filter/cali-OUTPUT');
    expect(names.some((n) => /cali-(tw|fw)-/.test(n))).toBe(false);
    expect(d.chains.find((c) => c.chain === 'FORWARD' && c.family === 'ipv4')).toMatchObject({ policy: 'DROP', packets: 2, bytes: 168, rules: 2 });
    // every DROP and REJECT of both families; policy-chain ones only when they have counted packets
    expect(d.dropRules.map((x) => `${x.family}/${x.table}/${x.chain}#${x.index}/${x.target}`)).toEqual([
      'ipv4/filter/cali-from-wl-dispatch#2/DROP',
      'ipv4/filter/cali-fw-cdBr-a#7/DROP',
      'ipv6/filter/cali-OUTPUT#1/DROP',
    ]);
    expect(d.idlePolicyDropRules).toBe(3);
    expect(d.dropRules.find((x) => x.caliId === 'ZgE9wGvIfVFZ6sCh')).toEqual({
      family: 'ipv4',
      table: 'filter',
      chain: 'cali-fw-cdBr-a',
      index: 7,
      target: 'DROP',
      packets: 2,
      bytes: 168,
      caliId: 'ZgE9wGvIfVFZ6sCh',
      comments: ['Drop if no profiles matched'],
      matchSets: [],
      rule: '-A cali-fw-cdBr-a -m comment --comment "cali:ZgE9wGvIfVFZ6sCh" -m comment --comment "Drop if no profiles matched" -j DROP',
    });
    expect(d.warnings).toEqual([]);
    // the save commands get the generous bounds
    const save = run.calls.find((c) => c.argv.join(' ') === 'iptables-legacy-save -c');
    expect(save?.maxOutputBytes).toBe(40 * 1024 * 1024);
    expect(save?.timeoutMs).toBeGreaterThanOrEqual(60_000);
  });

  it('without kube hint chains, the dumps read to count rules are the ones parsed: each -c dump runs once', async () => {
    // #17: detection used to dump the winning backend in full, then the collector dumped it again
    const v4 = fixture('legacy-1.8.9-calico-like-v4-c.txt');
    const v6 = fixture('legacy-1.8.9-calico-like-v6-c.txt');
    const { host, run } = hostWith({
      ...legacyDetection,
      'iptables-legacy-save -t mangle': { stdout: '' },
      'iptables-legacy-save -c': { stdout: v4 },
      'ip6tables-legacy-save -c': { stdout: v6 },
      'iptables-nft-save -c': { stdout: '' },
      'ip6tables-nft-save -c': { stdout: '' },
    });
    const r = await collectIptables(host, config, context);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    expect(r.data.backendReason).toContain('legacy has 26 rules, nft 0');
    expect(r.data.ipv4).toEqual({ status: 'ok', data: { tables: ['filter', 'raw'], chains: 12, rules: 22, caliChains: 7 } });
    expect(r.data.ipv6).toEqual({ status: 'ok', data: { tables: ['filter'], chains: 5, rules: 4, caliChains: 2 } });
    const saves = run.calls.map((c) => c.argv.join(' ')).filter((c) => c.endsWith('-save -c'));
    expect(saves.sort()).toEqual(['ip6tables-legacy-save -c', 'ip6tables-nft-save -c', 'iptables-legacy-save -c', 'iptables-nft-save -c']);
  });

  /** A legacy node with both families' Calico-like dumps, and the nft dumps detection reads. */
  const legacyNode = () => ({
    ...legacyDetection,
    'iptables-legacy-save -t mangle': { stdout: '' },
    'iptables-legacy-save -c': { stdout: fixture('legacy-1.8.9-calico-like-v4-c.txt') },
    'ip6tables-legacy-save -c': { stdout: fixture('legacy-1.8.9-calico-like-v6-c.txt') },
    'iptables-nft-save -c': { stdout: '' },
    'ip6tables-nft-save -c': { stdout: '' },
  });
  /** `run` answering `stdoutAs: 'bytes'` as the real runner does: the bytes in a resizable buffer (added to `buffers`), stdout '' */
  const asReceivedBytes =
    (run: (req: RunRequest) => Promise<RunResult>, buffers: ArrayBuffer[]) =>
    async (req: RunRequest): Promise<RunResult> => {
      const r = await run(req);
      if (!r.ok || req.stdoutAs !== 'bytes') return r;
      const encoded = Buffer.from(r.stdout, 'utf8');
      const buf = new ArrayBuffer(encoded.length, { maxByteLength: encoded.length + 1 });
      new Uint8Array(buf).set(encoded);
      buffers.push(buf);
      return { ...r, stdout: '', stdoutBytes: Buffer.from(buf, 0, encoded.length) };
    };

  it('reads the dumps as bytes, in place, with the same section as from text, and gives their memory back once read', async () => {
    // #17: the save commands' output is asked for as bytes and parsed without one string of it
    const fromText = await collectIptables(hostWith(legacyNode()).host, config, context);
    const { host, run } = hostWith(legacyNode());
    const buffers: ArrayBuffer[] = [];
    const r = await collectIptables({ ...host, run: asReceivedBytes(run, buffers) }, config, context);
    schemaCheck(r);
    expect(r).toEqual(fromText);
    expect(run.calls.filter((c) => c.argv.join(' ').endsWith('-save -c')).every((c) => c.stdoutAs === 'bytes')).toBe(true);
    expect(buffers.length).toBe(4);
    expect(buffers.map((b) => b.byteLength)).toEqual([0, 0, 0, 0]);
  });
  it("the daemon's collector reads the dumps from fixed-length copies of the bytes, with the same section", async () => {
    // #17: V8 reads typed arrays over resizable buffers slower; the daemon parses a dump every minute
    const fromText = await collectIptables(hostWith(legacyNode()).host, config, context);
    const { host, run } = hostWith(legacyNode());
    const received: ArrayBuffer[] = [];
    const collect = iptablesCollector(createIptablesMemory());
    const r = await collect({ ...host, run: asReceivedBytes(run, received) }, config, context);
    expect(r).toEqual(fromText);
    expect(received.length).toBe(4);
    // the dumps read were moved out of the buffers they came in; the others given back there
    expect(received.filter((b) => b.detached).length).toBe(2);
    expect(received.filter((b) => !b.detached).map((b) => b.byteLength)).toEqual([0, 0]);
  });
  it('nft node: reads iptables-nft-save and keeps stderr warnings (legacy tables present)', async () => {
    const { host } = hostWith({
      ...nftDetection,
      'iptables-nft-save -c': {
        stdout: fixture('nft-1.8.9-legacy-present-stdout.txt'),
        stderr: fixture('nft-1.8.9-legacy-present-stderr.txt'),
      },
      'ip6tables-nft-save -c': { stdout: fixture('nft-1.8.9-calico-like-v6-c.txt') },
    });
    const r = await collectIptables(host, config, context);
    schemaCheck(r);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    expect(r.data.backend).toBe('nft');
    expect(r.data.warnings).toEqual(['ipv4: Warning: iptables-legacy tables present, use iptables-legacy-save to see them']);
    expect(r.data.dropRules.map((x) => x.caliId)).toEqual(['nftRuleWarn0001', 'dropTestV6abcd01']);
  });

  it('probes nft while the IPv4 dump is still being read, with the same result', async () => {
    // #17: the probe does not wait for the dumps any more; the families are still reported in order
    const answers = {
      ...nftDetection,
      'iptables-nft-save -c': { stdout: fixture('nft-1.8.9-legacy-present-stdout.txt'), stderr: fixture('nft-1.8.9-legacy-present-stderr.txt') },
      'ip6tables-nft-save -c': { stdout: fixture('nft-1.8.9-calico-like-v6-c.txt') },
    };
    const { host: plain } = hostWith(answers);
    const expected = await collectIptables(plain, config, context);
    const { host, run } = hostWith(answers);
    let startedBeforeV4Answered: string[] = [];
    const slowV4: Host = {
      ...host,
      run: async (req) => {
        if (req.argv.join(' ') !== 'iptables-nft-save -c') return run(req);
        await new Promise((resolve) => setTimeout(resolve, 50));
        startedBeforeV4Answered = run.calls.map((c) => c.argv.join(' '));
        return run(req);
      },
    };
    const r = await collectIptables(slowV4, config, context);
    expect(startedBeforeV4Answered).toContain('nft list flowtables');
    expect(startedBeforeV4Answered).not.toContain('ip6tables-nft-save -c'); // one dump received at a time
    expect(r).toEqual(expected);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    expect(r.data.dropRules.map((x) => x.family)).toEqual(['ipv4', 'ipv6']);
  });

  it('an IPv6 failure alone keeps IPv4', async () => {
    const { host } = hostWith({
      ...legacyDetection,
      'iptables-legacy-save -c': { stdout: fixture('legacy-1.8.9-calico-like-v4-c.txt') },
      'ip6tables-legacy-save -c': { error: 'timeout' },
    });
    const r = await collectIptables(host, config, context);
    schemaCheck(r);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    expect(r.data.ipv4.status).toBe('ok');
    expect(r.data.ipv6).toMatchObject({ status: 'unavailable', reason: 'timeout' });
    expect(r.data.dropRules.every((x) => x.family === 'ipv4')).toBe(true);
  });

  // projectcalico/calico#8403
  it('the incompatible message (exit 0) makes the family unavailable: incompatible', async () => {
    const { host } = hostWith({
      ...nftDetection,
      'iptables-nft-save -c': { stdout: "# Table `raw' is incompatible, use 'nft' tool.\n" },
      'ip6tables-nft-save -c': { stdout: "# Table `raw' is incompatible, use 'nft' tool.\n" },
    });
    const r = await collectIptables(host, config, context);
    schemaCheck(r);
    expect(r).toMatchObject({ status: 'unavailable', reason: 'incompatible', detail: expect.stringContaining('iptables-nft-save -c') });
  });

  it('no iptables at all → unavailable: missing-binary', async () => {
    const missing: FakeAnswer = { error: 'missing-binary' };
    const answers: Record<string, FakeAnswer> = {};
    for (const v of ['', '6'])
      for (const b of ['-nft', '-legacy', ''])
        for (const a of ['', ' -t mangle', ' -c']) answers[`ip${v}tables${b}-save${a}`] = missing;
    for (const v of ['', '6'])
      for (const b of ['-nft', ''])
        for (const c of ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']) answers[`ip${v}tables${b} -t mangle -S ${c}`] = missing;
    const { host } = hostWith(answers);
    const r = await collectIptables(host, config, context);
    schemaCheck(r);
    expect(r).toMatchObject({ status: 'unavailable', reason: 'missing-binary' });
  });

  it('garbage output → invalid-output with the line; output cap → output-too-large; empty output → zero tables', async () => {
    const { host } = hostWith({
      ...legacyDetection,
      'iptables-legacy-save -c': { stdout: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n' },
      'ip6tables-legacy-save -c': { error: 'output-too-large' },
    });
    expect(await collectIptables(host, config, context)).toMatchObject({
      status: 'unavailable',
      reason: 'invalid-output',
      detail: expect.stringContaining('line 3'),
    });
    const { host: h2 } = hostWith({
      ...legacyDetection,
      'iptables-legacy-save -c': { stdout: '' },
      'ip6tables-legacy-save -c': { error: 'output-too-large' },
    });
    const r2 = await collectIptables(h2, config, context);
    schemaCheck(r2);
    expect(r2).toMatchObject({
      status: 'ok',
      data: { ipv4: { status: 'ok', data: { tables: [], rules: 0 } }, ipv6: { status: 'unavailable', reason: 'output-too-large' } },
    });
  });

  it('a non-zero exit is command-failed with stderr', async () => {
    const { host } = hostWith({
      ...legacyDetection,
      'iptables-legacy-save -c': { stdout: '', stderr: "iptables-legacy-save: can't initialize iptables table `filter'\n", exitCode: 1 },
      'ip6tables-legacy-save -c': { stdout: '', exitCode: 1 },
    });
    expect(await collectIptables(host, config, context)).toMatchObject({
      status: 'unavailable',
      reason: 'command-failed',
      detail: expect.stringContaining("can't initialize"),
    });
  });
});
