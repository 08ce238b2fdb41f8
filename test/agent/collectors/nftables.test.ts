/**
 * issue #15: Calico's native nftables dataplane read through the iptables and ipsets collectors,
 * from real nft -j outputs recorded in the lab's nftables mode (test/fixtures/lab/nftables).
 */
import { describe, expect, it } from 'vitest';
import { collectIptables } from '../../../agent/collectors/iptables.js';
import { collectIpsets } from '../../../agent/collectors/ipsets.js';
import { NFT_RULESET_MAX_OUTPUT_BYTES, nftIpSets, rangeToCidrs, summariseNftRuleset } from '../../../agent/collectors/nftables.js';
import { parseNftJson } from '../../../agent/parsers/nft-json.js';
import { Sections } from '../../../contract/snapshot.js';
import type { FakeAnswer } from '../../helpers/fake-runner.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

const lab = (c: string, file: string) => fixture(`lab/nftables/${c}/${file}`);

/** A node with no iptables tools at all (nft only). */
const NO_IPTABLES: Record<string, FakeAnswer> = {};
for (const v of ['', '6'])
  for (const b of ['-nft', '-legacy', ''])
    for (const a of ['', ' -t mangle', ' -c']) NO_IPTABLES[`ip${v}tables${b}-save${a}`] = { error: 'missing-binary' };
for (const v of ['', '6'])
  for (const b of ['-nft', ''])
    for (const c of ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']) NO_IPTABLES[`ip${v}tables${b} -t mangle -S ${c}`] = { error: 'missing-binary' };

/** the recorded answer of nft for the host sets Felix did not create (nftables mode writes cali40all-vxlan-net only) */
const noSuchSet = (c: string): Record<string, FakeAnswer> => {
  const stderr = lab(c, 'nft-j-list-set-ip-calico-cali40all-hosts-net.stderr');
  const exitCode = Number(lab(c, 'nft-j-list-set-ip-calico-cali40all-hosts-net.exit'));
  return Object.fromEntries(
    ['cali40all-hosts-net', 'felix-calico-hosts-4'].map((n) => [`nft -j list set ip calico ${n}`, { stdout: '', stderr: stderr.replaceAll('cali40all-hosts-net', n), exitCode }]),
  );
};

const nftNode = (c: string, over: Record<string, FakeAnswer> = {}) =>
  fakeHost({
    commands: {
      ...NO_IPTABLES,
      'nft list flowtables': { stdout: fixture('nft/list-flowtables/calico-lab.txt') },
      'nft list chains': { stdout: fixture('nft/list-chains/calico-lab.txt') },
      'nft -j list ruleset': { stdout: lab(c, 'nft-j-list-ruleset.json') },
      'nft -j list set ip calico cali40all-vxlan-net': { stdout: lab(c, 'nft-j-list-set-ip-calico-cali40all-vxlan-net.json') },
      ...noSuchSet(c),
      'ipset save': { error: 'missing-binary' },
      ...over,
    },
  });

const valid = (section: 'iptables' | 'ipsets', v: unknown) => {
  const r = Sections.shape[section].safeParse(v);
  expect(r.success, r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))).toBe(true);
};

