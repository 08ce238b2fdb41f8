/**
 * collectIptables against the real iptables-legacy / iptables-nft tools inside throw-away network
 * namespaces (prefix cdB-c): every command the collector runs goes through the real runner,
 * prefixed with `ip netns exec <ns>`. Namespaces are removed in afterAll, also on failure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectIptables } from '../../../agent/collectors/iptables.js';
import type { CollectContext, CollectorConfig, Host } from '../../../agent/collectors/types.js';
import { execRunner, type CommandRunner } from '../../../agent/exec/runner.js';
import { Sections } from '../../../contract/snapshot.js';

const RULES = readFileSync(join(import.meta.dirname, '../../fixtures/iptables-save/record/calico-like-rules.v4'), 'utf8');
const NS_LEGACY = 'cdB-c-legacy';
const NS_NFT = 'cdB-c-nft';
const config: CollectorConfig = { timeoutMs: 10_000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const context: CollectContext = { linkNames: null, uplinks: [] };

const sh = async (argv: [string, ...string[]], input?: string) => {
  const r = await execRunner({ argv, ...(input === undefined ? {} : { input }) });
  if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${r.ok ? r.stderr : r.message}`);
};
const inNs = (ns: string): Host => {
  const run: CommandRunner = (req) => execRunner({ ...req, argv: ['ip', 'netns', 'exec', ns, ...req.argv] });
  const unused = () => {
    throw new Error('not used');
  };
  return { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
};

beforeAll(async () => {
  for (const ns of [NS_LEGACY, NS_NFT]) {
    await execRunner({ argv: ['ip', 'netns', 'del', ns] });
    await sh(['ip', 'netns', 'add', ns]);
    // the rules reference these interface names only as matches; they need not exist
    await sh(['ip', 'netns', 'exec', ns, 'ipset', 'create', 'cali40all-hosts-net', 'hash:net']);
  }
  await sh(['ip', 'netns', 'exec', NS_LEGACY, 'iptables-legacy-restore'], RULES);
  await sh(['ip', 'netns', 'exec', NS_NFT, 'iptables-nft-restore'], RULES);
  await sh(['ip', 'netns', 'exec', NS_NFT, 'iptables-nft', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);
});

afterAll(async () => {
  for (const ns of [NS_LEGACY, NS_NFT]) await execRunner({ argv: ['ip', 'netns', 'del', ns] });
});

/** DROP/REJECT rules in the cali-tw-/cali-fw- chains of record/calico-like-rules.v4 */
const IDLE_POLICY_DROPS = 4;

describe('collectIptables in a namespace (real tools)', () => {
  it('legacy rules, no kube hint: Felix\'s rule count picks legacy; the snapshot section is valid', async () => {
    const r = await collectIptables(inNs(NS_LEGACY), config, context);
    expect(Sections.shape.iptables.safeParse(r).success).toBe(true);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    expect(r.data.backend).toBe('legacy');
    expect(r.data.backendReason).toMatch(/legacy has 22 rules, nft 0/);
    // detection's `iptables-legacy-save -t mangle` instantiates the (empty) legacy mangle table, as Felix's does
    expect(r.data.ipv4).toMatchObject({ status: 'ok', data: { tables: ['mangle', 'filter', 'raw'], rules: 22 } });
    // no traffic ran: the four policy-chain drops stand at zero and are only counted, the shared one is kept
    expect(r.data.dropRules.filter((d) => d.family === 'ipv4').map((d) => d.caliId)).toEqual(['zTj6P0TIgYvgz-md']);
    expect(r.data.idlePolicyDropRules).toBe(IDLE_POLICY_DROPS);
  });

  it('nft rules with KUBE-IPTABLES-HINT in the nft mangle table: nft, read with iptables-nft-save', async () => {
    const r = await collectIptables(inNs(NS_NFT), config, context);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    expect(r.data.backend).toBe('nft');
    expect(r.data.backendReason).toContain('nft mangle');
    expect(r.data.ipv4).toMatchObject({ status: 'ok', data: { rules: 22 } });
    expect(r.data.dropRules.find((d) => d.caliId === 'zTj6P0TIgYvgz-md')).toMatchObject({
      target: 'DROP',
      comments: ['Unknown interface'],
      rule: expect.stringContaining('-j DROP'),
    });
    // the idle REJECT in cali-tw-cdBr-b is counted, not listed
    expect(r.data.dropRules.find((d) => d.caliId === 'qhwZ4xTQxFCvjGDk')).toBeUndefined();
    expect(r.data.idlePolicyDropRules).toBe(IDLE_POLICY_DROPS);
  });
});
