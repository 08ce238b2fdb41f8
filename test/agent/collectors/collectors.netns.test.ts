/**
 * The collectors end to end on a real kernel: the real Host and runner, with every command run
 * inside a throw-away network namespace (cdA-coll-<pid>) shaped like a Calico VXLAN node.
 * The namespace is always deleted (afterAll), also when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRunner, type CommandRunner } from '../../../agent/exec/runner.js';
import { realHost } from '../../../agent/exec/host.js';
import { collectLinks } from '../../../agent/collectors/links.js';
import { collectAddresses } from '../../../agent/collectors/addresses.js';
import { collectRoutes } from '../../../agent/collectors/routes.js';
import { collectNeighbours } from '../../../agent/collectors/neighbours.js';
import { collectFdb } from '../../../agent/collectors/fdb.js';
import { collectIpsets } from '../../../agent/collectors/ipsets.js';
import { collectSysctls } from '../../../agent/collectors/sysctls.js';
import { Sections } from '../../../contract/snapshot.js';
import { config, context } from './fake-host.js';

const NS = `cdA-coll-${process.pid}`;

const sh = async (...argv: [string, ...string[]]): Promise<void> => {
  const r = await execRunner({ argv, timeoutMs: 10_000 });
  if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.ok ? r.stderr : r.message}`);
};
const inNs = (...argv: [string, ...string[]]) => sh('ip', 'netns', 'exec', NS, ...argv);

/** A runner that runs every command inside the namespace. */
const nsRunner: CommandRunner = (req) => execRunner({ ...req, argv: ['ip', 'netns', 'exec', NS, ...req.argv] });

beforeAll(async () => {
  await sh('ip', 'netns', 'add', NS);
  await inNs('ip', 'link', 'set', 'lo', 'up');
  await inNs('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
  await inNs('ip', 'link', 'set', 'eth1', 'up');
  await inNs('ip', 'link', 'set', 'eth0', 'up');
  await inNs('ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0');
  await inNs('ip', 'link', 'add', 'vxlan.calico', 'type', 'vxlan', 'id', '4096', 'dstport', '4789', 'local', '10.77.0.2', 'dev', 'eth0', 'nolearning');
  await inNs('ip', 'link', 'set', 'vxlan.calico', 'address', '66:01:02:03:04:05', 'mtu', '1450', 'up');
  await inNs('ip', 'addr', 'add', '10.245.1.0/32', 'dev', 'vxlan.calico');
  await inNs('ip', 'route', 'add', '10.245.2.0/26', 'via', '10.245.2.0', 'dev', 'vxlan.calico', 'onlink', 'proto', '80');
  await inNs('ip', 'route', 'add', 'blackhole', '10.245.1.0/26', 'proto', '80');
  await inNs('ip', 'neigh', 'add', '10.245.2.0', 'lladdr', '66:0a:0b:0c:0d:0e', 'dev', 'vxlan.calico', 'nud', 'permanent');
  await inNs('bridge', 'fdb', 'append', '66:0a:0b:0c:0d:0e', 'dev', 'vxlan.calico', 'dst', '10.77.0.3', 'self', 'permanent');
  await inNs('ipset', 'create', 'cali40all-hosts-net', 'hash:net', 'family', 'inet');
  await inNs('ipset', 'add', 'cali40all-hosts-net', '10.77.0.3');
});

afterAll(async () => {
  // ipsets live in the namespace and go with it
  await execRunner({ argv: ['ip', 'netns', 'del', NS], timeoutMs: 10_000 });
});

describe('collectors on a real kernel (cdA namespace)', () => {
  const host = realHost(nsRunner);

  it('links, addresses, routes, neighbours, fdb and ipsets read the Calico VXLAN state', async () => {
    const links = await collectLinks(host, config, context());
    expect(Sections.shape.links.safeParse(links).success).toBe(true);
    if (links.status !== 'ok') throw new Error(links.detail);
    expect(links.data.find((l) => l.name === 'vxlan.calico')).toMatchObject({
      kind: 'vxlan',
      mtu: 1450,
      mac: '66:01:02:03:04:05',
      vxlan: { id: 4096, port: 4789, local: '10.77.0.2', link: 'eth0', learning: false },
    });

    const addresses = await collectAddresses(host, config, context());
    expect(addresses.status === 'ok' && addresses.data).toContainEqual({ ifname: 'vxlan.calico', family: 'inet', local: '10.245.1.0', prefixlen: 32, scope: 'global' });

    const routes = await collectRoutes(host, config, context());
    expect(Sections.shape.routes.safeParse(routes).success).toBe(true);
    if (routes.status !== 'ok') throw new Error(routes.detail);
    expect(routes.data.find((r) => r.dst === '10.245.2.0/26')).toMatchObject({ gateway: '10.245.2.0', dev: 'vxlan.calico', flags: ['onlink'], protocol: '80' });
    expect(routes.data.find((r) => r.dst === '10.245.1.0/26')).toMatchObject({ type: 'blackhole' });

    const neighbours = await collectNeighbours(host, config, context());
    expect(neighbours.status === 'ok' && neighbours.data).toContainEqual({
      family: 'inet',
      dst: '10.245.2.0',
      dev: 'vxlan.calico',
      lladdr: '66:0a:0b:0c:0d:0e',
      state: ['PERMANENT'],
      router: false,
    });

    const fdb = await collectFdb(host, config, context({ linkNames: links.data.map((l) => l.name) }));
    expect(fdb).toEqual({
      status: 'ok',
      data: [{ mac: '66:0a:0b:0c:0d:0e', dev: 'vxlan.calico', dst: '10.77.0.3', flags: ['self'], state: 'permanent', vni: null, port: null }],
    });

    const ipsets = await collectIpsets(host, config, context());
    expect(ipsets).toEqual({
      status: 'ok',
      data: { hostSets: [{ name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: ['10.77.0.3'] }], caliSetSizes: { 'cali40all-hosts-net': 1 } },
    });
  });

  it('sysctls read this host\'s real /proc/sys (read-only)', async () => {
    const r = await collectSysctls(realHost(execRunner), config, context({ uplinks: ['lo'] }));
    expect(Sections.shape.sysctls.safeParse(r).success).toBe(true);
    if (r.status !== 'ok') throw new Error(r.detail);
    expect([0, 1]).toContain(r.data.ipv4Forward);
    expect(r.data.interfaces.map((i) => i.scope)).toEqual(expect.arrayContaining(['all', 'default', 'lo']));
    for (const i of r.data.interfaces) expect(i.rpFilter === null || [0, 1, 2].includes(i.rpFilter)).toBe(true);
  });
});
