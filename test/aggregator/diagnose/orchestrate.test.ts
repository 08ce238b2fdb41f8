import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { installErrorHandler, requireBearer } from '../../../common/http.js';
import { diagnoseExtension } from '../../../aggregator/http/diagnose.js';
import { resolveEndpoint } from '../../../aggregator/diagnose/resolve.js';
import { DiagnosisHistory, listenBudgetMs, type AgentView } from '../../../aggregator/diagnose/orchestrate.js';
import { buildPolicyIndex, lengthLimitedId, type PolicyIndex } from '../../../aggregator/diagnose/policy-names.js';
import type { CaptureRecord, CaptureRequest } from '../../../contract/capture.js';
import type { ClusterMap, ClusterNode } from '../../../contract/cluster.js';
import { Diagnosis } from '../../../contract/diagnosis.js';
import type { Identity, Mode } from '../../../contract/snapshot.js';

const logger = pino({ level: 'silent' });
const TOKEN = 'shared-token-xyz';
const mode: Mode = { encapsulation: 'vxlan', wireguard: false, ebpf: false, bgp: false, evidence: [] };

const identity = (i: number): Identity => ({
  nodeIPs: [`10.213.0.1${i}`],
  uplinks: [{ name: 'eth0', mtu: 1500 }],
  tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: `10.244.${i}.0`, mac: `66:00:00:00:00:0${i}`, vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: `10.213.0.1${i}` }],
  blocks: [`10.244.${i}.0/26`],
  workloads: [{ ip: `10.244.${i}.5`, dev: `cali0000000000${i}` }],
});
const clusterNode = (name: string, i: number): ClusterNode => ({
  node: name,
  stale: false,
  receivedAt: '2026-11-21T15:00:00Z',
  mode,
  nodeIPs: identity(i).nodeIPs,
  tunnels: identity(i).tunnels,
  blocks: identity(i).blocks,
  workloads: identity(i).workloads,
  allowedHosts: ['10.213.0.11', '10.213.0.12'],
  mtu: 1500,
});
const MAP: ClusterMap = { nodes: [clusterNode('node-a', 1), clusterNode('node-b', 2)] };

/** What the probe put on the wire, shared by the fake agents of one test (set by the source's /v1/probes). */
let wire = { id: 0, target: '', source: '10.244.1.0' };