describe('collectIptables on the nftables dataplane', () => {
  it('reduces table ip calico to the iptables section: backend nftables with its evidence, chains, drops, idle policy drops, the VXLAN guard', async () => {
    const host = nftNode('healthy-node1');
    const r = await collectIptables(host, config, context());
    valid('iptables', r);
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    const d = r.data;
    expect(d.backend).toBe('nftables');
    expect(d.backendReason).toMatch(/^Calico nftables table\(s\) ip calico \(nft list chains\); iptables unreadable \(missing-binary/);
    expect(d.ipv4).toMatchObject({ status: 'ok', data: { tables: ['calico'] } });
    expect(d.ipv6).toEqual({ status: 'ok', data: { tables: [], chains: 0, rules: 0, caliChains: 0 } });
    const names = d.chains.map((c) => c.chain);
    expect(names).toEqual(expect.arrayContaining(['filter-INPUT', 'filter-FORWARD', 'filter-OUTPUT', 'filter-cali-INPUT', 'filter-cali-FORWARD']));
    expect(names.some((n) => n.startsWith('filter-cali-tw-') || n.startsWith('filter-cali-fw-'))).toBe(false);
    expect(d.chains.find((c) => c.chain === 'filter-INPUT')).toEqual({ family: 'ipv4', table: 'ip calico', chain: 'filter-INPUT', policy: 'ACCEPT', packets: 0, bytes: 0, rules: 1 });
    const vxlanDrop = d.dropRules.find((x) => x.comments.includes('Drop IPv4 VXLAN packets from non-allowed hosts'));
    expect(vxlanDrop).toMatchObject({ family: 'ipv4', table: 'ip calico', chain: 'filter-cali-INPUT', index: 2, target: 'DROP', packets: 0, caliId: 'KjmKwmbHvlhNoGL3', matchSets: [] });
    // per pod: to and from chains each with an INVALID drop and "Drop if no profiles matched", all idle
    expect(d.idlePolicyDropRules).toBe(4);
    expect(d.dropRules.some((x) => x.chain.startsWith('filter-cali-tw-'))).toBe(false);
    expect(d.encapGuards).toEqual([
      {
        family: 'ipv4',
        encapsulation: 'vxlan',
        form: 'accept-then-drop',
        set: 'cali40all-vxlan-net',
        table: 'ip calico',
        chain: 'filter-cali-INPUT',
        drop: { index: 2, caliId: 'KjmKwmbHvlhNoGL3', comments: ['Drop IPv4 VXLAN packets from non-allowed hosts'], packets: 0, bytes: 0 },
      },
    ]);
    expect(d.warnings).toEqual([]);
    // bounded like every command: a timeout and an output cap on both nft commands
    for (const c of host.run.calls.filter((x) => x.argv[0] === 'nft')) {
      expect(c.timeoutMs).toBeGreaterThan(0);
      expect(c.maxOutputBytes).toBeGreaterThan(0);
    }
    // the ruleset's cap keeps a parsed ruleset inside the agent's memory limit
    expect(host.run.calls.find((x) => x.argv.join(' ') === 'nft -j list ruleset')?.maxOutputBytes).toBe(NFT_RULESET_MAX_OUTPUT_BYTES);
    expect(NFT_RULESET_MAX_OUTPUT_BYTES).toBe(8 * 1024 * 1024);
  });

  it("a DROP of one peer's VXLAN in the input chain is a drop rule with its counter and the peer's address", async () => {
    const r = await collectIptables(nftNode('nft-encap-drop-node1'), config, context());
    if (r.status !== 'ok') throw new Error(JSON.stringify(r));
    const fault = r.data.dropRules.find((x) => x.index === 1 && x.chain === 'filter-cali-INPUT');
    expect(fault).toMatchObject({ target: 'DROP', packets: 4, bytes: 536, comments: ['lab fault: drop VXLAN from one peer'] });
    expect(fault?.rule).toContain('ip saddr 10.213.0.12 udp dport 4789');
    // the guard's catch-all drop moved to index 3 and is still found
    expect(r.data.encapGuards).toMatchObject([{ set: 'cali40all-vxlan-net', drop: { index: 3 } }]);
  });

  it('Calico nftables tables and cali-* iptables chains both present: iptables is read, with a warning naming both', async () => {
    const save = '*filter\n:INPUT ACCEPT [0:0]\n:cali-INPUT - [0:0]\n-A INPUT -j cali-INPUT\nCOMMIT\n';
    const host = nftNode('healthy-node1', {
      // backend detection asks iptables-nft for the kube hint chains by name (#17)
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '', exitCode: 1 },
      'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': { stdout: '', exitCode: 1 },
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
      'iptables-nft-save -c': { stdout: save },
      'ip6tables-nft-save -c': { stdout: '' },
    });
    const r = await collectIptables(host, config, context());
    valid('iptables', r);
    expect(r).toMatchObject({ status: 'ok', data: { backend: 'nft' } });
    if (r.status !== 'ok') return;
    expect(r.data.warnings).toEqual([expect.stringMatching(/^Calico nftables tables and cali-\* iptables chains both present: nft ip calico; 1 cali-\* chain/)]);
    expect(host.run.calls.map((c) => c.argv.join(' '))).not.toContain('nft -j list ruleset');
  });

  it('the calico table exists but its ruleset cannot be read: unavailable with the reason and the evidence, never an empty ok', async () => {
    for (const [answer, reason] of [
      [{ error: 'timeout' }, 'timeout'],
      [{ error: 'output-too-large' }, 'output-too-large'],
      [{ stdout: '{"nftables": [{"table": ' }, 'invalid-output'],
      [{ stdout: '', stderr: 'netlink: Error: Operation not permitted\n', exitCode: 1 }, 'permission-denied'],
    ] as const) {
      const r = await collectIptables(nftNode('healthy-node1', { 'nft -j list ruleset': answer }), config, context());
      valid('iptables', r);
      expect(r).toMatchObject({ status: 'unavailable', reason, detail: expect.stringContaining('Calico nftables table(s) ip calico') });
    }
  });

  it('no cali-* chains in iptables and nft unreadable: the section says the nftables dataplane could not be ruled out', async () => {
    const host = nftNode('healthy-node1', {
      // backend detection asks iptables-nft for the kube hint chains by name (#17)
      'ip6tables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '', exitCode: 1 },
      'ip6tables-nft -t mangle -S KUBE-KUBELET-CANARY': { stdout: '', exitCode: 1 },
      'iptables-nft -t mangle -S KUBE-IPTABLES-HINT': { stdout: '-N KUBE-IPTABLES-HINT\n' },
      'iptables-nft-save -c': { stdout: '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' },
      'ip6tables-nft-save -c': { stdout: '' },
      'nft list flowtables': { stdout: '', stderr: 'netlink: Error: cache initialization failed: Invalid argument\n', exitCode: 1 },
      'nft list chains': { stdout: '', stderr: 'netlink: Error: cache initialization failed: Invalid argument\n', exitCode: 1 },
    });
    const r = await collectIptables(host, config, context());
    valid('iptables', r);
    expect(r).toMatchObject({
      status: 'ok',
      data: { backend: 'nft', warnings: ['no cali-* chains in iptables and nft tables unreadable (command-failed: nft list chains: exit 1: netlink: Error: cache initialization failed: Invalid argument)'] },
    });
  });

  it('no calico table (or no nft): the iptables result as before', async () => {
    const r = await collectIptables(nftNode('healthy-node1', { 'nft list flowtables': { stdout: 'table inet filter {\n}\n' } }), config, context());
    expect(r).toMatchObject({ status: 'unavailable', reason: 'missing-binary' });
  });
});

