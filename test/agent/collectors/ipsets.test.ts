import { describe, expect, it } from 'vitest';
import { collectIpsets } from '../../../agent/collectors/ipsets.js';
import { Sections } from '../../../contract/snapshot.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

/** no nft binary: the ipset-only behaviour these cases check */
const NO_NFT = { 'nft list flowtables': { error: 'missing-binary' as const } };

describe('collectIpsets', () => {
  it('keeps Calico host sets with members and counts every cali* set', async () => {
    const r = await collectIpsets(fakeHost({ commands: { ...NO_NFT, 'ipset save': { stdout: fixture('ipset/cdA-vxlan-node-ipset-save.txt') } } }), config, context());
    expect(Sections.shape.ipsets.safeParse(r).success).toBe(true);
    if (r.status !== 'ok') throw new Error(r.detail);
    expect(r.data.hostSets.map((s) => s.name)).toEqual(['cali40all-hosts-net', 'cali60all-hosts-net']);
    expect([...(r.data.hostSets[0]?.members ?? [])].sort()).toEqual(['10.98.0.0/16', '10.99.0.1', '10.99.0.2']);
    expect(r.data.caliSetSizes).toEqual({ 'cali40all-hosts-net': 3, 'cali60all-hosts-net': 1, 'cali40masq-ipam-pools': 1, 'cali40this-host': 1 });
  });

  it('reads the older felix-calico-hosts-4 set', async () => {
    const text = 'create felix-calico-hosts-4 hash:ip family inet hashsize 1024 maxelem 1048576\nadd felix-calico-hosts-4 10.0.0.5\n';
    const r = await collectIpsets(fakeHost({ commands: { ...NO_NFT, 'ipset save': { stdout: text } } }), config, context());
    expect(r).toEqual({
      status: 'ok',
      data: { hostSets: [{ name: 'felix-calico-hosts-4', type: 'hash:ip', family: 'inet', members: ['10.0.0.5'] }], caliSetSizes: {} },
    });
  });

  // issue #2
  it('no ipset binary → missing-binary; no kernel support → not-present; other exit → command-failed', async () => {
    expect(await collectIpsets(fakeHost({ commands: { ...NO_NFT, 'ipset save': { error: 'missing-binary' } } }), config, context())).toMatchObject({
      status: 'unavailable',
      reason: 'missing-binary',
    });
    const noModule = { stdout: '', stderr: 'ipset v7.17: Cannot open session to kernel.\n', exitCode: 1 };
    expect(await collectIpsets(fakeHost({ commands: { ...NO_NFT, 'ipset save': noModule } }), config, context())).toMatchObject({
      status: 'unavailable',
      reason: 'not-present',
    });
    const other = { stdout: '', stderr: 'ipset v7.17: something else\n', exitCode: 1 };
    // any other failure tries `ipset list` first; both failing reports save's failure and the fallback's
    expect(await collectIpsets(fakeHost({ commands: { ...NO_NFT, 'ipset save': other, 'ipset list': other } }), config, context())).toMatchObject({
      status: 'unavailable',
      reason: 'command-failed',
      detail: 'ipset save: exit 1: ipset v7.17: something else; fallback ipset list: exit 1: ipset v7.17: something else',
    });
  });

  it('unparseable save output → invalid-output with the line', async () => {
    const r = await collectIpsets(fakeHost({ commands: { ...NO_NFT, 'ipset save': { stdout: 'create a hash:ip\nadd b 1.2.3.4\n' } } }), config, context());
    expect(r).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringContaining('(line 2)') });
  });

  it('ipset save failing (old ipset: unknown command) falls back to ipset list, with the same result', async () => {
    const unknown = { stdout: '', stderr: 'ipset v6.11: Unknown argument: `save\'\n', exitCode: 2 };
    const host = fakeHost({ commands: { ...NO_NFT, 'ipset save': unknown, 'ipset list': { stdout: fixture('ipset/cdA-vxlan-node-ipset-list.txt') } } });
    const viaList = await collectIpsets(host, config, context());
    expect(host.run.calls.map((c) => c.argv.join(' '))).toEqual(['ipset save', 'ipset list', 'nft list flowtables']);
    expect(Sections.shape.ipsets.safeParse(viaList).success).toBe(true);
    const viaSave = await collectIpsets(fakeHost({ commands: { ...NO_NFT, 'ipset save': { stdout: fixture('ipset/cdA-vxlan-node-ipset-save.txt') } } }), config, context());
    if (viaList.status !== 'ok' || viaSave.status !== 'ok') throw new Error('expected ok');
    expect(viaList.data.caliSetSizes).toEqual(viaSave.data.caliSetSizes);
    expect(viaList.data.hostSets.map((h) => ({ ...h, members: [...h.members].sort() }))).toEqual(
      viaSave.data.hostSets.map((h) => ({ ...h, members: [...h.members].sort() })),
    );
  });

  it('no kernel support or no binary does not try ipset list', async () => {
    const noModule = { stdout: '', stderr: 'ipset v7.17: Cannot open session to kernel.\n', exitCode: 1 };
    const host = fakeHost({ commands: { ...NO_NFT, 'ipset save': noModule } });
    expect(await collectIpsets(host, config, context())).toMatchObject({ status: 'unavailable', reason: 'not-present' });
    expect(host.run.calls.map((c) => c.argv.join(' '))).toEqual(['ipset save', 'nft list flowtables']);
  });

  it('unparseable ipset list output (after save failed) → invalid-output naming ipset list', async () => {
    const host = fakeHost({ commands: { ...NO_NFT, 'ipset save': { stdout: '', stderr: 'x\n', exitCode: 1 }, 'ipset list': { stdout: 'Name: a\nType: hash:ip\nbogus\n' } } });
    const r = await collectIpsets(host, config, context());
    expect(r).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringContaining('ipset list') });
  });
});