/** A fake agent answering the capture and probe API like the real one, from a script of what passes. */
interface FakeDevices {
  /** devices whose tcpdump failed, with their snapshot state */
  failed?: Record<string, 'down' | 'missing'>;
  /** devices whose tcpdump never confirms listening */
  starting?: string[];
  /** the agent cannot enter pods' namespaces */
  noPodNetns?: boolean;
  uplinkEncap?: boolean;
  /** what the uplink's packets are encapsulated with (default vxlan) */
  encapKind?: 'vxlan' | 'ipip';
  refuseProbe?: boolean;
  /** a DROP rule whose counter counts the probes once they were sent (#18) */
  drop?: { chain: string; caliId: string; comments: string[] };
}
const fakeAgent = (name: string, passes: (req: 'request' | 'reply', iface: string) => boolean, dev: FakeDevices = {}) => {
  const drop = dev.drop;
  const state = { calls: [] as Array<{ method: string; path: string; auth: string | null; body: unknown }>, capture: null as CaptureRequest | null };
  const records = (): CaptureRecord[] => {
    const out: CaptureRecord[] = [];
    for (const iface of (state.capture?.interfaces ?? []).filter((i) => !dev.failed?.[i]))
      for (const kind of ['request', 'reply'] as const)
        for (const seq of [1, 2, 3]) {
          if (!passes(kind, iface)) continue;
          const [s, d] = kind === 'request' ? [wire.source, wire.target] : [wire.target, wire.source];
          out.push({
            time: `2026-11-21T15:00:0${seq}.000000Z`,
            interface: iface,
            outerSrc: s,
            outerDst: d,
            encapsulation: iface === 'eth0' && dev.uplinkEncap !== false ? (dev.encapKind ?? 'vxlan') : 'none',
            innerSrc: s,
            innerDst: d,
            protocol: 'icmp',
            icmp: { type: kind === 'request' ? 8 : 0, code: 0, id: wire.id, seq },
          });
        }
    return out;
  };
  const handle = async (method: string, path: string, auth: string | null, body: unknown): Promise<[number, unknown]> => {
    state.calls.push({ method, path, auth, body });
    if (method === 'POST' && path === '/v1/captures') {
      state.capture = body as CaptureRequest;
      return [202, { id: `cap-${name}`, status: 'running' }];
    }
    if (method === 'GET' && path === `/v1/captures/cap-${name}`) {
      const probed = wire.id !== 0;
      const devices = (state.capture?.interfaces ?? []).map((i) => {
        const failed = dev.failed?.[i];
        if (failed) return { interface: i, status: 'failed', state: failed, error: { code: failed === 'missing' ? 'DEVICE_MISSING' : 'CAPTURE_FAILED', message: `${i}: cannot capture` } };
        return { interface: i, status: probed ? 'captured' : dev.starting?.includes(i) ? 'starting' : 'listening' };
      });
      const listening = devices.every((d) => d.status !== 'starting');
      return [200, { id: `cap-${name}`, node: name, status: probed ? 'done' : 'running', listening, devices, request: state.capture, startedAt: 'x', warnings: [], ...(probed ? { records: records() } : {}) }];
    }
    if (method === 'POST' && path === '/v1/probes') {
      const b = body as { id: number; target: string; pod?: string };
      if (dev.refuseProbe) return [403, { code: 'PROBE_TARGET_OUTSIDE_CLUSTER', message: `${b.target} is not a cluster address this node knows` }];
      if (b.pod && dev.noPodNetns) return [400, { code: 'PROBE_SOURCE_INVALID', message: `cannot enter the network namespace of pod ${b.pod}` }];
      wire = { id: b.id, target: b.target, source: b.pod ?? '10.244.1.0' };
      const answered = passes('reply', 'socket') ? 3 : 0;
      return [200, { id: b.id, node: name, source: wire.source, target: b.target, sent: 3, received: answered, rtts: [], startedAt: 'x' }];
    }
    if (method === 'GET' && path === '/v1/counters' && drop) {
      // the drop rule counts the three probes once they were sent; an unrelated rule stays idle
      const rule = (chain: string, caliId: string, comments: string[], packets: number) => ({
        family: 'ipv4', table: 'filter', chain, index: 1, target: 'DROP', packets, bytes: packets * 84, caliId, comments, matchSets: [], rule: `-A ${chain} -j DROP`,
      });
      return [200, { node: name, takenAt: 'x', backend: 'nft', status: 'ok', rules: [rule(drop.chain, drop.caliId, drop.comments, 10 + (wire.id !== 0 ? 3 : 0)), rule('cali-INPUT', 'idle', [], 7)] }];
    }
    return [404, { code: 'NOT_FOUND', message: path }];
  };
  return { state, handle };
};

