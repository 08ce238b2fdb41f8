/**
 * issue #2: iproute2 without JSON (older than 4.13: `Option "-j" is unknown`; 4.15 prints text for
 * some -j dumps) → the links / addresses / neighbours collectors read the text output instead.
 * The recorded cdT text and JSON are of the same namespace, so both paths must give the same section.
 */
import { describe, expect, it } from 'vitest';
import { collectLinks } from '../../../agent/collectors/links.js';
import { collectAddresses } from '../../../agent/collectors/addresses.js';
import { collectNeighbours } from '../../../agent/collectors/neighbours.js';
import { Sections } from '../../../contract/snapshot.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

const NO_J = { stdout: '', stderr: 'Option "-j" is unknown, try "ip -help".\n', exitCode: 255 };

describe('text fallback for iproute2 without -j', () => {
  it('links, addresses, neighbours: -j unknown → text commands, same sections as the JSON path', async () => {
    const old = fakeHost({
      commands: {
        'ip -j -d -s link show': NO_J,
        'ip -d -s link show': { stdout: fixture('ip-text/cdT-node-ip-d-s-link-show.txt') },
        'ip -j addr show': NO_J,
        'ip addr show': { stdout: fixture('ip-text/cdT-node-ip-addr-show.txt') },
        'ip -j neigh show': NO_J,
        'ip neigh show': { stdout: fixture('ip-text/cdT-node-ip-neigh-show.txt') },
      },
    });
    const current = fakeHost({
      commands: {
        'ip -j -d -s link show': { stdout: fixture('ip-text/cdT-node-ip-j-d-s-link-show.json') },
        'ip -j addr show': { stdout: fixture('ip-text/cdT-node-ip-j-addr-show.json') },
        'ip -j neigh show': { stdout: fixture('ip-text/cdT-node-ip-j-neigh-show.json') },
      },
    });
    const links = await collectLinks(old, config, context());
    const addresses = await collectAddresses(old, config, context());
    const neighbours = await collectNeighbours(old, config, context());
    expect(old.run.calls.map((c) => c.argv.join(' '))).toEqual([
      'ip -j -d -s link show', 'ip -d -s link show', 'ip -j addr show', 'ip addr show', 'ip -j neigh show', 'ip neigh show',
    ]);
    expect(Sections.shape.links.safeParse(links).success).toBe(true);
    expect(links.status === 'ok' && links.data.find((l) => l.name === 'vxlan.calico')?.vxlan?.id).toBe(4096);
    expect(links).toEqual(await collectLinks(current, config, context()));
    expect(addresses).toEqual(await collectAddresses(current, config, context()));
    expect(neighbours).toEqual(await collectNeighbours(current, config, context()));
  });

  it('-j ignored (text printed for -j) → text command; a JSON parse error that is not "incompatible" does not fall back', async () => {
    const text = fixture('ip-text/cdT-node-ip-d-s-link-show.txt');
    const ignored = fakeHost({ commands: { 'ip -j -d -s link show': { stdout: text }, 'ip -d -s link show': { stdout: text } } });
    expect(await collectLinks(ignored, config, context())).toMatchObject({ status: 'ok' });
    const broken = fakeHost({ commands: { 'ip -j -d -s link show': { stdout: '[{"ifindex":1' } } });
    expect(await collectLinks(broken, config, context())).toMatchObject({ status: 'unavailable', reason: 'invalid-output' });
    expect(broken.run.calls).toHaveLength(1);
  });

  it('text fallback failing too keeps "incompatible" and says what the fallback hit', async () => {
    const host = fakeHost({ commands: { 'ip -j addr show': NO_J, 'ip addr show': { stdout: '    inet 10.0.0.1/24 scope global eth0\n' } } });
    const r = await collectAddresses(host, config, context());
    expect(r).toMatchObject({ status: 'unavailable', reason: 'incompatible' });
    expect(r.status === 'unavailable' && r.detail).toMatch(/Option "-j" is unknown.*; fallback ip addr show: syntax: .*\(line 1\)/);
  });

  it('empty text neighbour table is no neighbours', async () => {
    const host = fakeHost({ commands: { 'ip -j neigh show': NO_J, 'ip neigh show': { stdout: '' } } });
    expect(await collectNeighbours(host, config, context())).toEqual({ status: 'ok', data: [] });
  });
});
