import { describe, expect, it } from 'vitest';
import { collectFdb } from '../../../agent/collectors/fdb.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

const vtep = { mac: '66:aa:bb:cc:dd:02', dev: 'vxlan.calico', dst: '10.99.0.1', flags: ['self'], state: 'permanent', vni: null, port: null };

describe('collectFdb', () => {
  it('asks only for the Calico VXLAN devices the links collector saw, naming the device itself', async () => {
    const host = fakeHost({
      commands: { 'bridge -j fdb show dev vxlan.calico': { stdout: fixture('bridge/cdA-vxlan-node-bridge-j-fdb-show-dev-vxlan-calico.json') } },
    });
    const r = await collectFdb(host, config, context({ linkNames: ['lo', 'eth0', 'vxlan.calico', 'cali1'] }));
    expect(r).toEqual({ status: 'ok', data: [vtep] });
    expect(host.run.calls).toHaveLength(1);
  });

  it('reads both VXLAN devices when both exist', async () => {
    const host = fakeHost({
      commands: {
        'bridge -j fdb show dev vxlan.calico': { stdout: fixture('bridge/cdA-vxlan-node-bridge-j-fdb-show-dev-vxlan-calico.json') },
        'bridge -j fdb show dev vxlan-v6.calico': { stdout: '[]' },
      },
    });
    const r = await collectFdb(host, config, context({ linkNames: ['vxlan.calico', 'vxlan-v6.calico'] }));
    expect(r).toEqual({ status: 'ok', data: [vtep] });
  });

  it('no VXLAN device: ok and empty, no command run', async () => {
    const host = fakeHost({});
    expect(await collectFdb(host, config, context({ linkNames: ['lo', 'tunl0'] }))).toEqual({ status: 'ok', data: [] });
    expect(host.run.calls).toHaveLength(0);
  });

  it('without a links result: the whole table filtered to the VXLAN devices', async () => {
    const host = fakeHost({ commands: { 'bridge -j fdb show': { stdout: fixture('bridge/cdA-vxlan-node-bridge-j-fdb-show.json') } } });
    const r = await collectFdb(host, config, context());
    expect(r.status === 'ok' && r.data.map((e) => e.dev)).toEqual(['vxlan.calico', 'vxlan-v6.calico']);
  });

  it('reads the plain-text form when this bridge ignores -j', async () => {
    const host = fakeHost({ commands: { 'bridge -j fdb show dev vxlan.calico': { stdout: fixture('bridge/cdA-vxlan-node-bridge-fdb-show-dev-vxlan-calico.txt') } } });
    expect(await collectFdb(host, config, context({ linkNames: ['vxlan.calico'] }))).toEqual({ status: 'ok', data: [vtep] });
  });

  it('falls back to `bridge fdb show` when this bridge has no -j option', async () => {
    const host = fakeHost({
      commands: {
        'bridge -j fdb show dev vxlan.calico': { stdout: '', stderr: 'Option "-j" is unknown, try "bridge help".\n', exitCode: 255 },
        'bridge fdb show dev vxlan.calico': { stdout: fixture('bridge/cdA-vxlan-node-bridge-fdb-show-dev-vxlan-calico.txt') },
      },
    });
    expect(await collectFdb(host, config, context({ linkNames: ['vxlan.calico'] }))).toEqual({ status: 'ok', data: [vtep] });
  });

  it('missing bridge binary → unavailable missing-binary', async () => {
    const host = fakeHost({ commands: { 'bridge -j fdb show dev vxlan.calico': { error: 'missing-binary' } } });
    expect(await collectFdb(host, config, context({ linkNames: ['vxlan.calico'] }))).toMatchObject({ status: 'unavailable', reason: 'missing-binary' });
  });
});
