/**
 * The generated benchmark dump is one the kernel's iptables accepts: restored with
 * iptables-legacy-restore inside a throw-away network namespace (root), saved back and re-parsed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateIptablesSave } from '../../bench/gen-iptables.js';
import { iptablesTotals, parseIptablesSave } from '../../agent/parsers/iptables-save.js';
import { execRunner } from '../../agent/exec/runner.js';

const NS = `cdB-gen-${process.pid}`;

describe('bench/gen-iptables in a network namespace', () => {
  afterAll(async () => {
    await execRunner({ argv: ['ip', 'netns', 'del', NS] });
  });

  it('iptables-legacy-restore accepts a generated dump (with the ipsets it names) and saves it back', async () => {
    const text = generateIptablesSave({ rules: 2000, seed: 3 });
    await execRunner({ argv: ['ip', 'netns', 'del', NS] });
    const ok = async (argv: [string, ...string[]], input?: string) => {
      const r = await execRunner({ argv: ['ip', 'netns', 'exec', NS, ...argv], timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
      if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.ok ? r.stderr : r.message}`);
      return r.stdout;
    };
    const add = await execRunner({ argv: ['ip', 'netns', 'add', NS] });
    expect(add.ok && add.exitCode).toBe(0);
    const sets = new Set([...text.matchAll(/--match-set (\S+)/g)].map((m) => m[1] as string));
    await ok(['ipset', 'restore'], [...sets].map((s) => `create ${s} hash:net`).join('\n') + '\n');
    await ok(['iptables-legacy-restore', '-c'], text);
    const saved = parseIptablesSave(await ok(['iptables-legacy-save', '-c']));
    if (!saved.ok) throw new Error(JSON.stringify(saved.error));
    expect(iptablesTotals(saved.value).rules).toBe(2000);
  });
});
