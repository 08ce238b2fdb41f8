/**
 * The daemon's iptables memory (#17 goal 2): a reduction that keeps what it read of unchanged
 * chains must give exactly what a full reduction gives, dump after dump, while Felix rewrites
 * chains and counters move; and a remembered backend decision must give way when the dumps stop
 * showing the hint chain.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createIptablesMemory, FamilyMemory, iptablesCollector, summariseFamily } from '../../../agent/collectors/iptables.js';
import type { CollectContext, CollectorConfig, Host } from '../../../agent/collectors/types.js';
import { parseIptablesSave, parseIptablesSaveBytes, type IptablesDump } from '../../../agent/parsers/iptables-save.js';
import { generateIptablesSave } from '../../../bench/gen-iptables.js';
import { fakeRunner, type FakeAnswer } from '../../helpers/fake-runner.js';
import { mulberry32 as prng } from '../../../bench/prng.js';

const FIX = join(import.meta.dirname, '../../fixtures/iptables-save');
const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const context: CollectContext = { linkNames: null, uplinks: [] };

const parsed = (text: string): IptablesDump => {
  const p = parseIptablesSave(text);
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
};


const RULE = /^\[(\d+):(\d+)\] (-A (\S+) .*)$/;

/**
 * One step of Felix-like churn on a `-c` dump: counters move (some idle drops start counting, some
 * counting rules are reset), a few chains are rewritten (rules replaced, one inserted at the top, one
 * dropped), and one rule gains or loses ` -j DROP`.
 */
const churn = (text: string, rnd: () => number, step: number): string => {
  const lines = text.split('\n');
  const chains = [...new Set(lines.map((l) => RULE.exec(l)?.[4]).filter((c): c is string => c !== undefined))];
  const rewritten = new Set(Array.from({ length: 3 }, () => chains[Math.floor(rnd() * chains.length)] as string));
  const out: string[] = [];
  const inserted = new Set<string>();
  for (const line of lines) {
    const m = RULE.exec(line);
    if (m === null) {
      out.push(line);
      continue;
    }
    const [, p, b, rule, chain] = m as unknown as [string, string, string, string, string];
    let packets = Number(p);
    let bytes = Number(b);
    const r = rnd();
    if (r < 0.15) {
      packets += 1 + Math.floor(rnd() * 50); // a rule that starts (or goes on) counting
      bytes += packets * 60;
    } else if (r < 0.18) {
      packets = 0; // counters zeroed (a chain flushed and refilled keeps its text)
      bytes = 0;
    }
    if (!rewritten.has(chain)) {
      out.push(`[${packets}:${bytes}] ${rule}`);
      continue;
    }
    if (!inserted.has(chain)) {
      inserted.add(chain);
      out.push(`[0:0] -A ${chain} -p udp -m comment --comment "cali:churnU${step}" -m udp --dport 4789 -j DROP`);
    }
    const q = rnd();
    if (q < 0.2) continue; // a rule removed
    if (q < 0.4) out.push(`[${packets}:${bytes}] -A ${chain} -m comment --comment "cali:churn${step}x" -m set --match-set cali40s:churn${step} src -j DROP`);
    else if (q < 0.5) out.push(`[${packets}:${bytes}] ${rule.replace(' -j DROP', ' -j ACCEPT')}`);
    else out.push(`[${packets}:${bytes}] ${rule}`);
  }
  return out.join('\n');
};

/** Same content and the same key order: what the snapshot's JSON would carry. */
const expectSameReduction = (a: unknown, b: unknown) => {
  expect(a).toEqual(b);
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
};

