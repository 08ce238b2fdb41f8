import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureRequest } from '../../../contract/capture.js';
import { CaptureManager } from '../../../agent/capture/manager.js';
import type { DropTracer } from '../../../agent/capture/drop-reasons.js';
import type { CommandRunner } from '../../../agent/exec/runner.js';
import { scriptedTcpdump } from './scripted-tcpdump.js';

const logger = pino({ level: 'silent' });
const req = (over: Partial<Record<string, unknown>> = {}) =>
  CaptureRequest.parse({ interfaces: ['eth0'], peers: ['192.168.77.1'], match: [{ kind: 'vxlan' }], durationSeconds: 3, maxPackets: 100, ...over });

let dir: string;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'cdF-cap-')), 'captures');
});
afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

describe('CaptureManager', () => {
  it('runs one bounded tcpdump per interface and decodes the files into sorted records', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap', 'vxlan.calico': 'vxlan-tunnel-dev.pcap' });
    let n = 0;
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 1_763_700_000_000 + n++, tcpdumpUser: 'root', newId: () => 'cap-one' });
    const s = m.start(req({ interfaces: ['eth0', 'vxlan.calico'], match: [{ kind: 'vxlan' }, { kind: 'icmp' }] }));
    expect(s).toEqual({ ok: true, id: 'cap-one' });
    const r = await m.wait('cap-one');
    expect(r?.status).toBe('done');
    expect(r?.packets).toBe(12);
    expect(r?.records).toHaveLength(12);
    expect(new Set(r?.records?.map((x) => x.interface))).toEqual(new Set(['eth0', 'vxlan.calico']));
    const times = r?.records?.map((x) => x.time) ?? [];
    expect([...times].sort()).toEqual(times);
    expect(runner.calls).toHaveLength(2);
    for (const c of runner.calls) {
      expect(c.timeoutMs).toBe(6000);
      expect(c.argv.slice(0, 5)).toEqual(['timeout', '--signal=INT', '--kill-after=2', '3', 'tcpdump']);
      expect(c.argv.at(-1)).toBe('(udp dst port 4789 or (icmp or icmp6)) and (host 192.168.77.1)');
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(m.pcapFile('cap-one', 'vxlan.calico')?.file).toBe(join(dir, 'cap-one', 'vxlan.calico.pcap'));
  });

  // #16: captures read pod traffic payload on any node
  it('keeps packet headers only, unless the agent was started to keep payload', async () => {
    const snapOf = async (fullPayload: boolean) => {
      const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' });
      const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => `cap-${fullPayload}`, fullPayload });
      m.start(req({ match: [{ kind: 'vxlan' }, { kind: 'icmp' }] }));
      await m.wait(`cap-${fullPayload}`);
      const argv = runner.calls[0]!.argv;
      return argv[argv.indexOf('-s') + 1];
    };
    expect(await snapOf(false)).toBe(String(20 + 20 + 8 + 8 + 14 + 20 + 20));
    expect(await snapOf(true)).toBe('262144');
  });

  // #16: kept captures pushed the agent past its memory limit
  it('keeps decoded records of the newest captures only; older ones keep their files', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' });
    let n = 0;
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => n, newId: () => `cap-${++n}` });
    for (let i = 1; i <= 4; i++) {
      m.start(req());
      await m.wait(`cap-${i}`);
    }
    expect(m.get('cap-4')?.records?.length).toBeGreaterThan(0);
    expect(m.get('cap-3')?.records?.length).toBeGreaterThan(0);
    for (const id of ['cap-1', 'cap-2']) {
      expect(m.get(id)?.records).toEqual([]);
      expect(m.get(id)?.warnings.at(-1)).toMatch(/decoded records released to bound memory/);
      expect(m.pcapFile(id, 'eth0')).not.toBeNull();
    }
  });

  it('one capture at a time: a second start while the first runs is busy, and no command is started', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }, { hold: true });
    let id = 0;
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => `cap-${++id}` });
    expect(m.start(req()).ok).toBe(true);
    const second = m.start(req());
    expect(second).toMatchObject({ ok: false, code: 'busy' });
    expect(m.get('cap-1')?.status).toBe('running');
    // the first capture's command starts after its directory is made: wait for it (a fixed 20 ms
    // was too short on a loaded machine), then see that the refused start added none
    await vi.waitFor(() => expect(runner.calls.length).toBeGreaterThan(0), { timeout: 5_000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(runner.calls).toHaveLength(1);
    runner.release();
    await m.wait('cap-1');
    expect(m.start(req()).ok).toBe(true);
    await m.wait('cap-2');
  });

  it('tcpdump failing (bad filter, no device) marks the capture failed with its message', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }, { exitCode: 1, stderr: 'tcpdump: eth0: No such device exists\n' });
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-x' });
    m.start(req());
    const r = await m.wait('cap-x');
    expect(r).toMatchObject({ status: 'failed', error: { code: 'CAPTURE_FAILED', message: 'eth0: tcpdump exited 1: tcpdump: eth0: No such device exists' } });
  });

  // #18: one device that cannot be opened lost the node's whole capture
  it('a device tcpdump cannot open fails alone, with its snapshot state; the other devices are captured and decoded', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }, { hold: true, failing: { 'vxlan.calico': { exitCode: 1, stderr: 'tcpdump: vxlan.calico: That device is not up\n' } } });
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-d', deviceState: (i) => (i === 'vxlan.calico' ? 'down' : 'up') });
    m.start(req({ interfaces: ['eth0', 'vxlan.calico'] }));
    // the failed device is settled, the other one listens: probes may go
    for (let i = 0; i < 50 && !(await m.listening('cap-d')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await m.listening('cap-d')).toBe(true);
    expect(m.get('cap-d')?.devices).toEqual([
      { interface: 'eth0', status: 'listening' },
      { interface: 'vxlan.calico', status: 'failed', state: 'down', error: { code: 'CAPTURE_FAILED', message: 'vxlan.calico: tcpdump exited 1: tcpdump: vxlan.calico: That device is not up' } },
    ]);
    runner.release();
    const r = await m.wait('cap-d');
    expect(r?.status).toBe('done');
    expect(r?.records?.length).toBeGreaterThan(0);
    expect(r?.records?.every((x) => x.interface === 'eth0')).toBe(true);
    expect(r?.devices?.map((d) => [d.interface, d.status])).toEqual([['eth0', 'captured'], ['vxlan.calico', 'failed']]);
    expect(r?.warnings.join()).toMatch(/vxlan.calico: tcpdump exited 1.*\(device down\)/);
  });

  // #18: renamed after the snapshot: the evidence says so, not a generic capture failure
  it('a device renamed since the snapshot fails as DEVICE_RENAMED with its new name and the snapshot time; one gone as DEVICE_MISSING', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }, { failing: { 'vxlan.calico': { exitCode: 1, stderr: 'tcpdump: vxlan.calico: No such device exists\n' } } });
    const asked: string[] = [];
    const m = new CaptureManager({
      runner, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-r', deviceState: () => 'up',
      deviceFate: async (i) => (asked.push(i), { state: 'renamed', renamedTo: 'vxlan.moved', snapshotAt: '2026-12-06T20:00:00.000Z', message: 'renamed to vxlan.moved since the snapshot at 2026-12-06T20:00:00.000Z (ifindex 7)' }),
    });
    m.start(req({ interfaces: ['eth0', 'vxlan.calico'] }));
    const r = await m.wait('cap-r');
    expect(asked).toEqual(['vxlan.calico']);
    expect(r?.status).toBe('done');
    expect(r?.devices?.[1]).toEqual({
      interface: 'vxlan.calico', status: 'failed', state: 'renamed', renamedTo: 'vxlan.moved', snapshotAt: '2026-12-06T20:00:00.000Z',
      error: { code: 'DEVICE_RENAMED', message: 'vxlan.calico: renamed to vxlan.moved since the snapshot at 2026-12-06T20:00:00.000Z (ifindex 7)' },
    });
    // missing in the latest snapshot already: the previous one tells that it is gone since then
    const gone = new CaptureManager({
      runner: scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }), logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-g', deviceState: (i) => (i === 'eth0' ? 'up' : 'missing'),
      deviceFate: async () => ({ state: 'missing', snapshotAt: '2026-12-06T20:00:00.000Z', message: 'gone since the snapshot at 2026-12-06T20:00:00.000Z (ifindex 7 no longer exists)' }),
    });
    gone.start(req({ interfaces: ['eth0', 'vxlan.calico'] }));
    expect((await gone.wait('cap-g'))?.devices?.[1]).toMatchObject({ state: 'missing', snapshotAt: '2026-12-06T20:00:00.000Z', error: { code: 'DEVICE_MISSING', message: 'vxlan.calico: gone since the snapshot at 2026-12-06T20:00:00.000Z (ifindex 7 no longer exists)' } });
  });

  it('a device missing from the snapshot is not started and reported DEVICE_MISSING; all devices failing fails the job', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' });
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-m1', deviceState: (i) => (i === 'eth0' ? 'up' : 'missing') });
    m.start(req({ interfaces: ['eth0', 'vxlan.calico'] }));
    const r = await m.wait('cap-m1');
    expect(r?.status).toBe('done');
    expect(runner.calls.map((c) => c.argv[c.argv.indexOf('-i') + 1])).toEqual(['eth0']);
    expect(r?.devices?.[1]).toEqual({ interface: 'vxlan.calico', status: 'failed', state: 'missing', error: { code: 'DEVICE_MISSING', message: 'vxlan.calico: no such device on this node' } });
    const none = scriptedTcpdump({});
    const m2 = new CaptureManager({ runner: none, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-m2', deviceState: () => 'missing' });
    m2.start(req({ interfaces: ['vxlan.calico'] }));
    expect(await m2.wait('cap-m2')).toMatchObject({ status: 'failed', error: { code: 'DEVICE_MISSING' } });
    expect(none.calls).toEqual([]);
  });

  it('arms the drop-reason tracer for the window and reports what it counted, also when the capture fails', async () => {
    const events: string[] = [];
    const tracer = (id: string) =>
      ({
        arm: async () => void events.push(`arm ${id}`),
        collect: async () => {
          events.push(`collect ${id}`);
          return { available: true, total: 2, counts: [{ reason: 'OTHERHOST', location: 'ip_rcv_core', count: 2 }] };
        },
      }) as unknown as DropTracer;
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' });
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-t', dropTracer: tracer });
    m.start(req());
    expect((await m.wait('cap-t'))?.drops).toEqual({ available: true, total: 2, counts: [{ reason: 'OTHERHOST', location: 'ip_rcv_core', count: 2 }] });
    const failing = scriptedTcpdump({}, { failing: { eth0: { exitCode: 1, stderr: 'tcpdump: eth0: No such device exists' } } });
    const m2 = new CaptureManager({ runner: failing, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-u', dropTracer: tracer });
    m2.start(req());
    expect(await m2.wait('cap-u')).toMatchObject({ status: 'failed', drops: { available: true } });
    expect(events).toEqual(['arm cap-t', 'collect cap-t', 'arm cap-u', 'collect cap-u']);
  });

  it('tcpdump killed by the runner past duration + margin: the file it wrote is still decoded, with a warning', async () => {
    const inner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' });
    const runner: CommandRunner = async (r) => {
      await inner(r);
      return { ok: false, kind: 'timeout', message: 'timeout did not finish within 6000 ms', argv: r.argv, stderr: '', durationMs: 6000 };
    };
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-k' });
    m.start(req());
    const r = await m.wait('cap-k');
    expect(r?.status).toBe('done');
    expect(r?.records).toHaveLength(6);
    expect(r?.warnings).toEqual(['eth0: tcpdump had to be killed after 6000 ms; the file may end early']);
  });

  it('tcpdump missing: failed with TCPDUMP_MISSING', async () => {
    const runner: CommandRunner = async (r) => ({ ok: false, kind: 'missing-binary', message: 'timeout: command not found', argv: r.argv, stderr: '', durationMs: 1 });
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => 0, newId: () => 'cap-m' });
    m.start(req());
    expect(await m.wait('cap-m')).toMatchObject({ status: 'failed', error: { code: 'TCPDUMP_MISSING' } });
  });

  it('retention keeps the newest K captures and removes older files', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' });
    let id = 0;
    let t = 0;
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => (t += 1000), keep: 2, newId: () => `cap-${++id}` });
    for (let i = 0; i < 4; i++) {
      m.start(req());
      await m.wait(`cap-${id}`);
    }
    expect(readdirSync(dir).sort()).toEqual(['cap-3', 'cap-4']);
    expect(m.get('cap-1')).toBeNull();
    expect(m.get('cap-4')?.status).toBe('done');
  });

  it('retention by bytes: a small budget keeps only the newest capture', async () => {
    const runner = scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' });
    let id = 0;
    let t = 0;
    const m = new CaptureManager({ runner, logger, node: 'n1', dir, now: () => (t += 1000), keep: 10, maxBytes: 1500, newId: () => `cap-${++id}` });
    for (let i = 0; i < 3; i++) {
      m.start(req());
      await m.wait(`cap-${id}`);
    }
    expect(readdirSync(dir)).toEqual(['cap-3']);
  });
});
