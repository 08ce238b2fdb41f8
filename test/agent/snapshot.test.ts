import { describe, expect, it } from 'vitest';
import type { CollectorRegistry } from '../../agent/collectors/index.js';
import type { CollectContext, Host } from '../../agent/collectors/types.js';
import type { Clock } from '../../common/clock.js';
import { takeSnapshot, type SnapshotDeps } from '../../agent/snapshot.js';
import { ok, unavailable } from '../../contract/result.js';
import { Snapshot } from '../../contract/snapshot.js';
import { sampleSnapshot } from './snapshot-sample.js';
import { fakeRunner } from '../helpers/fake-runner.js';

const sample = sampleSnapshot().sections;
const defaultRoute = {
  family: 'inet' as const, type: 'unicast', dst: 'default', gateway: '192.168.0.1', dev: 'eth0', protocol: 'dhcp', scope: 'global',
  flags: [], table: 'main', metric: 100, prefsrc: '192.168.0.10', nexthops: [],
};

/** A clock whose monotonic time advances 5 ms per reading: timings become observable without sleeping. */
const steppingClock = (): Clock => {
  let t = 0;
  return { now: () => Date.parse('2026-11-21T12:00:00.000Z'), monotonic: () => (t += 5) };
};

const host: Host = {
  run: fakeRunner({}),
  readFile: async () => ({ ok: false, kind: 'not-found', message: 'fake' }),
  listDir: async () => ({ ok: false, kind: 'not-found', message: 'fake' }),
  httpGet: async () => ({ ok: false, kind: 'unreachable', message: 'fake' }),
  unixExchange: async () => ({ ok: false, kind: 'not-found', message: 'fake' }),
};