describe('summariseFamily with memory', () => {
  it('gives what a full reduction gives, dump after dump, while chains are rewritten and counters move', () => {
    const rnd = prng(7);
    const memory = new FamilyMemory();
    let text = generateIptablesSave({ rules: 4000, seed: 11 });
    let listedDrops = 0;
    for (let step = 0; step < 12; step++) {
      const dump = parsed(text);
      const remembered = summariseFamily('ipv4', dump, memory);
      const full = summariseFamily('ipv4', parsed(text));
      expectSameReduction(remembered, full);
      listedDrops += full.dropRules.length;
      text = churn(text, rnd, step);
    }
    // the steps exercised what they should: drops listed and rules newly counting
    expect(listedDrops).toBeGreaterThan(1000);
  });

  it('gives the same, dump after dump, when each dump is read in place from resizable bytes and given back as it is reduced', () => {
    // #17: the collector reduces chains last to first and gives back the bytes behind them
    const rnd = prng(9);
    const memory = new FamilyMemory();
    let text = generateIptablesSave({ rules: 4000, seed: 12 });
    for (let step = 0; step < 6; step++) {
      const encoded = Buffer.from(text, 'utf8');
      const buf = new ArrayBuffer(encoded.length, { maxByteLength: encoded.length });
      new Uint8Array(buf).set(encoded);
      const p = parseIptablesSaveBytes(Buffer.from(buf, 0, encoded.length));
      if (!p.ok) throw new Error(p.error.message);
      const remembered = summariseFamily('ipv4', p.value, memory, { releaseInput: true });
      // given back in steps, the first chains' rules last
      expect(buf.byteLength).toBeLessThan(encoded.length / 2);
      expectSameReduction(remembered, summariseFamily('ipv4', parsed(text)));
      text = churn(text, rnd, step);
    }
  });

  it('lists an idle policy drop once its packet counter moves, with the new counters', () => {
    const text = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':cali-pi-_pol - [0:0]',
      '[0:0] -A cali-pi-_pol -m comment --comment "cali:dropA" -m set --match-set cali40s:x src -j DROP',
      '[9:900] -A cali-pi-_pol -m comment --comment "cali:dropB" -j DROP',
      'COMMIT',
      '',
    ].join('\n');
    const memory = new FamilyMemory();
    const first = summariseFamily('ipv4', parsed(text), memory);
    expect(first.idlePolicyDropRules).toBe(1);
    expect(first.dropRules.map((d) => [d.caliId, d.packets])).toEqual([['dropB', 9]]);
    const later = text.replace('[0:0] -A cali-pi-_pol', '[3:180] -A cali-pi-_pol').replace('[9:900]', '[12:1200]');
    const second = summariseFamily('ipv4', parsed(later), memory);
    expect(second.idlePolicyDropRules).toBe(0);
    expect(second.dropRules.map((d) => [d.caliId, d.packets, d.bytes])).toEqual([
      ['dropA', 3, 180],
      ['dropB', 12, 1200],
    ]);
    expectSameReduction(second, summariseFamily('ipv4', parsed(later)));
  });

  it('does not change an entry it listed before: a moved counter gets a new entry', () => {
    const text = '*filter\n:INPUT ACCEPT [0:0]\n[1:60] -A INPUT -s 10.0.0.1/32 -m comment --comment "cali:d1" -j DROP\nCOMMIT\n';
    const memory = new FamilyMemory();
    const first = summariseFamily('ipv4', parsed(text), memory);
    const entry = first.dropRules[0];
    const second = summariseFamily('ipv4', parsed(text.replace('[1:60]', '[2:120]')), memory);
    expect(entry?.packets).toBe(1);
    expect(second.dropRules[0]?.packets).toBe(2);
  });

  it('gives what a full reduction gives on every fixture dump, read twice with other counters', () => {
    for (const name of readdirSync(FIX).filter((n) => n.endsWith('.txt') && !n.includes('stderr'))) {
      const text = readFileSync(join(FIX, name), 'utf8');
      const p = parseIptablesSave(text);
      if (!p.ok) continue;
      const memory = new FamilyMemory();
      expectSameReduction(summariseFamily('ipv6', p.value, memory), summariseFamily('ipv6', parsed(text)));
      const moved = text.replace(/^\[(\d+):(\d+)\]/gm, (_m, a: string, b: string) => `[${Number(a) * 3 + 1}:${Number(b) * 3 + 60}]`);
      expectSameReduction(summariseFamily('ipv6', parsed(moved), memory), summariseFamily('ipv6', parsed(moved)));
    }
  });

  it('forgets the chains that are gone from the dump it last reduced', () => {
    const a = '*filter\n:INPUT ACCEPT [0:0]\n:cali-x - [0:0]\n:cali-y - [0:0]\n[0:0] -A cali-x -j DROP\n[0:0] -A cali-y -j DROP\nCOMMIT\n';
    const b = '*filter\n:INPUT ACCEPT [0:0]\n:cali-x - [0:0]\n[0:0] -A cali-x -j DROP\nCOMMIT\n';
    const memory = new FamilyMemory();
    summariseFamily('ipv4', parsed(a), memory);
    expect([...(memory.chains.get('filter')?.keys() ?? [])].sort()).toEqual(['INPUT', 'cali-x', 'cali-y']);
    summariseFamily('ipv4', parsed(b), memory);
    expect([...(memory.chains.get('filter')?.keys() ?? [])].sort()).toEqual(['INPUT', 'cali-x']);
    // a table gone goes too
    summariseFamily('ipv4', parsed('*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n'), memory);
    expect([...memory.chains.keys()]).toEqual(['raw']);
  });
});