const fetchFor = (agents: Record<string, ReturnType<typeof fakeAgent>>): typeof fetch =>
  (async (input: URL | string | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const agent = agents[url.host];
    if (!agent) throw new Error(`connect ECONNREFUSED ${url.host}`);
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const [status, body] = await agent.handle(init?.method ?? 'GET', url.pathname, headers.authorization ?? null, init?.body ? JSON.parse(String(init.body)) : undefined);
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;

let app: FastifyInstance | undefined;
afterEach(async () => {
  wire = { id: 0, target: '', source: '10.244.1.0' };
  await app?.close();
  app = undefined;
});

const build = (fetchImpl: typeof fetch, agentViews: Record<string, AgentView | null>, verdicts: string[] = [], extra: { policies?: () => Promise<PolicyIndex | undefined>; agentCallTimeoutMs?: number } = {}) => {
  app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  let t = 1_763_740_800_000;
  const ext = diagnoseExtension({
    clusterMap: () => MAP,
    findings: () => [],
    agent: (n) => agentViews[n] ?? null,
    token: () => TOKEN,
    now: () => (t += 100),
    logger,
    fetch: fetchImpl,
    countVerdict: (v) => verdicts.push(v),
    ...extra,
  });
  app.register(async (v1) => {
    v1.addHook('onRequest', requireBearer(() => TOKEN));
    await ext(v1);
  });
  return app;
};
const auth = { authorization: `Bearer ${TOKEN}` };
const views = (): Record<string, AgentView> => ({
  'node-a': { agentUrl: 'http://10.213.0.11:9477', identity: identity(1), mode },
  'node-b': { agentUrl: 'http://10.213.0.12:9477', identity: identity(2), mode },
});

describe('resolveEndpoint', () => {
  it('resolves node names, node IPs (to the tunnel IP), tunnel IPs, known pods and block addresses', () => {
    expect(resolveEndpoint('node-b', MAP)).toMatchObject({ ok: true, endpoint: { node: 'node-b', ip: '10.244.2.0', kind: 'node' } });
    expect(resolveEndpoint('10.213.0.12', MAP)).toMatchObject({ ok: true, endpoint: { node: 'node-b', ip: '10.244.2.0', kind: 'node' } });
    expect(resolveEndpoint('10.244.2.0', MAP)).toMatchObject({ ok: true, endpoint: { node: 'node-b', kind: 'node' } });
    expect(resolveEndpoint('10.244.2.5', MAP)).toMatchObject({ ok: true, endpoint: { node: 'node-b', kind: 'pod' } });
    expect(resolveEndpoint('10.244.2.60', MAP)).toMatchObject({ ok: true, endpoint: { node: 'node-b', kind: 'pod' } });
    expect(resolveEndpoint('10.244.2.64', MAP)).toMatchObject({ ok: false, status: 404 });
    expect(resolveEndpoint('node-z', MAP)).toMatchObject({ ok: false, status: 404 });
    expect(resolveEndpoint('$(reboot)', MAP)).toMatchObject({ ok: false, status: 400 });
  });
});

describe('POST /v1/diagnose (orchestration with fake agents)', () => {
  it('healthy: captures on both agents with the shared token, probes from the source tunnel IP, keeps the result', async () => {
    const a = fakeAgent('node-a', () => true);
    const b = fakeAgent('node-b', () => true);
    const verdicts: string[] = [];
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views(), verdicts);
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } });
    expect(res.statusCode).toBe(200);
    const d = Diagnosis.parse(res.json());
    expect(d.verdict).toBe('healthy');
    expect(d.to).toEqual({ input: '10.244.2.5', node: 'node-b', ip: '10.244.2.5', kind: 'pod' });
    expect(verdicts).toEqual(['healthy']);
    // captures: uplink + tunnel on the source, + the pod's cali device on the destination
    expect(a.state.capture).toEqual({
      interfaces: ['eth0', 'vxlan.calico'],
      peers: ['10.213.0.12', '10.244.2.5', '10.244.1.0'],
      match: [{ kind: 'icmp' }, { kind: 'vxlan', port: 4789 }],
      durationSeconds: 4,
      maxPackets: 2000,
    });
    expect(b.state.capture?.interfaces).toEqual(['eth0', 'vxlan.calico', 'cali00000000002']);
    expect(a.state.calls.every((c) => c.auth === `Bearer ${TOKEN}`)).toBe(true);
    const probe = a.state.calls.find((c) => c.path === '/v1/probes');
    expect(probe?.body).toMatchObject({ target: '10.244.2.5', source: 'tunnel', count: 3, intervalMs: 200 });
    expect(b.state.calls.some((c) => c.path === '/v1/probes')).toBe(false);
    // the probe is sent only after both captures were started
    const order = [...a.state.calls, ...b.state.calls].map((c) => c.path);
    expect(order.indexOf('/v1/probes')).toBeGreaterThan(order.indexOf('/v1/captures'));

    const kept = await app!.inject({ method: 'GET', url: `/v1/diagnoses/${d.id}`, headers: auth });
    expect(kept.json()).toMatchObject({ id: d.id, verdict: 'healthy' });
    const list = await app!.inject({ method: 'GET', url: '/v1/diagnoses', headers: auth });
    expect(list.json().diagnoses).toHaveLength(1);
  });

  it('a gap found by the fake captures is reported with node, hop and direction', async () => {
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket');
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0');
    const verdicts: string[] = [];
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views(), verdicts);
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: '10.213.0.11', to: '10.244.2.5' } });
    expect(res.json()).toMatchObject({ verdict: 'one-way-gap', gap: { node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' } });
    expect(verdicts).toEqual(['one-way-gap']);
  });

  // #18
  it('names the rule whose counter rose with the lost probes, read around the probes on both nodes', async () => {
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket', { drop: { chain: 'cali-OUTPUT', caliId: 'quiet', comments: [] } });
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0', { drop: { chain: 'cali-pi-_hvIhg5e42MGXRa9paIF', caliId: 'kZzWM4wu2A_MNzjD', comments: ['Policy default/deny-all ingress'] } });
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views());
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } });
    const d = Diagnosis.parse(res.json());
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    // node-a's rule also rose by 3 (the fake counts for both): both named, only node-b's at the gap hop
    expect(d.rules?.map((r) => `${r.node}:${r.chain}:${r.packets}`).sort()).toEqual(['node-a:cali-OUTPUT:3', 'node-b:cali-pi-_hvIhg5e42MGXRa9paIF:3']);
    const gapHop = d.hops.find((h) => h.hop === 'destination-tunnel-in');
    expect(gapHop?.rules).toEqual([
      expect.objectContaining({ node: 'node-b', table: 'filter', chain: 'cali-pi-_hvIhg5e42MGXRa9paIF', caliId: 'kZzWM4wu2A_MNzjD', packets: 3, policy: { name: 'default/deny-all', source: 'comment', direction: 'ingress' } }),
    ]);
    expect(d.summary).toContain('cali:kZzWM4wu2A_MNzjD');
    expect(d.summary).toContain('policy default/deny-all');
    // read before the probe and after the capture
    const order = b.state.calls.map((c) => c.path);
    expect(order.filter((p) => p === '/v1/counters')).toHaveLength(2);
    expect(a.state.calls.findIndex((c) => c.path === '/v1/counters')).toBeLessThan(a.state.calls.findIndex((c) => c.path === '/v1/probes'));
  });

  // #19: agents in user-mode-linux answer a capture poll in seconds
  it('slow agents: with agentCallTimeoutMs a capture poll slower than its own 2 s bound still counts', async () => {
    const a = fakeAgent('node-a', () => true);
    const b = fakeAgent('node-b', () => true);
    const fast = fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b });
    const slow = (async (input: URL | string | Request, init?: RequestInit) => {
      if ((init?.method ?? 'GET') === 'GET' && new URL(String(input)).pathname.startsWith('/v1/captures/')) {
        // like a real fetch, the call's signal aborts the wait
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 2300);
          init?.signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
          });
        });
      }
      return fast(input, init);
    }) as typeof fetch;
    build(slow, views(), [], { agentCallTimeoutMs: 5000 });
    const d = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } })).json());
    expect(d.verdict, d.warnings.join('\n')).toBe('healthy');
    expect(d.hops.filter((h) => h.status === 'not-captured')).toEqual([]);
  }, 30_000);

  // #18: the policy behind a hashed chain, from the datastore's policies
  it('names the datastore policy whose hashed chain dropped the probes', async () => {
    const chain = lengthLimitedId('cali-pi-', 'default/shop/default.deny-from-frontend', 28);
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket');
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0', { drop: { chain, caliId: 'kZzWM4wu2A_MNzjD', comments: [] } });
    const index = buildPolicyIndex([
      { kind: 'NetworkPolicy', namespace: 'shop', name: 'default.deny-from-frontend', tier: 'default' },
      { kind: 'GlobalNetworkPolicy', name: 'default.allow-dns', tier: 'default' },
    ]);
    let reads = 0;
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views(), [], { policies: async () => (reads++, index) });
    const d = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } })).json());
    expect(reads).toBe(1);
    expect(d.rules?.find((r) => r.chain === chain)?.policy).toEqual({ name: 'default.deny-from-frontend', source: 'datastore', direction: 'ingress', kind: 'NetworkPolicy', namespace: 'shop', tier: 'default' });
    expect(d.summary).toContain('policy shop/default.deny-from-frontend, NetworkPolicy, tier default, ingress; name from the datastore');
  });

  it('a datastore without the policy leaves a hashed chain unnamed; an unreadable one says so', async () => {
    const chain = lengthLimitedId('cali-pi-', 'default/shop/default.not-listed', 28);
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket');
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0', { drop: { chain, caliId: 'kZzWM4wu2A_MNzjD', comments: [] } });
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views(), [], { policies: async () => buildPolicyIndex([{ kind: 'NetworkPolicy', namespace: 'shop', name: 'other' }]) });
    const d = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } })).json());
    expect(d.rules?.find((r) => r.chain === chain)?.policy).toEqual({ name: null, source: 'unknown', direction: 'ingress' });
    await app!.close();
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views(), [], { policies: async () => undefined });
    wire = { id: 0, target: '', source: '10.244.1.0' };
    const d2 = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } })).json());
    expect(d2.warnings.join('\n')).toMatch(/datastore policies were not readable/);
  });

  // #19: IPIP Always (tunl0, outer packets IP protocol 4 on the uplink)
  describe('IPIP nodes', () => {
    const ipipMode: Mode = { encapsulation: 'ipip', wireguard: false, ebpf: false, bgp: true, evidence: [] };
    const ipipIdentity = (i: number): Identity => ({
      ...identity(i),
      tunnels: [{ device: 'tunl0', kind: 'ipip', family: 'inet', ip: `10.244.${i}.0`, mac: null, vni: null, port: null, mtu: 1480, operstate: 'UNKNOWN', local: null }],
    });
    const ipipViews = (): Record<string, AgentView> => ({
      'node-a': { agentUrl: 'http://10.213.0.11:9477', identity: ipipIdentity(1), mode: ipipMode },
      'node-b': { agentUrl: 'http://10.213.0.12:9477', identity: ipipIdentity(2), mode: ipipMode },
    });

    it('healthy: captures on the uplink and tunl0 matching IP protocol 4, every hop of the IPIP table seen', async () => {
      const a = fakeAgent('node-a', () => true, { encapKind: 'ipip' });
      const b = fakeAgent('node-b', () => true, { encapKind: 'ipip' });
      build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), ipipViews());
      const d = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } })).json());
      expect(a.state.capture).toMatchObject({ interfaces: ['eth0', 'tunl0'], match: [{ kind: 'icmp' }, { kind: 'ipip' }] });
      expect(b.state.capture?.interfaces).toEqual(['eth0', 'tunl0', 'cali00000000002']);
      expect(d.verdict, d.summary).toBe('healthy');
      expect(d.hops.filter((h) => h.hop.includes('tunnel')).map((h) => `${h.node}:${h.hop}:${h.device}`)).toEqual([
        'node-a:source-tunnel-out:tunl0', 'node-b:destination-tunnel-in:tunl0', 'node-b:destination-tunnel-out:tunl0', 'node-a:source-tunnel-in:tunl0',
      ]);
    });

    it("the server's guard drops the client's IPIP: seen on node-b's uplink, not on its tunl0: gap at destination-tunnel-in", async () => {
      const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket', { encapKind: 'ipip' });
      const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0', { encapKind: 'ipip' });
      build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), ipipViews());
      const d = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } })).json());
      expect(d.verdict, d.summary).toBe('one-way-gap');
      expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    });
  });

  it('agents without /v1/counters: the diagnosis says so in a warning and names no rule', async () => {
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket');
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0');
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views());
    const d = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } })).json());
    expect(d.rules).toBeUndefined();
    expect(d.warnings.join('\n')).toMatch(/node-b: rule counters not read: GET \/v1\/counters → 404/);
  });

  it('an unreachable destination agent makes its hops not-captured, never a made-up gap', async () => {
    const a = fakeAgent('node-a', () => true);
    build(fetchFor({ '10.213.0.11:9477': a }), views());
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: 'node-b' } });
    const d = res.json() as Diagnosis;
    expect(d.verdict).toBe('healthy');
    expect(d.hops.filter((h) => h.node === 'node-b').every((h) => h.status === 'not-captured')).toBe(true);
    expect(d.warnings.join()).toMatch(/node-b: capture not started/);
  });

  // #18: one device that cannot be captured no longer loses the node's whole capture
  it('a destination tunnel device that is down is the gap hop\'s evidence; the node\'s other hops are still captured', async () => {
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket');
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0', { failed: { 'vxlan.calico': 'down' } });
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views());
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } });
    const d = Diagnosis.parse(res.json());
    expect(d.verdict).toBe('one-way-gap');
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.hops.find((h) => h.hop === 'destination-uplink-in')).toMatchObject({ status: 'seen', seqs: [1, 2, 3] });
    expect(d.hops.find((h) => h.hop === 'destination-tunnel-in')).toMatchObject({ status: 'missing', deviceState: 'down', device: 'vxlan.calico' });
    expect(d.causes[0]).toMatchObject({ rule: 'tunnel-down', node: 'node-b', fromCapture: true });
  });

  it('a tunnel device the snapshot lacks is still asked for by Calico\'s name and reported missing', async () => {
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket');
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface === 'eth0', { failed: { 'vxlan.calico': 'missing' } });
    const v = views();
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), { ...v, 'node-b': { ...v['node-b']!, identity: { ...identity(2), tunnels: [] } } });
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } });
    const d = Diagnosis.parse(res.json());
    expect(b.state.capture?.interfaces).toEqual(['eth0', 'vxlan.calico', 'cali00000000002']);
    expect(d.gap).toEqual({ node: 'node-b', hop: 'destination-tunnel-in', direction: 'forward' });
    expect(d.causes[0]).toMatchObject({ rule: 'tunnel-missing', node: 'node-b' });
  });

  it('probes wait for every device to listen; one still starting when the budget is spent is not-ready, never the gap', async () => {
    // the pod's device never confirms listening and sees nothing: without #18 this read as a gap there
    const a = fakeAgent('node-a', (kind, iface) => kind === 'request' && iface !== 'socket');
    const b = fakeAgent('node-b', (kind, iface) => kind === 'request' && iface !== 'cali00000000002', { starting: ['cali00000000002'] });
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views());
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } });
    const d = Diagnosis.parse(res.json());
    expect(d.hops.find((h) => h.hop === 'destination-workload-in')).toMatchObject({ status: 'not-ready' });
    expect(d.gap?.hop).not.toBe('destination-workload-in');
    expect(d.warnings.join()).toMatch(/node-b: capture on cali00000000002 did not confirm it was listening/);
    // the probe was sent only after the listening budget ran out on node-b
    const polls = b.state.calls.filter((c) => c.method === 'GET');
    expect(polls.length).toBeGreaterThan(3);
  });

  // #18: probes from a pod leave from the pod's own namespace; its workload hops join the table
  it('from a pod: the probe asks for the pod\'s namespace, the pod\'s device is captured and both source workload hops are walked', async () => {
    const a = fakeAgent('node-a', () => true);
    const b = fakeAgent('node-b', () => true);
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views());
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: '10.244.1.5', to: '10.244.2.5', size: 1400 } });
    const d = Diagnosis.parse(res.json());
    expect(a.state.calls.find((c) => c.path === '/v1/probes')?.body).toMatchObject({ pod: '10.244.1.5', size: 1400 });
    expect(a.state.capture?.interfaces).toEqual(['eth0', 'vxlan.calico', 'cali00000000001']);
    expect(a.state.capture?.peers).toContain('10.244.1.5');
    expect(d.verdict).toBe('healthy');
    expect(d.hops.map((h) => h.hop)).toEqual([
      'source-workload-out', 'source-tunnel-out', 'source-uplink-out', 'destination-uplink-in', 'destination-tunnel-in', 'destination-workload-in',
      'destination-workload-out', 'destination-tunnel-out', 'destination-uplink-out', 'source-uplink-in', 'source-tunnel-in', 'source-workload-in', 'source-received',
    ]);
    expect(d.probe).toMatchObject({ source: '10.244.1.5', size: 1400 });
    expect(d.warnings.join()).not.toMatch(/tunnel IP/);
  });

  it('from a pod whose namespace the agent cannot enter: probes fall back to the node\'s tunnel IP, said in a warning, without the source pod hops', async () => {
    const a = fakeAgent('node-a', () => true, { noPodNetns: true });
    const b = fakeAgent('node-b', () => true);
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), views());
    const d = Diagnosis.parse((await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: '10.244.1.5', to: '10.244.2.5' } })).json());
    expect(a.state.calls.filter((c) => c.path === '/v1/probes').map((c) => (c.body as { pod?: string }).pod)).toEqual(['10.244.1.5', undefined]);
    expect(d.verdict).toBe('healthy');
    expect(d.probe?.source).toBe('10.244.1.0');
    expect(d.hops.some((h) => h.hop.startsWith('source-workload'))).toBe(false);
    expect(d.warnings.join()).toMatch(/probes are sent from node-a's tunnel IP, not from the pod 10.244.1.5: .*cannot enter the network namespace/);
  });

  it('the listening budget tolerates slow nodes but stays inside the capture window', () => {
    expect(listenBudgetMs(4, 3)).toBe(2400);
    expect(listenBudgetMs(2, 3)).toBe(1500);
    expect(listenBudgetMs(10, 3)).toBe(8400);
  });

  it('refuses unknown (404), invalid (400) and same-node (400) ends, unknown agent URL (409), without calling agents', async () => {
    const a = fakeAgent('node-a', () => true);
    const v = views();
    build(fetchFor({ '10.213.0.11:9477': a }), { ...v, 'node-a': { ...v['node-a']!, agentUrl: undefined } });
    const post = (payload: object) => app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload });
    expect((await post({ from: 'node-a', to: 'node-q' })).json()).toMatchObject({ statusCode: 404, code: 'UNKNOWN_ENDPOINT' });
    expect((await post({ from: 'node-a', to: '8.8.8.8' })).statusCode).toBe(404);
    expect((await post({ from: 'node-a', to: 'x;y' })).statusCode).toBe(400);
    expect((await post({ from: 'node-a', to: '10.244.1.5' })).json()).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST' });
    expect((await post({ from: 'node-a', to: 'node-b' })).statusCode).toBe(409);
    expect((await post({ from: 'node-a' })).statusCode).toBe(400);
    expect((await app!.inject({ method: 'POST', url: '/v1/diagnose', payload: { from: 'node-a', to: 'node-b' } })).statusCode).toBe(401);
    expect((await app!.inject({ method: 'GET', url: '/v1/diagnoses/nope', headers: auth })).statusCode).toBe(404);
    expect(a.state.calls).toEqual([]);
  });

  it('one diagnosis at a time: a concurrent one gets 429 DIAGNOSIS_BUSY', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = fakeAgent('node-a', () => true);
    const b = fakeAgent('node-b', () => true);
    const inner = fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b });
    const slow = (async (input: URL | string | Request, init?: RequestInit) => {
      await gate;
      return inner(input, init);
    }) as typeof fetch;
    build(slow, views());
    const first = app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: 'node-b' } });
    await new Promise((r) => setTimeout(r, 20));
    const second = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: 'node-b' } });
    expect(second.statusCode).toBe(429);
    expect(second.json().code).toBe('DIAGNOSIS_BUSY');
    release();
    expect((await first).statusCode).toBe(200);
  });
});