describe('collectIpsets on the nftables dataplane', () => {
  it("the guarding set's members come from the nft set when ipset has none (one small command per set; absent sets skipped)", async () => {
    const host = nftNode('healthy-node1');
    const r = await collectIpsets(host, config, context());
    expect(host.run.calls.map((x) => x.argv.join(' '))).toEqual([
      'ipset save',
      'nft list flowtables',
      'nft list chains',
      'nft -j list set ip calico cali40all-hosts-net',
      'nft -j list set ip calico cali40all-vxlan-net',
      'nft -j list set ip calico felix-calico-hosts-4',
    ]);
    valid('ipsets', r);
    expect(r).toEqual({
      status: 'ok',
      data: {
        hostSets: [{ name: 'cali40all-vxlan-net', type: 'nft:ipv4_addr', family: 'inet', members: ['10.213.0.11', '10.213.0.12', '10.213.0.13'] }],
        caliSetSizes: { 'cali40all-vxlan-net': 3 },
      },
    });
  });

  it('a peer missing from the set, and the set flushed, show in the members', async () => {
    const missing = await collectIpsets(nftNode('nft-host-not-in-set-node1'), config, context());
    expect(missing).toMatchObject({ status: 'ok', data: { hostSets: [{ members: ['10.213.0.11', '10.213.0.13'] }] } });
    const flushed = await collectIpsets(nftNode('nft-set-flushed-node1'), config, context());
    expect(flushed).toMatchObject({ status: 'ok', data: { hostSets: [{ name: 'cali40all-vxlan-net', members: [] }], caliSetSizes: { 'cali40all-vxlan-net': 0 } } });
  });

  it('a calico table whose sets cannot be read is unavailable with the reason (unknown, not an empty set)', async () => {
    const r = await collectIpsets(nftNode('healthy-node1', { 'nft -j list set ip calico cali40all-vxlan-net': { error: 'timeout' } }), config, context());
    expect(r).toMatchObject({ status: 'unavailable', reason: 'timeout', detail: expect.stringContaining('Calico nftables table ip calico present') });
  });
});

