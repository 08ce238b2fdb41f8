import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/main.js';

const FIX = join(import.meta.dirname, '../fixtures');
const fixture = (rel: string) => readFileSync(join(FIX, rel), 'utf8');

// issue #15
describe('calico-diag parse nft', () => {
  it("--json prints the agent's reduction: guards, drop rules with counters, the guarding set's members", async () => {
    const io = memoryIo(fixture('lab/nftables/nft-encap-drop-node1/nft-j-list-ruleset.json'));
    expect(await runCli(['parse', 'nft', '--json'], io)).toBe(0);
    const out = JSON.parse(io.out()) as { encapGuards: unknown[]; dropRules: Array<{ packets: number; rule: string }>; ipsets: { hostSets: Array<{ members: string[] }> } };
    expect(out.encapGuards).toMatchObject([{ set: 'cali40all-vxlan-net', form: 'accept-then-drop', drop: { index: 3, packets: 8 } }]);
    expect(out.dropRules.find((d) => d.rule.includes('ip saddr 10.213.0.12'))?.packets).toBe(4);
    expect(out.ipsets.hostSets[0]?.members).toEqual(['10.213.0.11', '10.213.0.12', '10.213.0.13']);
  });

  it('-o yaml gives the same document; -o wide lists every drop rule and the summarised chains', async () => {
    const yaml = memoryIo(fixture('lab/nftables/healthy-node1/nft-j-list-ruleset.json'));
    expect(await runCli(['parse', 'nft', '-o', 'yaml'], yaml)).toBe(0);
    expect(yaml.out()).toMatch(/^idlePolicyDropRules: 4$/m);
    const wide = memoryIo(fixture('lab/nftables/healthy-node1/nft-j-list-ruleset.json'));
    expect(await runCli(['parse', 'nft', '-o', 'wide'], wide)).toBe(0);
    expect(wide.out()).toMatch(/^DROP\/REJECT rules:$/m);
    expect(wide.out()).toMatch(/ip calico +filter-cali-INPUT +2 +DROP +0 +KjmKwmbHvlhNoGL3 +Drop IPv4 VXLAN packets from non-allowed hosts/);
    expect(wide.out()).toMatch(/ip calico +filter-INPUT +ACCEPT +1/);
  });

  it('prints a readable summary by default', async () => {
    const io = memoryIo(fixture('nft/calico-felix-fv-cali-nftables-dump.json'));
    expect(await runCli(['parse', 'nft'], io)).toBe(0);
    expect(io.out()).toMatch(/^tables: +ip calico$/m);
    expect(io.out()).toMatch(/ipv4 +vxlan +accept-then-drop +cali40all-vxlan-net +ip calico filter-cali-INPUT +2 +0/);
    expect(io.out()).toContain('cali40all-vxlan-net: 10.128.0.208, 10.128.0.211, 10.128.0.213');
  });

  it('malformed input: exit 1 naming the position', async () => {
    const io = memoryIo('{"nftables": [\n  {"table": }\n]}');
    expect(await runCli(['parse', 'nft'], io)).toBe(1);
    expect(io.err()).toMatch(/nft JSON input: invalid-json: .*\(line 2, column 13\)/);
    const shape = memoryIo('{"nftables": [{"table": {"family": "ip"}}]}');
    expect(await runCli(['parse', 'nft'], shape)).toBe(1);
    expect(shape.err()).toContain('nftables[0].table.name');
  });
});
