/**
 * End to end: `calico-diag snapshot --json` run by the real CLI inside a throw-away network
 * namespace (prefix cdC) shaped like a Calico VXLAN node: an uplink (veth) with the node IP and default
 * route, vxlan.calico (VNI 4096, port 4789, nolearning) with its tunnel /32, a Felix-style route to
 * a peer block via the peer's tunnel IP, the peer's permanent neighbour and FDB entry, and a local
 * blackhole block. The namespace is removed in afterAll, also on failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRunner } from '../../agent/exec/runner.js';
import { Snapshot } from '../../contract/snapshot.js';

const NS = `cdC-x${process.pid % 10000}`;
let bundle = '';

const sh = async (...argv: [string, ...string[]]) => {
  const r = await execRunner({ argv });
  if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${r.ok ? r.stderr : r.message}`);
};
const inNs = (...argv: string[]) => sh('ip', 'netns', 'exec', NS, ...argv);

const cli = async (args: string[], netns: boolean) => {
  const argv: [string, ...string[]] = netns
    ? ['ip', 'netns', 'exec', NS, 'node', '--import', 'tsx', 'cli/main.ts', ...args]
    : ['node', '--import', 'tsx', 'cli/main.ts', ...args];
  const r = await execRunner({ argv, timeoutMs: 120_000 });
  if (!r.ok) throw new Error(`${argv.join(' ')}: ${r.message}`);
  return r;
};

beforeAll(async () => {
  await execRunner({ argv: ['ip', 'netns', 'del', NS] });
  await sh('ip', 'netns', 'add', NS);
  await inNs('ip', 'link', 'set', 'lo', 'up');
  // no dummy module here: a veth pair kept inside the namespace stands in for the uplink
  await inNs('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
  await inNs('ip', 'link', 'set', 'eth0-peer', 'up');
  await inNs('ip', 'addr', 'add', '192.168.77.10/24', 'dev', 'eth0');
  await inNs('ip', 'link', 'set', 'eth0', 'up');
  await inNs('ip', 'route', 'add', 'default', 'via', '192.168.77.1', 'dev', 'eth0');
  await inNs('ip', 'link', 'add', 'vxlan.calico', 'type', 'vxlan', 'id', '4096', 'dstport', '4789', 'local', '192.168.77.10', 'dev', 'eth0', 'nolearning');
  await inNs('ip', 'link', 'set', 'vxlan.calico', 'mtu', '1450', 'address', '66:c0:ff:ee:00:10');
  await inNs('ip', 'addr', 'add', '10.244.5.0/32', 'dev', 'vxlan.calico');
  await inNs('ip', 'link', 'set', 'vxlan.calico', 'up');
  await inNs('ip', 'route', 'add', '10.244.9.0/26', 'via', '10.244.9.0', 'dev', 'vxlan.calico', 'onlink', 'proto', '80');
  await inNs('ip', 'neigh', 'add', '10.244.9.0', 'lladdr', '66:c0:ff:ee:00:11', 'dev', 'vxlan.calico', 'nud', 'permanent');
  await inNs('bridge', 'fdb', 'append', '66:c0:ff:ee:00:11', 'dev', 'vxlan.calico', 'dst', '192.168.77.11', 'self', 'permanent');
  await inNs('ip', 'route', 'add', 'blackhole', '10.244.5.0/26', 'proto', '80');
  await inNs('sysctl', '-qw', 'net.ipv4.ip_forward=1');
  bundle = await mkdtemp(join(tmpdir(), 'cdC-e2e-'));
});

afterAll(async () => {
  await execRunner({ argv: ['ip', 'netns', 'del', NS] });
  if (bundle) await rm(bundle, { recursive: true, force: true });
});

// issue #2
describe('calico-diag snapshot in a VXLAN node namespace', () => {
  it('sees the tunnel, its route, neighbour and FDB entry; the bundle replays outside the namespace', async () => {
    const r = await cli(['snapshot', '--json', '--node-name', 'cdc-e2e', '--save', bundle], true);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const body = JSON.parse(r.stdout) as { snapshot: Snapshot; findings: { rule: string }[] };
    const snap = Snapshot.parse(body.snapshot);
    expect(snap.sections.links.status).toBe('ok');
    expect(snap.sections.routes.status).toBe('ok');
    expect(snap.sections.neighbours.status).toBe('ok');
    expect(snap.sections.fdb.status).toBe('ok');
    expect(snap.identity.tunnels).toEqual([
      expect.objectContaining({ device: 'vxlan.calico', kind: 'vxlan', ip: '10.244.5.0', mac: '66:c0:ff:ee:00:10', vni: 4096, port: 4789, mtu: 1450 }),
    ]);
    expect(snap.identity.nodeIPs).toContain('192.168.77.10');
    expect(snap.identity.uplinks.map((u) => u.name)).toEqual(['eth0']);
    expect(snap.identity.blocks).toEqual(['10.244.5.0/26']);
    expect(snap.mode.encapsulation).toBe('vxlan');
    if (snap.sections.routes.status === 'ok') expect(snap.sections.routes.data.some((x) => x.dst === '10.244.9.0/26' && x.dev === 'vxlan.calico')).toBe(true);
    if (snap.sections.fdb.status === 'ok') expect(snap.sections.fdb.data.some((f) => f.mac === '66:c0:ff:ee:00:11' && f.dst === '192.168.77.11')).toBe(true);

    const replay = await cli(['snapshot', '--json', '--from', bundle], false);
    expect(replay.exitCode).toBe(0);
    const again = JSON.parse(replay.stdout) as { snapshot: Snapshot; findings: { rule: string }[] };
    expect(again.snapshot.node).toBe('cdc-e2e');
    expect(again.snapshot.sections).toEqual(snap.sections);
    expect(again.snapshot.identity).toEqual(snap.identity);
    expect(again.findings).toEqual(body.findings);
  });
});
