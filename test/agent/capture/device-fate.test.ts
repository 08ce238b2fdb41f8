import { describe, expect, it } from 'vitest';
import { deviceFateOf, readLiveLinks } from '../../../agent/capture/device-fate.js';
import type { CommandRunner } from '../../../agent/exec/runner.js';

const T1 = '2026-12-06T20:00:01.000Z';
const T0 = '2026-12-06T20:00:00.000Z';
const snap = (at: string, links: [number, string][]) => ({ at, links: links.map(([ifindex, name]) => ({ ifindex, name })) });
const live = (links: [number, string][]) => links.map(([ifindex, name]) => ({ ifindex, name }));

// #18
describe('deviceFateOf: what became of a device since the snapshot', () => {
  it('its index under another name now: renamed, with the time of the last snapshot that showed the name', () => {
    expect(deviceFateOf('vxlan.calico', [snap(T1, [[1, 'lo'], [2, 'eth0'], [7, 'vxlan.calico']])], live([[1, 'lo'], [2, 'eth0'], [7, 'vxlan.moved']]))).toEqual({
      state: 'renamed', renamedTo: 'vxlan.moved', snapshotAt: T1, message: `renamed to vxlan.moved since the snapshot at ${T1} (ifindex 7)`,
    });
  });

  it('the latest snapshot already without it: the previous one gives the index; no such index now: gone', () => {
    const snaps = [snap(T1, [[2, 'eth0'], [7, 'vxlan.moved']]), snap(T0, [[2, 'eth0'], [7, 'vxlan.calico']])];
    expect(deviceFateOf('vxlan.calico', snaps, live([[2, 'eth0'], [7, 'vxlan.moved']]))).toMatchObject({ state: 'renamed', renamedTo: 'vxlan.moved', snapshotAt: T0 });
    expect(deviceFateOf('vxlan.calico', snaps, live([[2, 'eth0']]))).toEqual({ state: 'missing', snapshotAt: T0, message: `gone since the snapshot at ${T0} (ifindex 7 no longer exists)` });
  });

  it('still there under its name, or never in a snapshot: no fate (the failure is something else)', () => {
    expect(deviceFateOf('vxlan.calico', [snap(T1, [[7, 'vxlan.calico']])], live([[7, 'vxlan.calico']]))).toBeNull();
    expect(deviceFateOf('vxlan.calico', [snap(T1, [[2, 'eth0']])], live([[2, 'eth0']]))).toBeNull();
  });
});

describe('readLiveLinks', () => {
  const answering = (stdout: string, exitCode = 0): CommandRunner & { argv: string[][] } => {
    const argv: string[][] = [];
    const r = (async (req) => (argv.push([...req.argv]), { ok: true, stdout, stderr: '', exitCode, durationMs: 1 })) as CommandRunner & { argv: string[][] };
    r.argv = argv;
    return r;
  };
  it('reads `ip -j link show` (structured argv) into index and name; bad output is null, never a throw', async () => {
    const r = answering(JSON.stringify([{ ifindex: 1, ifname: 'lo', flags: ['LOOPBACK'] }, { ifindex: 7, ifname: 'vxlan.moved', link_type: 'ether' }]));
    expect(await readLiveLinks(r)).toEqual([{ ifindex: 1, name: 'lo' }, { ifindex: 7, name: 'vxlan.moved' }]);
    expect(r.argv).toEqual([['ip', '-j', 'link', 'show']]);
    expect(await readLiveLinks(answering('not json'))).toBeNull();
    expect(await readLiveLinks(answering('[{"ifname": 3}]'))).toBeNull();
    expect(await readLiveLinks(answering('[]', 1))).toBeNull();
    const failing: CommandRunner = async (req) => ({ ok: false, kind: 'missing-binary', message: 'ip: command not found', argv: req.argv, stderr: '', durationMs: 1 });
    expect(await readLiveLinks(failing)).toBeNull();
  });
});
