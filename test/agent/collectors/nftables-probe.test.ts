import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeNftTables } from '../../../agent/collectors/nftables.js';
import type { CollectorConfig, Host } from '../../../agent/collectors/types.js';
import { loadBundle } from '../../../agent/host/replay.js';
import { fakeRunner, type FakeAnswer } from '../../helpers/fake-runner.js';
import { fixture } from '../parsers/fixture.js';

const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const TABLES = 'table ip calico {\n\tchain filter-INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n';
/** what older agents ran and recorded in their bundles */
const TABLES_JSON = '{"nftables":[{"metainfo":{"version":"1.0.6","release_name":"Lester Gooch #5","json_schema_version":1}},{"table":{"family":"ip","name":"calico","handle":1}}]}';
const unused = () => {
  throw new Error('not used');
};
/** `nft list flowtables` of the same state: every table, no chains */
const HEADERS = 'table ip calico {\n}\n';
const hostWith = (answers: Record<string, FakeAnswer> = { 'nft list flowtables': { stdout: HEADERS }, 'nft list chains': { stdout: TABLES } }) => {
  const run = fakeRunner(answers);
  const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
  return { host, run };
};
const commands = (h: { run: { calls: { argv: readonly string[] }[] } }) => h.run.calls.map((c) => c.argv.join(' '));

