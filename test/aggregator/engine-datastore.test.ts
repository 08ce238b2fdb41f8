import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ok, unavailable, type Collected } from '../../contract/result.js';
import type { DatastoreView } from '../../aggregator/correlate/types.js';
import { cachedDatastore, datastoreFor } from '../../aggregator/main.js';

const view = (n: number): DatastoreView => ({ nodes: Array.from({ length: n }, (_, i) => ({ name: `n${i}`, internalIPs: [] })), calicoNodePods: [], ipPools: [], blockAffinities: [] });

describe('aggregator datastore feed for the engine', () => {
  it('re-lists at most once per ttl, one read at a time, undefined while unavailable', async () => {
    let t = 0;
    let reads = 0;
    let next: Collected<DatastoreView> = ok(view(2));
    const ds = cachedDatastore(
      async () => {
        reads++;
        return next;
      },
      { ttlMs: 60_000, now: () => t, logger: pino({ level: 'silent' }) },
    );
    const [a, b] = await Promise.all([ds(), ds()]);
    expect(reads).toBe(1);
    expect(a?.nodes).toHaveLength(2);
    expect(b).toBe(a);
    t = 59_999;
    await ds();
    expect(reads).toBe(1);
    t = 60_000;
    next = unavailable('unreachable', 'apiserver down');
    expect(await ds()).toBeUndefined();
    expect(reads).toBe(2);
    t = 130_000;
    next = ok(view(3));
    expect((await ds())?.nodes).toHaveLength(3);
  });

  it('reads nothing with --kube off', () => {
    expect(datastoreFor({ listen: { host: '127.0.0.1', port: 0 }, tokenFile: '/t', staleIntervals: 3, bodyLimit: 4096, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' }, pino({ level: 'silent' }), () => 0)).toBeUndefined();
  });
});
