import { describe, expect, it } from 'vitest';
import { buildPingArgv, parsePingOutput, resolveProbeSource, sendProbe } from '../../../agent/capture/probe.js';
import type { Identity } from '../../../contract/snapshot.js';
import { fakeRunner } from '../../helpers/fake-runner.js';

// iputils-ping 20221126 output, recorded in a cdF namespace
const PING_OK = `PING 10.77.1.1 (10.77.1.1) from 10.77.0.1 : 56(84) bytes of data.
64 bytes from 10.77.1.1: icmp_seq=1 ttl=64 time=0.233 ms
64 bytes from 10.77.1.1: icmp_seq=3 ttl=64 time=0.038 ms

--- 10.77.1.1 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 402ms
rtt min/avg/max/mdev = 0.038/0.135/0.233/0.097 ms
`;

const identity: Identity = {
  nodeIPs: ['10.213.0.11', 'fd77::1'],
  uplinks: [{ name: 'eth0', mtu: 1500 }],
  tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.244.1.0', mac: '66:00:00:00:00:01', vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: '10.213.0.11' }],
  blocks: ['10.244.1.0/26'],
  workloads: [],
};
const source = { identity, addresses: ['10.213.0.11', '10.244.1.0', 'fd77::1', '127.0.0.1'] };

describe('probe sender', () => {
  it('resolves tunnel / node / explicit sources of the target family', () => {
    expect(resolveProbeSource({ source: 'tunnel', target: '10.244.2.5' }, source)).toEqual({ ok: true, ip: '10.244.1.0' });
    expect(resolveProbeSource({ source: 'node', target: '10.213.0.12' }, source)).toEqual({ ok: true, ip: '10.213.0.11' });
    expect(resolveProbeSource({ source: 'node', target: 'fd77::2' }, source)).toEqual({ ok: true, ip: 'fd77::1' });
    expect(resolveProbeSource({ source: 'tunnel', target: 'fd00::5' }, source)).toMatchObject({ ok: false });
    expect(resolveProbeSource({ source: '10.9.9.9', target: '10.244.2.5' }, source)).toMatchObject({ ok: false, message: '10.9.9.9 is not an address of this node' });
  });

  it('builds ping argv with the probe id as ICMP identifier', () => {
    expect(buildPingArgv({ source: '10.244.1.0', target: '10.244.2.5', count: 3, intervalMs: 200, id: 4242 })).toEqual([
      'ping', '-4', '-n', '-c', '3', '-i', '0.200', '-W', '1', '-e', '4242', '-I', '10.244.1.0', '10.244.2.5',
    ]);
    expect(buildPingArgv({ source: '10.244.1.0', target: '10.244.2.5; id', count: 3, intervalMs: 200, id: 1 })).toBeNull();
    expect(buildPingArgv({ source: '10.244.1.0', target: 'fd00::1', count: 3, intervalMs: 200, id: 1 })).toBeNull();
    expect(buildPingArgv({ source: '10.244.1.0', target: '10.244.2.5', count: 21, intervalMs: 200, id: 1 })).toBeNull();
  });

  // #18: MTU faults only show with large probes that may not be fragmented
  it('a probe size becomes a don\'t-fragment payload size; out-of-range sizes are refused', () => {
    expect(buildPingArgv({ source: '10.244.1.0', target: '10.244.2.5', count: 3, intervalMs: 200, id: 9, size: 1422 })).toEqual([
      'ping', '-4', '-n', '-c', '3', '-i', '0.200', '-W', '1', '-e', '9', '-M', 'do', '-s', '1422', '-I', '10.244.1.0', '10.244.2.5',
    ]);
    expect(buildPingArgv({ source: '10.244.1.0', target: '10.244.2.5', count: 3, intervalMs: 200, id: 9, size: 8953 })).toBeNull();
    expect(buildPingArgv({ source: '10.244.1.0', target: '10.244.2.5', count: 3, intervalMs: 200, id: 9, size: 15 })).toBeNull();
    expect(parsePingOutput('ping: local error: message too long, mtu=1400\n\n--- 10.244.2.5 ping statistics ---\n3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 402ms\n')).toEqual({ sent: 3, received: 0, rtts: [] });
  });

  it('parses replies per sequence and the summary', () => {
    expect(parsePingOutput(PING_OK)).toEqual({ sent: 3, received: 2, rtts: [{ seq: 1, ms: 0.233 }, { seq: 3, ms: 0.038 }] });
  });

  it('sends through the runner and reports sent/received/rtts', async () => {
    const argv = 'ping -4 -n -c 3 -i 0.200 -W 1 -e 77 -I 10.244.1.0 10.244.2.5';
    const runner = fakeRunner({ [argv]: { stdout: PING_OK, exitCode: 1 } });
    const out = await sendProbe({ target: '10.244.2.5', source: 'tunnel', count: 3, intervalMs: 200, id: 77 }, { runner, node: 'n1', now: () => 0, source: () => source });
    expect(out).toEqual({
      ok: true,
      result: { id: 77, node: 'n1', source: '10.244.1.0', target: '10.244.2.5', sent: 3, received: 2, rtts: [{ seq: 1, ms: 0.233 }, { seq: 3, ms: 0.038 }], startedAt: '1970-01-01T00:00:00.000Z' },
    });
    expect(runner.calls[0]?.timeoutMs).toBe(3600);
  });

  it('without a snapshot nothing is run', async () => {
    const runner = fakeRunner({});
    const out = await sendProbe({ target: '10.244.2.5', source: 'tunnel', count: 3, intervalMs: 200 }, { runner, node: 'n1', now: () => 0, source: () => null });
    expect(out).toMatchObject({ ok: false, code: 'no-snapshot' });
    expect(runner.calls).toHaveLength(0);
  });
});