describe('probeNftTables', () => {
  // #17
  it('runs its commands once per Host: the collectors of one snapshot share them', async () => {
    const a = hostWith();
    const [x, y] = await Promise.all([probeNftTables(a.host, config), probeNftTables(a.host, config)]);
    expect(x).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });
    expect(y).toBe(x);
    expect(commands(a)).toEqual(['nft list flowtables', 'nft list chains']);
    // another snapshot (another Host) probes again
    const b = hostWith();
    await probeNftTables(b.host, config);
    expect(b.run.calls).toHaveLength(2);
  });

  // #17: `nft list chains` costs nft ~0.04-0.07 s a read on a 100k-rule iptables-nft node
  it('on a node without a calico table, lists the tables with `nft list flowtables` alone (recorded on an iptables-nft node)', async () => {
    const h = hostWith({ 'nft list flowtables': { stdout: fixture('nft/list-flowtables/iptables-nft.txt') } });
    expect(await probeNftTables(h.host, config)).toEqual({ status: 'ok', data: { tables: ['ip raw', 'ip filter', 'ip6 filter', 'ip mangle', 'inet empty'], calico: [] } });
    expect(commands(h)).toEqual(['nft list flowtables']);
  });

  it("asks `nft list chains` whether a calico table holds chains: Felix's does, an empty one left behind is not the nftables dataplane", async () => {
    const lab = hostWith({ 'nft list flowtables': { stdout: fixture('nft/list-flowtables/calico-lab.txt') }, 'nft list chains': { stdout: fixture('nft/list-chains/calico-lab.txt') } });
    expect(await probeNftTables(lab.host, config)).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });
    const empty = hostWith({ 'nft list flowtables': { stdout: fixture('nft/list-flowtables/empty-calico.txt') }, 'nft list chains': { stdout: fixture('nft/list-chains/empty-calico.txt') } });
    expect(await probeNftTables(empty.host, config)).toEqual({ status: 'ok', data: { tables: ['inet t1', 'ip calico'], calico: [] } });
    expect(commands(empty)).toEqual(['nft list flowtables', 'nft list chains']);
  });

  it('reads flowtables as blocks of their tables', async () => {
    // as nft prints a flowtable (this kernel has none to record)
    const listing = 'table inet t1 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { eth0, eth1 }\n\t}\n}\ntable ip filter {\n}\n';
    const h = hostWith({ 'nft list flowtables': { stdout: listing } });
    expect(await probeNftTables(h.host, config)).toEqual({ status: 'ok', data: { tables: ['inet t1', 'ip filter'], calico: [] } });
  });

  it('gives the same tables from the recorded text and JSON chain listings of one iptables-nft node', async () => {
    // an nft that cannot list flowtables leaves the chain listing to answer
    const failing = { stdout: '', stderr: 'Error: syntax error, unexpected flowtables\n', exitCode: 1 };
    const text = await probeNftTables(hostWith({ 'nft list flowtables': failing, 'nft list chains': { stdout: fixture('nft/list-chains/iptables-nft.txt') } }).host, config);
    const json = await probeNftTables(hostWith({ 'nft list flowtables': failing, 'nft list chains': { stdout: fixture('nft/list-chains/iptables-nft.json') } }).host, config);
    expect(text).toEqual({ status: 'ok', data: { tables: ['ip raw', 'ip filter', 'ip6 filter', 'ip mangle'], calico: [] } });
    expect(json).toEqual(text);
  });

  it('malformed output is invalid-output naming the command and line; a missing nft is missing-binary', async () => {
    const cut = hostWith({ 'nft list flowtables': { stdout: HEADERS.slice(0, -2) } });
    expect(await probeNftTables(cut.host, config)).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringMatching(/^nft list flowtables: truncated/) });
    expect(commands(cut)).toEqual(['nft list flowtables']);
    const r = await probeNftTables(hostWith({ 'nft list flowtables': { stdout: HEADERS }, 'nft list chains': { stdout: 'table ip calico {\n\tchain x\n}\n' }, 'nft -j list chains': { error: 'timeout' } }).host, config);
    expect(r).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringMatching(/^nft list chains: syntax: .*\(line 2, column 1\)/) });
    const chainsCut = await probeNftTables(hostWith({ 'nft list flowtables': { stdout: HEADERS }, 'nft list chains': { stdout: TABLES.slice(0, -2) } }).host, config);
    expect(chainsCut).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringMatching(/^nft list chains: truncated/) });
    const none = hostWith({ 'nft list flowtables': { error: 'missing-binary' } });
    expect(await probeNftTables(none.host, config)).toMatchObject({ status: 'unavailable', reason: 'missing-binary', detail: expect.stringMatching(/^nft list flowtables: /) });
    expect(commands(none)).toEqual(['nft list flowtables']);
  });

  // #17: the text probes must not turn an unfamiliar nft listing into a missing probe
  it('a text listing it cannot read is answered by `nft -j list chains`; when that fails too, the text error stands', async () => {
    const odd = 'table netdev edge {\n\tchain ingress {\n\t\ttype filter hook ingress devices = {\n\t\t\teth0, eth1\n\t\t} priority filter; policy accept;\n\t}\n}\n';
    const both = hostWith({ 'nft list flowtables': { stdout: odd }, 'nft list chains': { stdout: odd }, 'nft -j list chains': { stdout: TABLES_JSON } });
    expect(await probeNftTables(both.host, config)).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });
    expect(commands(both)).toEqual(['nft list flowtables', 'nft list chains', 'nft -j list chains']);
    const broken = hostWith({ 'nft list flowtables': { stdout: HEADERS }, 'nft list chains': { stdout: odd }, 'nft -j list chains': { stdout: '{"nftables":[' } });
    expect(await probeNftTables(broken.host, config)).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringMatching(/^nft list chains: syntax: .*\(line 4, column 1\)/) });
    // a cut-off listing is a broken read, not an unfamiliar format: no further command
    const cut = hostWith({ 'nft list flowtables': { stdout: HEADERS }, 'nft list chains': { stdout: TABLES.slice(0, -2) }, 'nft -j list chains': { stdout: TABLES_JSON } });
    expect(await probeNftTables(cut.host, config)).toMatchObject({ status: 'unavailable', reason: 'invalid-output' });
    expect(cut.run.calls).toHaveLength(2);
  });

  // #17: bundles recorded by older agents hold `nft -j list chains` or `nft list chains`, not `nft list flowtables`
  it('a bundle of an older agent (only `nft -j list chains`, or also `nft list chains`, recorded) still gives its tables', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cdNP-bundle-'));
    try {
      const cmd = (argv: string[], stdoutFile: string) => ({ kind: 'command', argv, result: { ok: true, exitCode: 0, durationMs: 1, stdoutFile, stderrFile: 'empty.stderr' } });
      await writeFile(join(dir, 'empty.stderr'), '');
      await writeFile(join(dir, 'json.stdout'), TABLES_JSON);
      await writeFile(join(dir, 'text.stdout'), 'table ip6 calico {\n\tchain filter-INPUT {\n\t}\n}\n');
      await writeFile(join(dir, 'flow.stdout'), 'table ip6 calico {\n}\ntable ip filter {\n}\n');
      const save = (entries: unknown[]) => writeFile(join(dir, 'manifest.json'), JSON.stringify({ bundleVersion: 1, createdAt: 'x', node: 'n', entries }));
      const load = async () => {
        const b = await loadBundle(dir);
        if (!b.ok) throw new Error(b.message);
        return b.host;
      };

      await save([cmd(['nft', '-j', 'list', 'chains'], 'json.stdout')]);
      expect(await probeNftTables(await load(), config)).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });

      await save([cmd(['nft', '-j', 'list', 'chains'], 'json.stdout'), cmd(['nft', 'list', 'chains'], 'text.stdout')]);
      expect(await probeNftTables(await load(), config)).toEqual({ status: 'ok', data: { tables: ['ip6 calico'], calico: ['ip6 calico'] } });

      await save([cmd(['nft', 'list', 'flowtables'], 'flow.stdout'), cmd(['nft', 'list', 'chains'], 'text.stdout')]);
      expect(await probeNftTables(await load(), config)).toEqual({ status: 'ok', data: { tables: ['ip6 calico', 'ip filter'], calico: ['ip6 calico'] } });

      await save([]);
      expect(await probeNftTables(await load(), config)).toMatchObject({ status: 'unavailable', reason: 'missing-binary', detail: expect.stringMatching(/^nft list flowtables: /) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
