/**
 * The bench's Calico nftables-dataplane ruleset (bench/gen-nftables.ts) is one the kernel's nft
 * accepts, and the agent reads it the way it reads Felix's: loaded with `nft -f` inside a throw-away
 * network namespace (root), listed back with `nft -j list ruleset`, parsed and reduced by the agent's
 * own nftables code. A regression guard for the #17 benchmark of that dataplane: a translation the
 * agent would not recognise (no guard, no counters) would make its numbers meaningless.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateIptablesSave } from '../../bench/gen-iptables.js';
import { nftablesFromIptablesSave } from '../../bench/gen-nftables.js';
import { parseIptablesSave } from '../../agent/parsers/iptables-save.js';
import { parseNftJson } from '../../agent/parsers/nft-json.js';
import { summariseNftRuleset } from '../../agent/collectors/nftables.js';
import { execRunner } from '../../agent/exec/runner.js';

const NS = `cdB-nft-${process.pid}`;

const inNs = async (argv: [string, ...string[]], input?: string): Promise<string> => {
  const r = await execRunner({ argv: ['ip', 'netns', 'exec', NS, ...argv], timeoutMs: 60_000, maxOutputBytes: 64 * 1024 * 1024, ...(input === undefined ? {} : { input }) });
  if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.ok ? r.stderr : r.message}`);
  return r.stdout;
};

describe('bench/gen-nftables in a network namespace', () => {
  afterAll(async () => {
    await execRunner({ argv: ['ip', 'netns', 'del', NS] });
  });

  it('nft loads the translated filter table, and the agent reads its rules, counters and VXLAN guard back', async () => {
    const text = generateIptablesSave({ rules: 2000, seed: 3 });
    const script = nftablesFromIptablesSave(text, 'ipv4');
    await execRunner({ argv: ['ip', 'netns', 'del', NS] });
    const add = await execRunner({ argv: ['ip', 'netns', 'add', NS] });
    expect(add.ok && add.exitCode).toBe(0);
    await inNs(['nft', '-f', '-'], script.script);

    const parsed = parseNftJson(await inNs(['nft', '-j', 'list', 'ruleset']));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const summary = summariseNftRuleset(parsed.value);
    expect(summary.ipv4.tables).toEqual(['calico']);
    expect(summary.ipv4.rules).toBe(script.rules);
    // all but a few filter rules are translated; the ones left out are counted, not lost silently
    const dump = parseIptablesSave(text);
    if (!dump.ok) throw new Error(dump.error.message);
    const filterRules = dump.value.tables.find((t) => t.name === 'filter')?.chains.reduce((n, c) => n + c.ruleCount, 0) ?? 0;
    expect(script.rules).toBeGreaterThan(filterRules * 0.99);
    // counters survive: the DROP rules' packets add up to the iptables dump's filter-table DROP rules'
    const dropPackets = (dump.value.tables.find((t) => t.name === 'filter')?.chains ?? []).flatMap((c) => c.rules).filter((r) => r.target === 'DROP').reduce((n, r) => n + (r.packets ?? 0), 0);
    expect(summary.dropRules.reduce((n, r) => n + r.packets, 0)).toBe(dropPackets);
    // Felix's current VXLAN guard: accept from cali40all-vxlan-net, then drop the rest
    expect(summary.encapGuards).toContainEqual(expect.objectContaining({ family: 'ipv4', encapsulation: 'vxlan', form: 'accept-then-drop', set: 'cali40all-vxlan-net' }));
  });
});
