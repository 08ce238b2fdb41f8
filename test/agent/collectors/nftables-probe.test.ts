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
const hostWith = (answers: Record<string, FakeAnswer> = { 'nft list chains': { stdout: TABLES } }) => {
  const run = fakeRunner(answers);
  const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
  return { host, run };
};

describe('probeNftTables', () => {
  // #17
  it('runs `nft list chains` once per Host: the collectors of one snapshot share it', async () => {
    const a = hostWith();
    const [x, y] = await Promise.all([probeNftTables(a.host, config), probeNftTables(a.host, config)]);
    expect(x).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });
    expect(y).toBe(x);
    expect(a.run.calls.map((c) => c.argv.join(' '))).toEqual(['nft list chains']);
    // another snapshot (another Host) probes again
    const b = hostWith();
    await probeNftTables(b.host, config);
    expect(b.run.calls).toHaveLength(1);
  });

  it('gives the same tables from the recorded text and JSON listings of one iptables-nft node', async () => {
    const text = await probeNftTables(hostWith({ 'nft list chains': { stdout: fixture('nft/list-chains/iptables-nft.txt') } }).host, config);
    const json = await probeNftTables(hostWith({ 'nft list chains': { stdout: fixture('nft/list-chains/iptables-nft.json') } }).host, config);
    expect(text).toEqual({ status: 'ok', data: { tables: ['ip raw', 'ip filter', 'ip6 filter', 'ip mangle'], calico: [] } });
    expect(json).toEqual(text);
  });

  it('malformed output is invalid-output naming the command and line; oversized output is output-too-large', async () => {
    const r = await probeNftTables(hostWith({ 'nft list chains': { stdout: 'table ip calico {\n\tchain x\n}\n' }, 'nft -j list chains': { error: 'timeout' } }).host, config);
    expect(r).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringMatching(/^nft list chains: syntax: .*\(line 2, column 1\)/) });
    const cut = await probeNftTables(hostWith({ 'nft list chains': { stdout: TABLES.slice(0, -2) } }).host, config);
    expect(cut).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringMatching(/^nft list chains: truncated/) });
  });

  // #17: the text probe must not turn an unfamiliar nft listing into a missing probe
  it('a text listing it cannot read is answered by `nft -j list chains`; when that fails too, the text error stands', async () => {
    const odd = 'table netdev edge {\n\tchain ingress {\n\t\ttype filter hook ingress devices = {\n\t\t\teth0, eth1\n\t\t} priority filter; policy accept;\n\t}\n}\n';
    const both = hostWith({ 'nft list chains': { stdout: odd }, 'nft -j list chains': { stdout: TABLES_JSON } });
    expect(await probeNftTables(both.host, config)).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });
    expect(both.run.calls.map((c) => c.argv.join(' '))).toEqual(['nft list chains', 'nft -j list chains']);
    const broken = hostWith({ 'nft list chains': { stdout: odd }, 'nft -j list chains': { stdout: '{"nftables":[' } });
    expect(await probeNftTables(broken.host, config)).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringMatching(/^nft list chains: syntax: .*\(line 4, column 1\)/) });
    // a cut-off listing is a broken read, not an unfamiliar format: no second command
    const cut = hostWith({ 'nft list chains': { stdout: TABLES.slice(0, -2) }, 'nft -j list chains': { stdout: TABLES_JSON } });
    expect(await probeNftTables(cut.host, config)).toMatchObject({ status: 'unavailable', reason: 'invalid-output' });
    expect(cut.run.calls).toHaveLength(1);
  });

  // #17: a bundle recorded by an older agent holds `nft -j list chains`, not the text form
  it('a bundle of an older agent (only `nft -j list chains` recorded) still gives its tables; a newer bundle answers with the text form', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cdNP-bundle-'));
    try {
      const cmd = (argv: string[], stdoutFile: string) => ({ kind: 'command', argv, result: { ok: true, exitCode: 0, durationMs: 1, stdoutFile, stderrFile: 'empty.stderr' } });
      await writeFile(join(dir, 'empty.stderr'), '');
      await writeFile(join(dir, 'json.stdout'), TABLES_JSON);
      await writeFile(join(dir, 'text.stdout'), 'table ip6 calico {\n\tchain filter-INPUT {\n\t}\n}\n');
      const save = (entries: unknown[]) => writeFile(join(dir, 'manifest.json'), JSON.stringify({ bundleVersion: 1, createdAt: 'x', node: 'n', entries }));

      await save([cmd(['nft', '-j', 'list', 'chains'], 'json.stdout')]);
      const old = await loadBundle(dir);
      if (!old.ok) throw new Error(old.message);
      expect(await probeNftTables(old.host, config)).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });

      await save([cmd(['nft', '-j', 'list', 'chains'], 'json.stdout'), cmd(['nft', 'list', 'chains'], 'text.stdout')]);
      const both = await loadBundle(dir);
      if (!both.ok) throw new Error(both.message);
      expect(await probeNftTables(both.host, config)).toEqual({ status: 'ok', data: { tables: ['ip6 calico'], calico: ['ip6 calico'] } });

      await save([]);
      const none = await loadBundle(dir);
      if (!none.ok) throw new Error(none.message);
      expect(await probeNftTables(none.host, config)).toMatchObject({ status: 'unavailable', reason: 'missing-binary', detail: expect.stringMatching(/^nft list chains: /) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