describe('DiagnosisHistory', () => {
  it('keeps the newest N, newest first, and holds one running slot', () => {
    const h = new DiagnosisHistory(2);
    for (const id of ['d1', 'd2', 'd3']) h.add({ id } as Diagnosis);
    expect(h.get('d1')).toBeUndefined();
    expect(h.list().map((d) => d.id)).toEqual(['d3', 'd2']);
    expect(h.tryBegin()).toBe(true);
    expect(h.tryBegin()).toBe(false);
    h.end();
    expect(h.tryBegin()).toBe(true);
  });
});

// #19
describe('diagnose on a direct path', () => {
  const noEncap: Mode = { encapsulation: 'none', wireguard: false, ebpf: false, bgp: true, evidence: [] };
  const directView = (i: number, peer: number, withRoute = true): AgentView => ({
    agentUrl: `http://10.213.0.1${i}:9477`,
    identity: { ...identity(i), tunnels: [] },
    mode: noEncap,
    sections: {
      routes: {
        status: 'ok',
        data: withRoute
          ? [{ family: 'inet', type: 'unicast', dst: `10.244.${peer}.0/26`, gateway: `10.213.0.1${peer}`, dev: 'eth0', protocol: 'bird', scope: 'global', flags: [], table: 'main', metric: null, prefsrc: null, nexthops: [] }]
          : [],
      },
    },
  });

  it('BGP without encapsulation: uplink (and workload) captures only, plain ICMP, probes from the node IP; healthy', async () => {
    const a = fakeAgent('node-a', () => true, { uplinkEncap: false });
    const b = fakeAgent('node-b', () => true, { uplinkEncap: false });
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), { 'node-a': directView(1, 2), 'node-b': directView(2, 1) });
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } });
    const d = Diagnosis.parse(res.json());
    expect(d.verdict, d.summary).toBe('healthy');
    expect(a.state.capture).toMatchObject({ interfaces: ['eth0'], match: [{ kind: 'icmp' }] });
    expect(b.state.capture?.interfaces).toEqual(['eth0', 'cali00000000002']);
    expect(a.state.calls.find((c) => c.path === '/v1/probes')?.body).toMatchObject({ source: 'node' });
    expect(d.hops.some((h) => h.hop.includes('tunnel'))).toBe(false);
  });

  it('a probe the source refuses (no route covers the target) is a gap at the source uplink, not an unreachable agent', async () => {
    const a = fakeAgent('node-a', () => false, { uplinkEncap: false, refuseProbe: true });
    const b = fakeAgent('node-b', () => false, { uplinkEncap: false });
    build(fetchFor({ '10.213.0.11:9477': a, '10.213.0.12:9477': b }), { 'node-a': directView(1, 2, false), 'node-b': directView(2, 1) });
    const res = await app!.inject({ method: 'POST', url: '/v1/diagnose', headers: auth, payload: { from: 'node-a', to: '10.244.2.5' } });
    const d = Diagnosis.parse(res.json());
    expect(d.verdict).toBe('no-path');
    expect(d.gap).toEqual({ node: 'node-a', hop: 'source-uplink-out', direction: 'forward' });
    expect(d.summary).toMatch(/no route covering 10\.244\.2\.5/);
  });
});
