import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installErrorHandler, requireBearer } from '../../../common/http.js';
import { CaptureManager } from '../../../agent/capture/manager.js';
import { capturesRoutes } from '../../../agent/http/captures.js';
import { ProbeLimiter } from '../../../agent/capture/cluster-targets.js';
import type { Identity } from '../../../contract/snapshot.js';
import { parsePcap } from '../../../agent/parsers/pcap.js';
import { scriptedTcpdump, type ScriptedRunner } from '../capture/scripted-tcpdump.js';

const logger = pino({ level: 'silent' });
const TOKEN = 'test-token-123';
const auth = { authorization: `Bearer ${TOKEN}` };
const identity: Identity = {
  nodeIPs: ['10.213.0.11'],
  uplinks: [{ name: 'eth0', mtu: 1500 }],
  tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.244.1.0', mac: '66:00:00:00:00:01', vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: '10.213.0.11' }],
  blocks: ['10.244.1.0/26'],
  workloads: [],
};

let dir: string;
let app: FastifyInstance;
let runner: ScriptedRunner;
let manager: CaptureManager;

const build = (r: ScriptedRunner, opts: { interfaces?: string[] | null; limiter?: ProbeLimiter } = {}) => {
  runner = r;
  let n = 0;
  manager = new CaptureManager({ runner: r, logger, node: 'n1', dir, now: () => 1_763_700_000_000, newId: () => `cap-${++n}` });
  app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  app.register(async (v1) => {
    v1.addHook('onRequest', requireBearer(() => TOKEN));
    await v1.register(
      capturesRoutes({
        manager,
        interfaces: () => (opts.interfaces === undefined ? ['lo', 'eth0', 'vxlan.calico'] : opts.interfaces),
        probe: { runner: r, node: 'n1', now: () => 0, source: () => ({ identity, addresses: ['10.213.0.11', '10.244.1.0'] }) },
        clusterTargets: () => (ip) => ip.startsWith('10.244.') || ip.startsWith('10.213.0.'),
        limiter: opts.limiter ?? new ProbeLimiter(100, () => 0),
      }),
    );
  });
  return app;
};

const good = { interfaces: ['eth0'], peers: ['10.213.0.12'], match: [{ kind: 'vxlan' }], durationSeconds: 3, maxPackets: 100 };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cdF-http-'));
});
afterEach(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

// issue #5
describe('POST /v1/captures refuses bad requests before anything starts', () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['unknown interface', { ...good, interfaces: ['eth9'] }, 400, 'UNKNOWN_INTERFACE'],
    ['duration 3600', { ...good, durationSeconds: 3600 }, 400, 'INVALID_REQUEST'],
    ['shell metacharacters in the interface', { ...good, interfaces: ['eth0;reboot'] }, 400, 'INVALID_REQUEST'],
    ['command substitution in the interface', { ...good, interfaces: ['$(id)'] }, 400, 'INVALID_REQUEST'],
    ['an option as interface', { ...good, interfaces: ['-wfoo'] }, 400, 'INVALID_REQUEST'],
    ['metacharacters in a peer', { ...good, peers: ['10.0.0.1 or host 1.1.1.1'] }, 400, 'INVALID_REQUEST'],
    ['a hostname as peer', { ...good, peers: ['evil.example.com'] }, 400, 'INVALID_REQUEST'],
    ['a raw BPF match', { ...good, match: [{ kind: 'bpf', expr: 'tcp' }] }, 400, 'INVALID_REQUEST'],
    ['tcp port out of range', { ...good, match: [{ kind: 'tcp', port: 70000 }] }, 400, 'INVALID_REQUEST'],
    ['too many packets', { ...good, maxPackets: 10001 }, 400, 'INVALID_REQUEST'],
    ['five interfaces', { ...good, interfaces: ['eth0', 'lo', 'any', 'vxlan.calico', 'eth0'] }, 400, 'INVALID_REQUEST'],
    ['unknown field', { ...good, filter: 'tcp' }, 400, 'INVALID_REQUEST'],
    ['duplicate interfaces', { ...good, interfaces: ['eth0', 'eth0'] }, 400, 'CAPTURE_INVALID'],
  ];
  for (const [name, body, status, code] of cases) {
    it(name, async () => {
      build(scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }));
      const res = await app.inject({ method: 'POST', url: '/v1/captures', headers: auth, payload: body as object });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ statusCode: status, code });
      expect(runner.calls).toHaveLength(0);
    });
  }

  it('requires the bearer token', async () => {
    build(scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }));
    const res = await app.inject({ method: 'POST', url: '/v1/captures', payload: good });
    expect(res.statusCode).toBe(401);
    expect(runner.calls).toHaveLength(0);
  });

  it('503 while there is no snapshot to check interfaces against', async () => {
    build(scriptedTcpdump({}), { interfaces: null });
    const res = await app.inject({ method: 'POST', url: '/v1/captures', headers: auth, payload: good });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('NO_SNAPSHOT');
  });
});

