/**
 * issue #4: every lab fault really changes what the kernel does to pod traffic the way its
 * definition says (asserted with ping, both directions, small and full-size), and removal
 * restores a healthy cluster. Kernel level only; the findings are asserted in findings.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../lab/topology.js';
import { BIG_PING_SIZE, FAULTS, WRONG_VTEP_MAC, injectFault, type FaultKind } from '../../lab/faults.js';
import { requireLabHost } from '../../lab/preflight.js';
import { cleanupLeftovers } from '../../lab/cleanup.js';

let lab: Lab | undefined;
const L = (): Lab => {
  if (!lab) throw new Error('lab not built');
  return lab;
};

beforeAll(async () => {
  await requireLabHost();
  await cleanupLeftovers(); // leftovers of crashed runs only: labs whose owner process is alive are kept
  lab = await createLab({ nodes: 3 });
}, 60_000);

afterAll(async () => {
  await lab?.teardown();
});

/** A lost echo inside one kernel is lost for good: 0.5 s is ample and keeps failing cases short. */
const W = 0.5;
const pings = async (from: string, to: string) => {
  const a = L().node(from).pods[0]!;
  const b = L().node(to).pods[0]!;
  const big = { size: BIG_PING_SIZE, df: true, timeoutS: W };
  return {
    small: (await L().ping(a.ns, b.ip, { timeoutS: W })) && (await L().ping(b.ns, a.ip, { timeoutS: W })),
    big: (await L().ping(a.ns, b.ip, big)) && (await L().ping(b.ns, a.ip, big)),
  };
};

const kernelKinds = (Object.keys(FAULTS) as FaultKind[]).filter((k) => k !== 'agent-killed');

describe('lab faults change the kernel dataplane as defined, and removal heals it', () => {
  it.each(kernelKinds)('%s', async (kind) => {
    const before = await pings('node1', 'node2');
    expect(before).toEqual({ small: true, big: true });
    const f = await injectFault({ lab: L() }, kind, { node: 'node1', peer: 'node2' });
    try {
      const during = await pings('node1', 'node2');
      expect(during, f.description).toEqual({ small: f.def.traffic.small === 'works', big: f.def.traffic.big === 'works' });
      // The third node is not involved in pair faults and stays reachable from node2.
      if (f.expected.peer !== undefined) expect(await L().ping(L().node('node3').pods[0]!.ns, L().node('node2').pods[0]!.ip)).toBe(true);
    } finally {
      await f.remove();
    }
    expect(await pings('node1', 'node2')).toEqual({ small: true, big: true });
  }, 30_000);

  it('wrong neighbour MAC is visible in the neighbour table and is restored to the peer VTEP MAC', async () => {
    const n1 = L().node('node1');
    const n2 = L().node('node2');
    const f = await injectFault({ lab: L() }, 'neighbor-mac-wrong', { node: 'node1', peer: 'node2' });
    const show = async () =>
      (JSON.parse((await L().exec(n1.ns, ['ip', '-j', 'neigh', 'show', n2.tunnelIp, 'dev', 'vxlan.calico'])).stdout) as Array<{ lladdr: string }>)[0]?.lladdr;
    expect(await show()).toBe(WRONG_VTEP_MAC);
    expect(f.expected).toEqual({ rule: 'vxlan-neighbor-mac-mismatch', node: 'node1', peer: 'node2' });
    await f.remove();
    expect(await show()).toBe(n2.vtepMac);
  });

  it('the cali-FORWARD DROP rule counts the dropped pod packets', async () => {
    const n1 = L().node('node1');
    const counter = async (): Promise<number> => {
      const save = (await L().exec(n1.ns, [L().flavour.iptablesSave, '-c', '-t', 'filter'])).stdout;
      const line = save.split('\n').find((l) => l.includes('-A cali-FORWARD -s 10.244.2.0/26') && l.endsWith('-j DROP'));
      const m = line?.match(/^\[(\d+):\d+\]/);
      return m ? Number(m[1]) : -1;
    };
    const f = await injectFault({ lab: L() }, 'forward-drop', { node: 'node1', peer: 'node2' });
    try {
      expect(await counter()).toBe(0);
      await L().ping(L().node('node2').pods[0]!.ns, n1.pods[0]!.ip, { count: 3 });
      expect(await counter()).toBeGreaterThanOrEqual(3);
    } finally {
      await f.remove();
    }
    expect(await counter()).toBe(-1);
  });

  it('return-route-missing puts the wrong state on the destination node', async () => {
    const f = await injectFault({ lab: L() }, 'return-route-missing', { node: 'node1', peer: 'node2' });
    try {
      const routes = (await L().exec(L().node('node2').ns, ['ip', '-j', 'route', 'show', 'dev', 'vxlan.calico'])).stdout;
      expect(routes).not.toContain(L().node('node1').block);
      expect(f.expected).toEqual({ rule: 'route-missing', node: 'node2', peer: 'node1' });
    } finally {
      await f.remove();
    }
  });
});