describe('summariseNftRuleset', () => {
  it('tables of other families are left out with a warning counting their rules', () => {
    const p = parseNftJson(
      '{"nftables":[{"table":{"family":"inet","name":"fw"}},{"chain":{"family":"inet","table":"fw","name":"in","hook":"input","type":"filter","prio":0,"policy":"drop"}},{"rule":{"family":"inet","table":"fw","chain":"in","expr":[{"counter":{"packets":3,"bytes":9}},{"drop":null}]}}]}',
    );
    if (!p.ok) throw new Error('parse');
    const s = summariseNftRuleset(p.value);
    expect(s.dropRules).toEqual([]);
    expect(s.warnings).toEqual(['nft table inet fw (1 rule(s)) not summarised: only ip and ip6 tables map to the ipv4/ipv6 sections']);
  });
});

describe('rangeToCidrs', () => {
  it('covers an address range exactly with aligned CIDRs, both families', () => {
    expect(rangeToCidrs('10.213.0.11-10.213.0.13')).toEqual(['10.213.0.11/32', '10.213.0.12/31']);
    expect(rangeToCidrs('10.0.0.0-10.0.255.255')).toEqual(['10.0.0.0/16']);
    expect(rangeToCidrs('10.2.0.1-10.2.0.9')).toEqual(['10.2.0.1/32', '10.2.0.2/31', '10.2.0.4/30', '10.2.0.8/31']);
    expect(rangeToCidrs('0.0.0.0-255.255.255.255')).toEqual(['0.0.0.0/0']);
    expect(rangeToCidrs('fd00::1-fd00::2')).toEqual(['fd00::1/128', 'fd00::2/128']);
    expect(rangeToCidrs('fd00:0:1::-fd00:0:1::ffff')).toEqual(['fd00:0:1::/112']);
    expect(rangeToCidrs('::-::1')).toEqual(['::/127']);
    expect(rangeToCidrs('1:0:0:1::-1:0:0:1::1')).toEqual(['1:0:0:1::/127']);
    expect(rangeToCidrs('fd00:0:0:1:0:0:1:0-fd00:0:0:1:0:0:1:1')).toEqual(['fd00::1:0:0:1:0/127']); // the first of two equal zero runs
  });

  it('is null for what is not an address range', () => {
    for (const m of ['10.0.0.1', '10.0.0.0/8', '10.0.0.9-10.0.0.1', '10.0.0.1-fd00::1', 'a-b']) expect(rangeToCidrs(m), m).toBeNull();
  });

  it('a guarding set holding a range lists its CIDRs as members', () => {
    const p = parseNftJson(
      '{"nftables":[{"set":{"family":"ip","table":"calico","name":"cali40all-vxlan-net","type":"ipv4_addr","flags":["interval"],"elem":["10.213.0.10",{"range":["10.213.0.11","10.213.0.13"]}]}}]}',
    );
    if (!p.ok) throw new Error('parse');
    expect(nftIpSets(p.value).hostSets[0]?.members).toEqual(['10.213.0.10', '10.213.0.11/32', '10.213.0.12/31']);
    expect(nftIpSets(p.value).caliSetSizes).toEqual({ 'cali40all-vxlan-net': 2 });
  });
});