describe('captures lifecycle', () => {
  // #18: a device the node lost among others no longer refuses the whole capture
  it('a missing device among known ones is captured as DEVICE_MISSING while the others run', async () => {
    build(scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap' }));
    const start = await app.inject({ method: 'POST', url: '/v1/captures', headers: auth, payload: { ...good, interfaces: ['eth0', 'vxlan.gone'] } });
    expect(start.statusCode).toBe(202);
    await manager.wait('cap-1');
    const done = (await app.inject({ method: 'GET', url: '/v1/captures/cap-1', headers: auth })).json();
    expect(done.status).toBe('done');
    expect(done.devices).toEqual([
      { interface: 'eth0', status: 'captured' },
      { interface: 'vxlan.gone', status: 'failed', state: 'missing', error: { code: 'DEVICE_MISSING', message: 'vxlan.gone: no such device on this node' } },
    ]);
    expect(runner.calls).toHaveLength(1);
  });

  it('202 {id,status}, 429 busy while running, then records and the pcap download', async () => {
    build(scriptedTcpdump({ eth0: 'vxlan-underlay-eth.pcap', any: 'vxlan-any-sll2.pcap' }, { hold: true }));
    const start = await app.inject({ method: 'POST', url: '/v1/captures', headers: auth, payload: { ...good, interfaces: ['eth0', 'any'] } });
    expect(start.statusCode).toBe(202);
    expect(start.json()).toEqual({ id: 'cap-1', status: 'running' });

    const busy = await app.inject({ method: 'POST', url: '/v1/captures', headers: auth, payload: good });
    expect(busy.statusCode).toBe(429);
    expect(busy.json()).toMatchObject({ code: 'CAPTURE_BUSY' });

    const early = await app.inject({ method: 'GET', url: '/v1/captures/cap-1/pcap', headers: auth });
    expect(early.statusCode).toBe(409);
    let running = await app.inject({ method: 'GET', url: '/v1/captures/cap-1', headers: auth });
    for (let i = 0; i < 100 && !running.json().listening; i++) {
      await new Promise((r) => setTimeout(r, 10));
      running = await app.inject({ method: 'GET', url: '/v1/captures/cap-1', headers: auth });
    }
    expect(running.json()).toMatchObject({ status: 'running', listening: true });

    runner.release();
    await manager.wait('cap-1');
    const done = await app.inject({ method: 'GET', url: '/v1/captures/cap-1', headers: auth });
    expect(done.statusCode).toBe(200);
    const body = done.json();
    expect(body.status).toBe('done');
    expect(body.records).toHaveLength(12);
    expect(body.records[0]).toMatchObject({ encapsulation: 'vxlan', vni: 4096 });

    const pcap = await app.inject({ method: 'GET', url: '/v1/captures/cap-1/pcap?interface=eth0', headers: auth });
    expect(pcap.statusCode).toBe(200);
    expect(pcap.headers['content-type']).toBe('application/vnd.tcpdump.pcap');
    const decoded = parsePcap(pcap.rawPayload);
    expect(decoded.ok && decoded.value.packets).toBe(6);

    expect((await app.inject({ method: 'GET', url: '/v1/captures/cap-9', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/captures/..%2Fetc', headers: auth })).statusCode).toBe(400);
  });
});

describe('POST /v1/probes', () => {
  it('returns sent, received and rtts', async () => {
    build(
      scriptedTcpdump({}, {
        ping: { stdout: '64 bytes from 10.244.2.5: icmp_seq=1 ttl=63 time=0.5 ms\n\n--- 10.244.2.5 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\n' },
      }),
    );
    const res = await app.inject({ method: 'POST', url: '/v1/probes', headers: auth, payload: { target: '10.244.2.5', source: 'tunnel', count: 1, id: 9 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: 9, source: '10.244.1.0', target: '10.244.2.5', sent: 1, received: 1, rtts: [{ seq: 1, ms: 0.5 }] });
    expect(runner.calls[0]?.argv).toEqual(['ping', '-4', '-n', '-c', '1', '-i', '0.200', '-W', '1', '-e', '9', '-I', '10.244.1.0', '10.244.2.5']);
  });

  it('400 for a source that is not this node’s, an interval below 200 ms or a non-IP target; nothing runs', async () => {
    build(scriptedTcpdump({}));
    for (const payload of [
      { target: '10.244.2.5', source: '10.1.1.1' },
      { target: '10.244.2.5', source: 'tunnel', intervalMs: 10 },
      { target: '10.244.2.5;id', source: 'tunnel' },
      { target: '10.244.2.5', source: 'node', count: 50 },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/v1/probes', headers: auth, payload });
      expect(res.statusCode).toBe(400);
    }
    expect(runner.calls).toHaveLength(0);
  });

  // #16: every node could be made to send unbounded ICMP to any address
  it('403 for a target outside the cluster, 429 past the rate limit; nothing runs for either', async () => {
    let t = 0;
    const ping = { stdout: '1 packets transmitted, 1 received, 0% packet loss\n' };
    build(scriptedTcpdump({}, { ping }), { limiter: new ProbeLimiter(2, () => t) });
    const outside = await app.inject({ method: 'POST', url: '/v1/probes', headers: auth, payload: { target: '8.8.8.8', source: 'node', count: 1 } });
    expect(outside.statusCode).toBe(403);
    expect(outside.json()).toMatchObject({ code: 'PROBE_TARGET_OUTSIDE_CLUSTER' });
    const probe = () => app.inject({ method: 'POST', url: '/v1/probes', headers: auth, payload: { target: '10.244.2.5', source: 'tunnel', count: 1 } });
    expect((await probe()).statusCode).toBe(200);
    expect((await probe()).statusCode).toBe(200);
    const third = await probe();
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ code: 'PROBE_LIMITED' });
    expect(runner.calls).toHaveLength(2);
    t = 61_000;
    expect((await probe()).statusCode).toBe(200);
  });
});
