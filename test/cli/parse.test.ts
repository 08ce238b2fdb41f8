import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/main.js';

const ROOT = join(import.meta.dirname, '../..');
const FIX = join(ROOT, 'test/fixtures/iptables-save');
const fixture = (name: string) => readFileSync(join(FIX, name), 'utf8');

describe('calico-diag parse iptables-save (in-process)', () => {
  it('--json prints the totals, packets/bytes summed over rule counters', async () => {
    const io = memoryIo(fixture('legacy-1.8.9-calico-like-v4-c.txt'));
    expect(await runCli(['parse', 'iptables-save', '--json'], io)).toBe(0);
    const out = JSON.parse(io.out()) as Record<string, unknown>;
    // rule counters: 10+5+3+1+3+3+3+1+2+1+1+1+1 (filter) + 10 (raw) = 45 packets
    expect(out).toMatchObject({ tables: 2, chains: 12, rules: 22, packets: 45, bytes: 3780, hasCounters: true });
    expect(out.perTable).toEqual([
      { table: 'filter', chains: 9, rules: 20, packets: 35, bytes: 2940 },
      { table: 'raw', chains: 3, rules: 2, packets: 10, bytes: 840 },
    ]);
    expect(io.err()).toBe('');
  });

  it('prints a readable summary by default, with the DROP rules that counted packets', async () => {
    const io = memoryIo(fixture('legacy-1.8.9-calico-like-v4-c.txt'));
    expect(await runCli(['parse', 'iptables-save'], io)).toBe(0);
    expect(io.out()).toMatch(/^tables: +2$/m);
    expect(io.out()).toMatch(/^rules: +22$/m);
    expect(io.out()).toMatch(/cali-fw-cdBr-a +7 +DROP +2 +ZgE9wGvIfVFZ6sCh +Drop if no profiles matched/);
  });

  it('-o wide adds one row per chain; -o yaml prints the --json document', async () => {
    const wide = memoryIo(fixture('legacy-1.8.9-calico-like-v4-c.txt'));
    expect(await runCli(['parse', 'iptables-save', '-o', 'wide'], wide)).toBe(0);
    expect(wide.out()).toMatch(/^TABLE\s+CHAIN\s+POLICY\s+RULES\s+PACKETS\s+BYTES$/m);
    expect(wide.out()).toMatch(/^filter\s+INPUT\s+ACCEPT\s+\d+/m);
    const json = memoryIo(fixture('legacy-1.8.9-calico-like-v4-c.txt'));
    const yaml = memoryIo(fixture('legacy-1.8.9-calico-like-v4-c.txt'));
    expect(await runCli(['parse', 'iptables-save', '--json'], json)).toBe(0);
    expect(await runCli(['parse', 'iptables-save', '-o', 'yaml'], yaml)).toBe(0);
    expect(parseYaml(yaml.out())).toEqual(JSON.parse(json.out()));
  });

  it('says so when the dump has no rule counters (saved without -c)', async () => {
    const io = memoryIo(fixture('calico-felix-fv-cali-iptables-dump.txt'));
    expect(await runCli(['parse', 'iptables-save'], io)).toBe(0);
    expect(io.out()).toContain('no rule counters');
  });

  it.each([
    ['a fragment without *table', fixture('monzo-calico-accountant-iptables-save-c-fragment.txt'), 'line 1'],
    ['a dump cut before COMMIT', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n', 'line 3'],
    ['iptables-nft incompatible (calico#8403)', "# Table `raw' is incompatible, use 'nft' tool.\n", 'line 1'],
  ])('malformed input (%s): exit 1, one line naming the line number, no stack', async (_n, input, line) => {
    const io = memoryIo(input);
    expect(await runCli(['parse', 'iptables-save', '--json'], io)).toBe(1);
    expect(io.out()).toBe('');
    const err = io.err();
    expect(err.trimEnd().split('\n')).toHaveLength(1);
    expect(err).toContain(line);
    expect(err).not.toMatch(/\n\s+at /);
  });
});

describe('calico-diag parse iptables-save (spawned)', () => {
  it('node --import tsx cli/main.ts parse iptables-save --json < nft fixture', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'parse', 'iptables-save', '--json'], {
      cwd: ROOT,
      input: fixture('nft-1.8.9-calico-like-v4-c.txt'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tables: 2, chains: 12, rules: 22, packets: 45, bytes: 3780 });
  });

  it('exits 1 with one stderr line on a garbage line', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'parse', 'iptables-save'], {
      cwd: ROOT,
      input: '*filter\n:INPUT ACCEPT [0:0]\n---\nCOMMIT\n',
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('calico-diag: iptables-save input: syntax: line 3: expected "-A CHAIN", got "---"\n');
  });
});