/** takeSnapshot for node-a on the fake host with a stepping clock, `over` replacing any of those. */
const snapshotWith = (over: Partial<SnapshotDeps>): Promise<Snapshot> =>
  takeSnapshot({
    host,
    config: { timeoutMs: 1000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/x' },
    node: 'node-a',
    clock: steppingClock(),
    agentVersion: '0.1.0',
    ...over,
  });

const fakeCollectors = (contexts: Record<string, CollectContext>, order: string[]): CollectorRegistry => {
  const seen = (name: string, c: CollectContext) => {
    contexts[name] = c;
    order.push(name);
  };
  return {
    links: async (_h, _c, ctx) => (seen('links', ctx), sample.links),
    addresses: async (_h, _c, ctx) => (seen('addresses', ctx), sample.addresses),
    routes: async (_h, _c, ctx) => (seen('routes', ctx), ok([defaultRoute])),
    neighbours: async (_h, _c, ctx) => (seen('neighbours', ctx), ok([])),
    fdb: async (_h, _c, ctx) => {
      seen('fdb', ctx);
      throw new Error('bug: cannot read property mac of undefined');
    },
    sysctls: async (_h, _c, ctx) => (seen('sysctls', ctx), unavailable('permission-denied', 'read-only /proc')),
    iptables: async (_h, _c, ctx) => (seen('iptables', ctx), sample.iptables),
    ipsets: async (_h, _c, ctx) => (seen('ipsets', ctx), sample.ipsets),
    felix: async (_h, _c, ctx) => (seen('felix', ctx), sample.felix),
    bgp: async (_h, _c, ctx) => (seen('bgp', ctx), sample.bgp),
  };
};

// issue #2
describe('snapshot assembly', () => {
  it('keeps a partial snapshot when collectors are unavailable or crash', async () => {
    const contexts: Record<string, CollectContext> = {};
    const order: string[] = [];
    const snap = await snapshotWith({ collectors: fakeCollectors(contexts, order) });
    expect(Snapshot.safeParse(snap).success).toBe(true);
    expect(snap.sections.links.status).toBe('ok');
    expect(snap.sections.fdb).toEqual({ status: 'unavailable', reason: 'command-failed', detail: 'collector crashed: bug: cannot read property mac of undefined' });
    expect(snap.sections.sysctls).toEqual({ status: 'unavailable', reason: 'permission-denied', detail: 'read-only /proc' });
    expect(snap.takenAt).toBe('2026-11-21T12:00:00.000Z');
    expect(Object.keys(snap.timings).sort()).toEqual(['addresses', 'bgp', 'fdb', 'felix', 'ipsets', 'iptables', 'links', 'neighbours', 'routes', 'sysctls']);
    for (const ms of Object.values(snap.timings)) expect(ms).toBeGreaterThan(0);
    expect(snap.durationMs).toBeGreaterThan(0);
    // identity and mode are derived from what was collected
    expect(snap.identity.tunnels.map((t) => t.device)).toEqual(['vxlan.calico']);
    expect(snap.identity.uplinks.map((u) => u.name)).toContain('eth0');
    expect(snap.mode.encapsulation).toBe('vxlan');
  });

  it('collects links, routes and addresses first and gives the others link names and uplinks', async () => {
    const contexts: Record<string, CollectContext> = {};
    const order: string[] = [];
    await snapshotWith({ collectors: fakeCollectors(contexts, order) });
    expect(order.slice(0, 3).sort()).toEqual(['addresses', 'links', 'routes']);
    expect(contexts.links).toEqual({ linkNames: null, uplinks: [] });
    expect(contexts.sysctls).toEqual({ linkNames: ['lo', 'eth0', 'vxlan.calico', 'cali12345'], uplinks: ['eth0'] });
  });

  it('starts the iptables collector with links, routes and addresses, without context', async () => {
    // #17: the longest collector on a big node (a full ruleset dump) does not wait for the first three
    const contexts: Record<string, CollectContext> = {};
    const collectors = fakeCollectors(contexts, []);
    let iptablesStarted!: () => void;
    const started = new Promise<'started'>((resolve) => (iptablesStarted = () => resolve('started')));
    const iptables = collectors.iptables;
    collectors.iptables = async (h, c, ctx) => (iptablesStarted(), iptables(h, c, ctx));
    const links = collectors.links;
    let linksSaw: string | undefined;
    collectors.links = async (h, c, ctx) => {
      linksSaw = await Promise.race([started, new Promise<'not started'>((resolve) => setTimeout(() => resolve('not started'), 500))]);
      return links(h, c, ctx);
    };
    const snap = await snapshotWith({ collectors });
    expect(linksSaw).toBe('started');
    expect(contexts.iptables).toEqual({ linkNames: null, uplinks: [] });
    expect(snap.sections.iptables).toEqual(sample.iptables);
  });

  it('gives null link names when the links collector is unavailable', async () => {
    const contexts: Record<string, CollectContext> = {};
    const collectors = fakeCollectors(contexts, []);
    collectors.links = async () => unavailable('missing-binary', 'ip: command not found');
    const snap = await snapshotWith({ collectors });
    expect(contexts.sysctls!.linkNames).toBeNull();
    expect(snap.identity.tunnels).toEqual([]);
    expect(snap.mode.encapsulation).toBe('unknown');
  });

  it('runs the real collectors against a host that has nothing: every section unavailable, no crash', async () => {
    const empty: Host = { ...host, run: async (req) => ({ ok: false, kind: 'missing-binary', message: `${req.argv[0]}: not found`, argv: req.argv, stderr: '', durationMs: 0 }) };
    const snap = await snapshotWith({ host: empty });
    expect(Snapshot.safeParse(snap).success).toBe(true);
    // Felix's health is data even when nobody answers: both probes 'unreachable'
    const { felix, ...rest } = snap.sections;
    for (const [name, s] of Object.entries(rest)) expect(s.status, name).toBe('unavailable');
    expect(felix).toMatchObject({ status: 'ok', data: { readiness: 'unreachable', liveness: 'unreachable' } });
    expect(snap.sections.links).toMatchObject({ reason: 'missing-binary' });
  });
});

describe('snapshot deadline and abort', () => {
  /** a registry whose iptables collector runs one command that only ends when it is killed */
  const hangingIptables = (): CollectorRegistry => {
    const registry = fakeCollectors({}, []);
    return {
      ...registry,
      iptables: async (h) => {
        const r = await h.run({ argv: ['iptables-save', '-c'] });
        return unavailable('command-failed', r.ok ? 'finished' : r.kind);
      },
    };
  };
  const hangingHost = (seen: { signal: AbortSignal | undefined }): Host => ({
    ...host,
    run: (req) =>
      new Promise((resolve) => {
        seen.signal = req.signal;
        req.signal?.addEventListener('abort', () => resolve({ ok: false, kind: 'aborted', message: 'killed', argv: req.argv, stderr: '', durationMs: 0 }));
      }),
  });

  // #16: a hung iptables command stalled the whole snapshot for minutes
  it('reports a collector still running at the deadline as unavailable(timeout) and kills its command', async () => {
    const seen: { signal: AbortSignal | undefined } = { signal: undefined };
    const snap = await snapshotWith({ host: hangingHost(seen), collectors: hangingIptables(), deadlineMs: 50, clock: { now: () => 0, monotonic: () => performance.now() } });
    expect(snap.sections.iptables).toMatchObject({ status: 'unavailable', reason: 'timeout' });
    expect((snap.sections.iptables as { detail: string }).detail).toMatch(/deadline \(50 ms\)/);
    expect(snap.sections.links.status).toBe('ok');
    expect(seen.signal?.aborted).toBe(true);
  });

  it('ends at once when the caller aborts (shutdown), marking the unfinished collectors', async () => {
    const seen: { signal: AbortSignal | undefined } = { signal: undefined };
    const stop = new AbortController();
    const pending = snapshotWith({ host: hangingHost(seen), collectors: hangingIptables(), signal: stop.signal, deadlineMs: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    const snap = await pending;
    expect(snap.sections.iptables).toMatchObject({ status: 'unavailable', reason: 'timeout', detail: 'collector stopped: the agent is shutting down' });
    expect(seen.signal?.aborted).toBe(true);
  });
});
