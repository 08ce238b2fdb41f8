import { describe, expect, it } from 'vitest';
import { collectLinks } from '../../../agent/collectors/links.js';
import { collectAddresses } from '../../../agent/collectors/addresses.js';
import { collectNeighbours } from '../../../agent/collectors/neighbours.js';
import { Sections } from '../../../contract/snapshot.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

describe('collectLinks / collectAddresses / collectNeighbours', () => {
  it('read recorded output into contract-valid sections', async () => {
    const host = fakeHost({
      commands: {
        'ip -j -d -s link show': { stdout: fixture('ip/cdA-vxlan-node-ip-j-d-s-link-show.json') },
        'ip -j addr show': { stdout: fixture('ip/cdA-vxlan-node-ip-j-addr-show.json') },
        'ip -j neigh show': { stdout: fixture('ip/cdA-vxlan-node-ip-j-neigh-show.json') },
      },
    });
    const links = await collectLinks(host, config, context());
    const addresses = await collectAddresses(host, config, context());
    const neighbours = await collectNeighbours(host, config, context());
    expect(Sections.shape.links.safeParse(links).success).toBe(true);
    expect(Sections.shape.addresses.safeParse(addresses).success).toBe(true);
    expect(Sections.shape.neighbours.safeParse(neighbours).success).toBe(true);
    expect(links.status === 'ok' && links.data.find((l) => l.name === 'vxlan.calico')?.vxlan?.id).toBe(4096);
    expect(addresses.status === 'ok' && addresses.data.some((a) => a.family === 'inet6')).toBe(true);
    expect(neighbours.status === 'ok' && neighbours.data.filter((n) => n.state.includes('PERMANENT'))).toHaveLength(2);
    expect(host.run.calls.map((c) => c.argv.join(' '))).toEqual(['ip -j -d -s link show', 'ip -j addr show', 'ip -j neigh show']);
  });
});
