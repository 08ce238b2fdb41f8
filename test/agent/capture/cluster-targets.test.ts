import { describe, expect, it } from 'vitest';
import { clusterTargets, ProbeLimiter } from '../../../agent/capture/cluster-targets.js';
import { ok } from '../../../contract/result.js';
import type { Snapshot } from '../../../contract/snapshot.js';
import { sampleSnapshot } from '../snapshot-sample.js';

const route = (dst: string, gateway: string | null, dev: string, protocol: string) => ({
  family: 'inet' as const, type: 'unicast', dst, gateway, dev, protocol, scope: 'global', flags: gateway ? ['onlink'] : [], table: 'main', metric: null, prefsrc: null, nexthops: [],
});

/** node-a of the sample, with one VXLAN peer (block 10.244.2.0/26 via tunnel IP 10.244.2.0, node IP 192.168.0.11) and one BGP peer */
const snapshot = (): Snapshot => {
  const s = sampleSnapshot();
  return {
    ...s,
    sections: {
      ...s.sections,
      routes: ok([
        route('default', '192.168.0.1', 'eth0', 'dhcp'),
        route('10.244.2.0/26', '10.244.2.0', 'vxlan.calico', '80'),
        route('10.244.3.0/26', '192.168.0.12', 'eth0', 'bird'),
        route('172.16.0.0/16', '192.168.0.1', 'eth0', 'static'),
      ]),
      fdb: ok([{ mac: '66:00:00:00:00:02', dev: 'vxlan.calico', dst: '192.168.0.11', state: 'permanent', flags: ['self'], vni: null, port: null }]),
    },
  };
};

describe('probe targets', () => {
  const allowed = clusterTargets(snapshot());

  it('are this node’s blocks, tunnel and node IPs, the peer blocks it routes and the peers’ node and tunnel IPs', () => {
    for (const ip of ['10.244.1.5', '10.244.1.0', '192.168.0.10', '10.244.2.17', '10.244.2.0', '192.168.0.11', '10.244.3.9', '192.168.0.12']) expect(allowed(ip), ip).toBe(true);
  });

  // #16: every node could be made to send unbounded ICMP to any address
  it('exclude everything else: the internet, metadata services, other routed networks, the default gateway', () => {
    for (const ip of ['8.8.8.8', '169.254.169.254', '172.16.4.4', '192.168.0.1', '10.244.4.1', '::1', 'not-an-ip']) expect(allowed(ip), ip).toBe(false);
  });
});

describe('probe limiter', () => {
  it('lets one probe run at a time and a fixed number start per rolling minute', () => {
    let t = 0;
    const l = new ProbeLimiter(2, () => t);
    const a = l.begin();
    expect('done' in a).toBe(true);
    expect(l.begin()).toEqual({ refused: 'another probe is running on this node' });
    if ('done' in a) a.done();
    const b = l.begin();
    if ('done' in b) b.done();
    expect(l.begin()).toEqual({ refused: 'at most 2 probes a minute on this node' });
    t = 60_000;
    expect('done' in l.begin()).toBe(true);
  });
});
