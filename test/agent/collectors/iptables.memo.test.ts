/**
 * A daemon's iptables collector keeps what each chain's rules gave and, for chains whose rules did not
 * change since its last read, takes only their new counters (#17). These tests check that this gives
 * exactly what a full reduction gives — the same objects, the same JSON (key order included, which
 * the report's section hash reads) — over sequences of reads in which counters move (drop rules
 * start and stop counting), rules are rewritten, added and removed, and chains come and go; and that
 * the collector shows a newly counting DROP rule and a rule change at its next read.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectIptables, createIptablesCollector, summariseFamily, type SummaryMemo } from '../../../agent/collectors/iptables.js';
import type { CollectContext, CollectorConfig, Host } from '../../../agent/collectors/types.js';
import { parseIptablesSave } from '../../../agent/parsers/iptables-save.js';
import { generateIptablesSave } from '../../../bench/gen-iptables.js';
import { fakeRunner, type FakeAnswer } from '../../helpers/fake-runner.js';

const FIX = join(import.meta.dirname, '../../fixtures');
const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const context: CollectContext = { linkNames: null, uplinks: [] };

/** mulberry32, seeded */
const prng = (seed: number) => {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const RULE = /^\[(\d+):(\d+)\] (-A (\S+) .*)$/;

/** One read later: counters move, a few rules are rewritten, added or removed, a chain may go. */
const nextRead = (text: string, rnd: () => number): string => {
  const lines = text.split('\n');
  const out: string[] = [];
  const dropChain = rnd() < 0.3 ? lines.filter((l) => l.startsWith(':cali-pi-') || l.startsWith(':cali-tw-'))[Math.floor(rnd() * 5)]?.slice(1).split(' ')[0] : undefined;
  for (const line of lines) {
    const m = RULE.exec(line);
    if (dropChain !== undefined && (line.startsWith(`:${dropChain} `) || m?.[4] === dropChain)) continue;
    if (m === null) {
      out.push(line);
      continue;
    }
    let packets = Number(m[1]);
    let bytes = Number(m[2]);
    let rule = m[3] as string;
    const r = rnd();
    if (r < 0.15) {
      packets += Math.floor(rnd() * 100);
      bytes += packets * 60;
    } else if (r < 0.2) {
      packets = 0; // zeroed (iptables -Z): a listed policy drop becomes idle
      bytes = 0;
    } else if (r < 0.205) {
      rule = rule.replace(' -j DROP', ' -j ACCEPT'); // a rule rewritten in place
    } else if (r < 0.21) {
      continue; // a rule removed
    }
    out.push(`[${packets}:${bytes}] ${rule}`);
    if (rnd() < 0.004) out.push(`[0:0] -A ${m[4]} -m comment --comment "cali:added${out.length}" -j DROP`); // a rule added
  }
  return out.join('\n');
};

const summarise = (text: string, memo?: SummaryMemo) => {
  const p = parseIptablesSave(text);
  if (!p.ok) throw new Error(p.error.message);
  return summariseFamily('ipv4', p.value, memo);
};

/** Runs `reads` successive reads through one memo and compares each with a full reduction. */
const checkSequence = (first: string, seed: number, reads: number): void => {
  const rnd = prng(seed);
  const memo: SummaryMemo = new Map();
  let text = first;
  for (let k = 0; k < reads; k++) {
    const full = summarise(text);
    const memoised = summarise(text, memo);
    expect(memoised).toEqual(full);
    expect(JSON.stringify(memoised)).toBe(JSON.stringify(full));
    text = nextRead(text, rnd);
  }
};

describe('summariseFamily with a memo', () => {
  it('gives what a full reduction gives over reads of a Calico-like ruleset whose counters and rules change', () => {
    checkSequence(generateIptablesSave({ rules: 4000, seed: 7 }), 1, 12);
    checkSequence(generateIptablesSave({ rules: 1500, seed: 99 }), 2, 12);
  });

  it('gives what a full reduction gives over reads of every recorded dump with counters (fixtures, lab nodes)', () => {
    const files = [
      ...readdirSync(join(FIX, 'iptables-save')).filter((f) => f.endsWith('-c.txt')).map((f) => join(FIX, 'iptables-save', f)),
      ...['felix-current/encap-drop-input-node1', 'felix-current/forward-drop-node1', 'felix-legacy/healthy-node1', 'dualstack/encap-drop-input6-node1'].map((d) => join(FIX, 'lab', d, 'iptables-save-c.txt')),
    ];
    let checked = 0;
    for (const [n, f] of files.entries()) {
      const text = readFileSync(f, 'utf8');
      if (!parseIptablesSave(text).ok || !RULE.test(text.split('\n').find((l) => l.startsWith('[')) ?? '')) continue;
      checkSequence(text, 100 + n, 8);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('forgets the chains a dump no longer has', () => {
    const memo: SummaryMemo = new Map();
    const text = generateIptablesSave({ rules: 300, seed: 3 });
    summarise(text, memo);
    const before = memo.size;
    const chain = /^:(cali-pi-\S+)/m.exec(text)?.[1] as string;
    const without = text.split('\n').filter((l) => !l.startsWith(`:${chain} `) && !l.includes(`-A ${chain} `)).join('\n');
    summarise(without, memo);
    expect(memo.size).toBe(before - 1);
    expect([...memo.keys()].some((k) => k.endsWith(chain))).toBe(false);
  });
});

const HINT = '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
const NO_CHAIN: FakeAnswer = { stdout: '', exitCode: 1 };
const legacyDetection: Record<string, FakeAnswer> = {
  'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
  'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
  'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
  'iptables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
  'ip6tables-legacy-save -t mangle': { stdout: '' },
  'iptables-legacy-save -t mangle': { stdout: HINT },
  'nft -j list chains': { error: 'missing-binary' },
  'ip6tables-legacy-save -c': { stdout: '' },
};
const hostAnswering = (v4: () => string): Host => {
  const unused = () => {
    throw new Error('not used by the iptables collector');
  };
  const run = (req: Parameters<Host['run']>[0]) => fakeRunner({ ...legacyDetection, 'iptables-legacy-save -c': { stdout: v4() } })(req);
  return { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
};

const DUMP = (policyPackets: number, inputRule: string) =>
  [
    '*filter',
    ':INPUT ACCEPT [10:1000]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':cali-INPUT - [0:0]',
    ':cali-pi-_web - [0:0]',
    '[10:1000] -A INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT',
    `[3:300] -A cali-INPUT ${inputRule}`,
    '[7:700] -A cali-pi-_web -p tcp -m comment --comment "cali:allow-web" -m multiport --dports 80 -j MARK --set-xmark 0x10000/0x10000',
    `[${policyPackets}:${policyPackets * 60}] -A cali-pi-_web -m comment --comment "cali:deny-rest" -j DROP`,
    'COMMIT',
    '',
  ].join('\n');

describe('the daemon collector (createIptablesCollector)', () => {
  it('shows a policy DROP rule that starts counting and a changed rule at its next read, as the stateless collector does', async () => {
    let text = DUMP(0, '-m comment --comment "cali:accept-all" -j ACCEPT');
    const host = hostAnswering(() => text);
    const collect = createIptablesCollector();
    const first = await collect(host, config, context);
    if (first.status !== 'ok') throw new Error(JSON.stringify(first));
    expect(first.data.dropRules).toEqual([]);
    expect(first.data.idlePolicyDropRules).toBe(1);

    text = DUMP(4, '-m comment --comment "cali:accept-all" -j ACCEPT'); // the policy drop starts counting
    const second = await collect(host, config, context);
    expect(second).toEqual(await collectIptables(host, config, context));
    if (second.status !== 'ok') throw new Error(JSON.stringify(second));
    expect(second.data.dropRules.map((d) => [d.chain, d.caliId, d.packets])).toEqual([['cali-pi-_web', 'deny-rest', 4]]);
    expect(second.data.idlePolicyDropRules).toBe(0);

    text = DUMP(9, '-s 192.0.2.7/32 -m comment --comment "cali:new-drop" -j DROP'); // Felix rewrites cali-INPUT
    const third = await collect(host, config, context);
    expect(third).toEqual(await collectIptables(host, config, context));
    if (third.status !== 'ok') throw new Error(JSON.stringify(third));
    expect(third.data.dropRules.map((d) => [d.chain, d.caliId, d.packets])).toEqual([
      ['cali-INPUT', 'new-drop', 3],
      ['cali-pi-_web', 'deny-rest', 9],
    ]);
  });
});
