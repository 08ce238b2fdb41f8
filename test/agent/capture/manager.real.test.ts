/**
 * The capture manager and probe sender against the real tcpdump and ping, in two cdF network
 * namespaces joined by a veth pair with vxlan.calico on each side (as Felix wires it). The runner
 * is the real one, prefixed with `ip netns exec` so every command runs inside the namespace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRunner, type CommandRunner } from '../../../agent/exec/runner.js';
import { CaptureManager } from '../../../agent/capture/manager.js';
import { sendProbe } from '../../../agent/capture/probe.js';
import { CaptureRequest } from '../../../contract/capture.js';
import type { Identity } from '../../../contract/snapshot.js';

const tag = `${process.pid % 1000}`;
const NA = `cdFa${tag}`;
const NB = `cdFb${tag}`;
const logger = pino({ level: 'silent' });
let dir: string;

const inNs = (ns: string): CommandRunner => (req) => execRunner({ ...req, argv: ['ip', 'netns', 'exec', ns, ...req.argv] });
const must = async (argv: [string, ...string[]]) => {
  const r = await execRunner({ argv, timeoutMs: 10_000 });
  if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${r.ok ? r.stderr : r.message}`);
  return r.ok ? r.stdout : '';
};
const teardown = async () => {
  for (const ns of [NA, NB]) await execRunner({ argv: ['ip', 'netns', 'del', ns] });
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cdF-real-'));
  await teardown();
  await must(['ip', 'netns', 'add', NA]);
  await must(['ip', 'netns', 'add', NB]);
  await must(['ip', 'link', 'add', 'cdFva', 'netns', NA, 'type', 'veth', 'peer', 'name', 'cdFvb', 'netns', NB]);
  const side = async (ns: string, dev: string, me: number, peer: number, mac: string, peerMac: string) => {
    const x = (...a: string[]) => must(['ip', 'netns', 'exec', ns, ...a] as [string, ...string[]]);
    await x('ip', 'link', 'set', 'lo', 'up');
    await x('ip', 'addr', 'add', `192.168.78.${me}/24`, 'dev', dev);
    await x('ip', 'link', 'set', dev, 'up');
    await x('ip', 'link', 'add', 'vxlan.calico', 'address', mac, 'type', 'vxlan', 'id', '4096', 'local', `192.168.78.${me}`, 'dev', dev, 'dstport', '4789', 'nolearning');
    await x('ip', 'addr', 'add', `10.78.${me}.0/32`, 'dev', 'vxlan.calico');
    await x('ip', 'link', 'set', 'vxlan.calico', 'up');
    await x('ip', 'route', 'add', `10.78.${peer}.0/26`, 'via', `10.78.${peer}.0`, 'dev', 'vxlan.calico', 'onlink');
    await x('ip', 'neigh', 'add', `10.78.${peer}.0`, 'lladdr', peerMac, 'dev', 'vxlan.calico', 'nud', 'permanent');
    await x('bridge', 'fdb', 'add', peerMac, 'dev', 'vxlan.calico', 'dst', `192.168.78.${peer}`, 'self', 'permanent');
  };
  await side(NA, 'cdFva', 1, 2, '66:78:00:00:00:01', '66:78:00:00:00:02');
  await side(NB, 'cdFvb', 2, 1, '66:78:00:00:00:02', '66:78:00:00:00:01');
}, 60_000);

afterAll(async () => {
  await teardown();
  rmSync(dir, { recursive: true, force: true });
});

const identityA: Identity = {
  nodeIPs: ['192.168.78.1'],
  uplinks: [{ name: 'cdFva', mtu: 1500 }],
  tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.78.1.0', mac: '66:78:00:00:00:01', vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: '192.168.78.1' }],
  blocks: ['10.78.1.0/26'],
  workloads: [],
};

describe('capture + probe with the real tcpdump and ping (cdF namespaces)', () => {
  it('captures the probe on the underlay (-i any, SLL2) and the tunnel device, matched by ICMP id and seq', async () => {
    const links = JSON.parse(await must(['ip', '-n', NB, '-j', 'link', 'show'])) as Array<{ ifindex: number; ifname: string }>;
    const names = Object.fromEntries(links.map((l) => [l.ifindex, l.ifname]));
    const m = new CaptureManager({ runner: inNs(NB), logger, node: 'b', dir, now: () => Date.now(), tcpdumpUser: 'root', ifindexNames: () => names });
    const req = CaptureRequest.parse({ interfaces: ['any', 'vxlan.calico'], peers: ['192.168.78.1', '10.78.1.0'], match: [{ kind: 'vxlan' }, { kind: 'icmp' }], durationSeconds: 4, maxPackets: 200 });
    const started = m.start(req);
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    for (let i = 0; i < 50 && !(await m.listening(started.id)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await m.listening(started.id)).toBe(true);

    const probe = await sendProbe(
      { target: '10.78.2.0', source: 'tunnel', count: 3, intervalMs: 200, id: 31337 },
      { runner: inNs(NA), node: 'a', now: () => Date.now(), source: () => ({ identity: identityA, addresses: ['192.168.78.1', '10.78.1.0'] }) },
    );
    expect(probe).toMatchObject({ ok: true, result: { sent: 3, received: 3, source: '10.78.1.0', target: '10.78.2.0' } });

    const r = await m.wait(started.id);
    expect(r?.status, JSON.stringify(r?.error)).toBe('done');
    const ours = (r?.records ?? []).filter((x) => x.icmp?.id === 31337);
    const underlay = ours.filter((x) => x.encapsulation === 'vxlan');
    // the vxlan.calico capture (Ethernet: no direction) — the `any` capture sees the same frames with one
    const tunnel = ours.filter((x) => x.interface === 'vxlan.calico' && x.direction === undefined);
    const tunnelViaAny = ours.filter((x) => x.interface === 'vxlan.calico' && x.direction !== undefined);
    expect(tunnelViaAny.map((x) => `${x.direction} ${x.icmp?.type}`).sort()).toEqual(['in 8', 'in 8', 'in 8', 'out 0', 'out 0', 'out 0']);
    // -i any: each request arrives (in) on cdFvb and each reply leaves (out) through it
    expect(underlay.map((x) => `${x.interface} ${x.direction} ${x.icmp?.type} ${x.icmp?.seq}`).sort()).toEqual(
      ['cdFvb in 8 1', 'cdFvb in 8 2', 'cdFvb in 8 3', 'cdFvb out 0 1', 'cdFvb out 0 2', 'cdFvb out 0 3'].sort(),
    );
    expect(underlay[0]).toMatchObject({ vni: 4096, innerDstMac: expect.stringMatching(/^66:78:00:00:00:0[12]$/) });
    expect(tunnel.map((x) => `${x.icmp?.type}/${x.icmp?.seq}`).sort()).toEqual(['0/1', '0/2', '0/3', '8/1', '8/2', '8/3']);
    expect(tunnel.find((x) => x.icmp?.type === 8)).toMatchObject({ encapsulation: 'none', innerDstMac: '66:78:00:00:00:02', innerSrc: '10.78.1.0' });
    expect(m.pcapFile(started.id, 'any')).not.toBeNull();
  }, 30_000);

  it('an interface that exists in the snapshot but not in the kernel: tcpdump fails, the capture says why', async () => {
    const m = new CaptureManager({ runner: inNs(NB), logger, node: 'b', dir, now: () => Date.now(), tcpdumpUser: 'root' });
    const s = m.start(CaptureRequest.parse({ interfaces: ['cdFgone0'], match: [{ kind: 'icmp' }], durationSeconds: 2, maxPackets: 5 }));
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    const r = await m.wait(s.id);
    expect(r?.status).toBe('failed');
    expect(r?.error?.message).toMatch(/cdFgone0/);
  }, 20_000);
});
