/**
 * issue #2: the text parsers against the live kernel and this host's iproute2: a throw-away
 * namespace pair (cdT-live-<pid>, cdT-livepod-<pid>) shaped like a Calico VXLAN node is read with
 * and without -j, and the text parsers must give what the JSON parsers give (counters apart, which
 * may move between the two reads). Namespaces are always deleted (afterAll), also on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRunner } from '../../../agent/exec/runner.js';
import { parseIpTextAddrs, parseIpTextLinks, parseIpTextNeigh, parseIpTextRoutes } from '../../../agent/parsers/ip-text.js';
import { parseIpAddrs, parseIpLinks, parseIpNeigh, parseIpRoutes } from '../../../agent/parsers/ip-json.js';

const NS = `cdT-live-${process.pid}`;
const POD = `cdT-livepod-${process.pid}`;

const run = async (...argv: [string, ...string[]]): Promise<string> => {
  const r = await execRunner({ argv, timeoutMs: 10_000 });
  if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.ok ? r.stderr : r.message}`);
  return r.stdout;
};
const inNs = (...argv: [string, ...string[]]) => run('ip', 'netns', 'exec', NS, ...argv);

beforeAll(async () => {
  await run('ip', 'netns', 'add', NS);
  await run('ip', 'netns', 'add', POD);
  const steps: string[][] = [
    ['ip', 'link', 'set', 'lo', 'up'],
    ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1'],
    ['ip', 'link', 'set', 'eth0', 'up'],
    ['ip', 'link', 'set', 'eth1', 'up'],
    ['ip', 'addr', 'add', '10.88.0.2/24', 'dev', 'eth0'],
    ['ip', 'link', 'add', 'vxlan.calico', 'type', 'vxlan', 'id', '4096', 'dstport', '4789', 'local', '10.88.0.2', 'dev', 'eth0', 'nolearning'],
    ['ip', 'link', 'set', 'vxlan.calico', 'mtu', '1450', 'up'],
    // learning on and no local address: text prints neither `nolearning` nor `local`
    ['ip', 'link', 'add', 'vxlan.learn', 'type', 'vxlan', 'id', '4097', 'dstport', '4790', 'dev', 'eth0'],
    ['ip', 'addr', 'add', '10.247.1.0/32', 'dev', 'vxlan.calico'],
    ['ip', 'link', 'add', 'caliabcdef01234', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', POD],
    ['ip', 'link', 'set', 'caliabcdef01234', 'up'],
    ['ip', 'route', 'add', '10.247.1.7/32', 'dev', 'caliabcdef01234', 'scope', 'link'],
    ['ip', 'route', 'add', 'blackhole', '10.247.1.0/26', 'proto', '80'],
    ['ip', 'route', 'add', 'unreachable', '10.247.8.0/26', 'proto', 'bird'],
    ['ip', 'route', 'add', '10.247.2.0/26', 'via', '10.247.2.0', 'dev', 'vxlan.calico', 'onlink', 'proto', '80'],
    ['ip', 'route', 'add', '10.247.5.0/26', 'proto', 'bird', 'nexthop', 'via', '10.88.0.4', 'dev', 'eth0', 'nexthop', 'via', '10.88.0.5', 'dev', 'eth0'],
    ['ip', '-6', 'route', 'add', 'blackhole', 'fd00:247::/122', 'proto', '80'],
    ['ip', 'neigh', 'add', '10.247.2.0', 'lladdr', '66:01:02:03:04:05', 'dev', 'vxlan.calico', 'nud', 'permanent'],
  ];
  for (const s of steps) await inNs(...(s as [string, ...string[]]));
}, 60_000);

afterAll(async () => {
  await execRunner({ argv: ['ip', 'netns', 'del', NS], timeoutMs: 10_000 });
  await execRunner({ argv: ['ip', 'netns', 'del', POD], timeoutMs: 10_000 });
});

const value = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(JSON.stringify(p.error));
  return p.value;
};

describe('ip text parsers agree with ip -j parsers on a live namespace', () => {
  it('links (counters apart), addresses, routes of both families, neighbours', async () => {
    const textLinks = value(parseIpTextLinks(await inNs('ip', '-d', '-s', 'link', 'show')));
    const jsonLinks = value(parseIpLinks(await inNs('ip', '-j', '-d', '-s', 'link', 'show')));
    const noStats = <T extends { stats: unknown }>(ls: T[]) => ls.map((l) => ({ ...l, stats: l.stats === null ? null : 'present' }));
    expect(noStats(textLinks)).toEqual(noStats(jsonLinks));
    expect(textLinks.find((l) => l.name === 'vxlan.calico')?.vxlan).toEqual({ id: 4096, port: 4789, local: '10.88.0.2', link: 'eth0', learning: false });
    expect(textLinks.find((l) => l.name === 'caliabcdef01234')).toMatchObject({ kind: 'veth', parent: null });
    expect(textLinks.find((l) => l.name === 'vxlan.learn')?.vxlan).toEqual({ id: 4097, port: 4790, local: null, link: 'eth0', learning: true });

    expect(value(parseIpTextAddrs(await inNs('ip', 'addr', 'show')))).toEqual(value(parseIpAddrs(await inNs('ip', '-j', 'addr', 'show'))));
    for (const [flag, fam] of [['-4', 'inet'], ['-6', 'inet6']] as const) {
      const text = value(parseIpTextRoutes(await inNs('ip', flag, 'route', 'show', 'table', 'all'), fam));
      expect(text).toEqual(value(parseIpRoutes(await inNs('ip', '-j', flag, 'route', 'show', 'table', 'all'), fam)));
      expect(text.some((r) => r.type === 'blackhole' && r.protocol === '80')).toBe(true);
    }
    const neigh = value(parseIpTextNeigh(await inNs('ip', 'neigh', 'show')));
    expect(neigh).toEqual(value(parseIpNeigh(await inNs('ip', '-j', 'neigh', 'show'))));
    expect(neigh.find((n) => n.dst === '10.247.2.0')).toMatchObject({ dev: 'vxlan.calico', state: ['PERMANENT'] });
  });
});