describe('the daemon iptables collector (remembered backend decision)', () => {
  const HINT_MANGLE = '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
  const FILTER = '*filter\n:INPUT ACCEPT [0:0]\n[4:240] -A INPUT -s 10.1.0.0/16 -m comment --comment "cali:d1" -j DROP\nCOMMIT\n';
  const NO_CHAIN: FakeAnswer = { stdout: '', exitCode: 1 };
  const HINT_QUERIES = [
    'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT',
    'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY',
    'iptables-nft -t mangle -S KUBE-IPTABLES-HINT',
    'iptables-nft -t mangle -S KUBE-KUBELET-CANARY',
  ];
  /** an nft node whose kube hint chain is in the IPv4 mangle table only */
  const IPV4_HINT_NODE: Record<string, FakeAnswer> = {
    'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': NO_CHAIN,
    'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': NO_CHAIN,
    'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
    'iptables-nft-save -c': { stdout: HINT_MANGLE + FILTER },
    'ip6tables-nft-save -c': { stdout: '' },
  };
  const hostWith = (answers: Record<string, FakeAnswer>) => {
    const run = fakeRunner({ 'nft list flowtables': { error: 'missing-binary' }, ...answers });
    const unused = () => {
      throw new Error('not used by the iptables collector');
    };
    const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
    return { host, run };
  };
  const commands = (run: ReturnType<typeof fakeRunner>) => run.calls.map((c) => c.argv.join(' '));

  it('asks for the hint chains once while the nft dumps still hold them, with the same section', async () => {
    const collect = iptablesCollector(createIptablesMemory());
    const first = hostWith(IPV4_HINT_NODE);
    const a = await collect(first.host, config, context);
    expect(commands(first.run).filter((c) => HINT_QUERIES.includes(c))).toHaveLength(3);
    const second = hostWith(IPV4_HINT_NODE);
    const b = await collect(second.host, config, context);
    expect(commands(second.run).sort()).toEqual(['ip6tables-nft-save -c', 'iptables-nft-save -c', 'nft list flowtables']);
    expect(b).toEqual(a);
    if (b.status !== 'ok') throw new Error('unavailable');
    expect(b.data.backend).toBe('nft');
  });

  it('detects again, and reads the dumps it decides on, once the nft dumps lose the hint chain', async () => {
    const collect = iptablesCollector(createIptablesMemory());
    const nftNode = hostWith({
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
      'iptables-nft-save -c': { stdout: HINT_MANGLE + FILTER },
      'ip6tables-nft-save -c': { stdout: HINT_MANGLE },
    });
    expect(await collect(nftNode.host, config, context)).toMatchObject({ status: 'ok', data: { backend: 'nft' } });
    // kubelet moved to legacy: the nft tables are left with Felix's old rules, no hint chain
    const legacyNode = hostWith({
      ...Object.fromEntries(HINT_QUERIES.map((q) => [q, NO_CHAIN])),
      'iptables-nft-save -c': { stdout: FILTER },
      'ip6tables-nft-save -c': { stdout: '' },
      'ip6tables-legacy-save -t mangle': { stdout: '' },
      'iptables-legacy-save -t mangle': { stdout: HINT_MANGLE },
      'iptables-legacy-save -c': { stdout: FILTER.replace('cali:d1', 'cali:legacy1') },
      'ip6tables-legacy-save -c': { stdout: '' },
    });
    const r = await collect(legacyNode.host, config, context);
    if (r.status !== 'ok') throw new Error('unavailable');
    expect(r.data.backend).toBe('legacy');
    expect(r.data.dropRules.map((d) => d.caliId)).toEqual(['legacy1']);
    expect(commands(legacyNode.run)).toEqual(expect.arrayContaining(HINT_QUERIES));
    // legacy decisions are not remembered: the next read detects again
    const again = hostWith({ ...Object.fromEntries(HINT_QUERIES.map((q) => [q, NO_CHAIN])), 'ip6tables-legacy-save -t mangle': { stdout: '' }, 'iptables-legacy-save -t mangle': { stdout: HINT_MANGLE }, 'iptables-legacy-save -c': { stdout: FILTER }, 'ip6tables-legacy-save -c': { stdout: '' } });
    expect(await collect(again.host, config, context)).toMatchObject({ status: 'ok', data: { backend: 'legacy' } });
    expect(commands(again.run)).toEqual(expect.arrayContaining(HINT_QUERIES));
  });

  it('the one-shot collector keeps no memory: every read detects the backend', async () => {
    const collect = iptablesCollector();
    for (let i = 0; i < 2; i++) {
      const h = hostWith(IPV4_HINT_NODE);
      await collect(h.host, config, context);
      expect(commands(h.run).filter((c) => HINT_QUERIES.includes(c))).toHaveLength(3);
    }
  });
});
