/**
 * issue #4: the namespace lab is wired as Felix wires a Calico VXLAN cluster, pods reach each
 * other across nodes, and teardown leaves nothing behind. Runs as root (never skipped).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLab, felixVtepMac, caliIfName, planLab, type Lab } from '../../lab/topology.js';
import { listNamespaces, cleanupLeftovers } from '../../lab/cleanup.js';
import { requireLabHost } from '../../lab/preflight.js';
import { makeSh } from '../../lab/sh.js';

interface IpLink {
  ifname: string;
  address?: string;
  mtu: number;
  operstate?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; local?: string; learning?: boolean; link?: string } };
}

let lab: Lab | undefined;
const L = (): Lab => {
  if (!lab) throw new Error('lab not built');
  return lab;
};

beforeAll(async () => {
  await requireLabHost();
  await cleanupLeftovers(); // leftovers of crashed runs only: labs whose owner process is alive are kept
  lab = await createLab({ nodes: 3, podsPerNode: 2 });
}, 60_000);

afterAll(async () => {
  await lab?.teardown();
});

describe('lab plan (pure)', () => {
  it('gives Felix-style VTEP MACs, cali names, blocks and tunnel IPs', () => {
    const plan = planLab({ id: 'ab12', nodes: 3, podsPerNode: 2, runDir: '/tmp/x' });
    expect(plan.prefix).toBe('cdlab12');
    expect(plan.nodes.map((n) => n.ns)).toEqual(['cdlab12-n1', 'cdlab12-n2', 'cdlab12-n3']);
    const n2 = plan.nodes[1]!;
    expect(n2.block).toBe('10.244.2.0/26');
    expect(n2.tunnelIp).toBe('10.244.2.0');
    expect(n2.pods.map((p) => p.ip)).toEqual(['10.244.2.1', '10.244.2.2']);
    expect(n2.vtepMac).toMatch(/^66(:[0-9a-f]{2}){5}$/);
    expect(felixVtepMac('node2')).toBe(n2.vtepMac);
    expect(felixVtepMac('node1')).not.toBe(felixVtepMac('node2'));
    // sha1("node1") = f937c37e94..., computed independently (python hashlib)
    expect(felixVtepMac('node1')).toBe('66:f9:37:c3:7e:94');
    for (const p of plan.nodes.flatMap((n) => n.pods)) {
      expect(p.caliIf).toMatch(/^cali[0-9a-f]{11}$/);
      expect(p.caliIf.length).toBeLessThanOrEqual(15);
      expect(p.ns.length).toBeLessThanOrEqual(32);
    }
    expect(caliIfName('a')).not.toBe(caliIfName('b'));
  });
});

describe('lab wiring (real kernel)', () => {
  it('pods on every node reach the pods on every other node', async () => {
    for (const a of L().nodes) {
      for (const b of L().nodes) {
        if (a === b) continue;
        expect(await L().ping(a.pods[0]!.ns, b.pods[0]!.ip, { count: 1, timeoutS: 2 }), `${a.name} → ${b.name}`).toBe(true);
      }
    }
  });

  it('pods on the same node reach each other through their cali veths (proxy ARP for 169.254.1.1)', async () => {
    for (const n of L().nodes) {
      expect(await L().ping(n.pods[0]!.ns, n.pods[1]!.ip, { timeoutS: 2 }), `${n.pods[0]!.name} → ${n.pods[1]!.name}`).toBe(true);
    }
    const neigh = JSON.parse((await L().exec(L().nodes[0]!.pods[0]!.ns, ['ip', '-j', 'neigh', 'show', '169.254.1.1'])).stdout) as Array<{ lladdr?: string }>;
    expect(neigh[0]?.lladdr).toBe('ee:ee:ee:ee:ee:ee');
  });

  it('programs vxlan.calico like Felix: VNI 4096, port 4789, nolearning, MTU 1450, local node IP, VTEP MAC', async () => {
    for (const n of L().nodes) {
      const links = JSON.parse((await L().exec(n.ns, ['ip', '-j', '-d', 'link', 'show'])).stdout) as IpLink[];
      const vx = links.find((l) => l.ifname === 'vxlan.calico');
      expect(vx?.linkinfo?.info_kind).toBe('vxlan');
      expect(vx?.linkinfo?.info_data?.id).toBe(4096);
      expect(vx?.linkinfo?.info_data?.port).toBe(4789);
      expect(vx?.linkinfo?.info_data?.local).toBe(n.nodeIp);
      expect(vx?.linkinfo?.info_data?.learning).toBe(false);
      expect(vx?.mtu).toBe(1450);
      expect(vx?.address).toBe(n.vtepMac);
      const cali = links.find((l) => l.ifname === n.pods[0]!.caliIf);
      expect(cali?.address).toBe('ee:ee:ee:ee:ee:ee');
      expect(links.find((l) => l.ifname === 'eth0')?.mtu).toBe(1500);
    }
  });

  it('programs per-peer route (onlink, proto 80), PERMANENT neighbour and FDB entry, and a blackhole for the own block', async () => {
    const n1 = L().nodes[0]!;
    const routes = JSON.parse((await L().exec(n1.ns, ['ip', '-j', 'route', 'show'])).stdout) as Array<Record<string, unknown>>;
    const neigh = JSON.parse((await L().exec(n1.ns, ['ip', '-j', 'neigh', 'show', 'dev', 'vxlan.calico'])).stdout) as Array<Record<string, unknown>>;
    const fdb = JSON.parse((await L().exec(n1.ns, ['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan.calico'])).stdout) as Array<Record<string, unknown>>;
    expect(routes).toContainEqual(expect.objectContaining({ type: 'blackhole', dst: n1.block, protocol: '80' }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: `${n1.pods[0]!.ip}`, dev: n1.pods[0]!.caliIf, scope: 'link' }));
    for (const p of L().nodes.slice(1)) {
      expect(routes).toContainEqual(expect.objectContaining({ dst: p.block, gateway: p.tunnelIp, dev: 'vxlan.calico', protocol: '80', flags: ['onlink'] }));
      expect(neigh).toContainEqual(expect.objectContaining({ dst: p.tunnelIp, lladdr: p.vtepMac, state: ['PERMANENT'] }));
      expect(fdb).toContainEqual(expect.objectContaining({ mac: p.vtepMac, dst: p.nodeIp, state: 'permanent' }));
    }
  });

  // #15

  it('has current Felix\'s VXLAN guard by default: cali40all-vxlan-net with every node IP, its ACCEPT and the catch-all DROP, in iptables-nft', async () => {
    const n = L().nodes[2]!;
    expect(L().flavour).toMatchObject({ release: 'current', guardSet: 'cali40all-vxlan-net', backend: 'nft' });
    const set = (await L().exec(n.ns, ['ipset', 'list', 'cali40all-vxlan-net'])).stdout;
    for (const m of L().nodes) expect(set.split('\n')).toContain(m.nodeIp);
    const save = (await L().exec(n.ns, ['iptables-nft-save'])).stdout;
    expect(save).toMatch(
      /-A cali-INPUT -p udp -m comment --comment "cali:[^"]+" -m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -m multiport --dports 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT\n-A cali-INPUT -p udp -m comment --comment "cali:[^"]+" -m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j DROP/,
    );
    expect(save).toMatch(/-A INPUT -m comment --comment "cali:[^"]+" -j cali-INPUT/);
    expect(save).toMatch(/-A FORWARD -m comment --comment "cali:[^"]+" -j cali-FORWARD/);
    expect(save).toContain(':KUBE-IPTABLES-HINT - [0:0]');
    // nothing in the legacy backend
    expect((await L().exec(n.ns, ['iptables-legacy-save'])).stdout).not.toContain('cali-');
  });

  it('sets ip_forward=1, loose/off rp_filter on the node and proxy_arp on the workload veth', async () => {
    const n = L().nodes[1]!;
    const read = async (k: string) => (await L().exec(n.ns, ['sysctl', '-n', k])).stdout.trim();
    expect(await read('net.ipv4.ip_forward')).toBe('1');
    expect(await read('net.ipv4.conf.all.rp_filter')).toBe('0');
    expect(await read('net/ipv4/conf/vxlan.calico/rp_filter')).toBe('0');
    expect(await read(`net.ipv4.conf.${n.pods[0]!.caliIf}.proxy_arp`)).toBe('1');
  });

  it('serves a Felix health stand-in on 127.0.0.1:9099 whose readiness the lab controls', async () => {
    const n = L().nodes[0]!;
    const code = async (path: string) =>
      (await L().exec(n.ns, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:9099${path}`])).stdout;
    expect(await code('/readiness')).toBe('200');
    L().setFelixHealth(n.name, { live: true, ready: false });
    expect(await code('/readiness')).toBe('503');
    expect(await code('/liveness')).toBe('200');
    L().setFelixHealth(n.name, null);
    expect(await code('/readiness')).toBe('200');
  });

  it('aggregator namespace reaches every node over the underlay', async () => {
    for (const n of L().nodes) expect(await L().ping(L().aggregatorNs, n.nodeIp, { timeoutS: 2 })).toBe(true);
  });
});

describe('teardown', () => {
  it('removes every namespace and process of a lab, and cleanup removes leftovers of a crashed one', async () => {
    const sh = makeSh();
    const small = await createLab({ nodes: 2 });
    const nss = small.namespaces();
    const felixPids = [...small.felix.values()].map((d) => d.pid);
    expect((await listNamespaces(sh)).filter((n) => nss.includes(n)).sort()).toEqual([...nss].sort());
    await small.teardown();
    expect((await listNamespaces(sh)).filter((n) => nss.includes(n))).toEqual([]);
    for (const pid of felixPids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(small.runDir)).toBe(false);

    // A "crashed" lab: namespaces left behind by a run whose owner is gone.
    await sh.must(['ip', 'netns', 'add', 'cdlfff0-n1']);
    await sh.must(['ip', 'netns', 'add', 'cdlfff0-ul']);
    const removed = await cleanupLeftovers();
    expect(removed).toEqual(expect.arrayContaining(['cdlfff0-n1', 'cdlfff0-ul']));
    const after = await listNamespaces(sh);
    expect(after).not.toContain('cdlfff0-n1');
    // The live lab of this file (owner alive) is kept.
    expect(after).toContain(L().nodes[0]!.ns);
  }, 60_000);

  const topologyTs = fileURLToPath(new URL('../../lab/topology.ts', import.meta.url));
  /** Runs a child that builds a 2-node lab, prints its prefix, then does `then` (exit or wait). */
  const childLab = (then: string) =>
    spawn(process.execPath, [
      '--import', 'tsx', '--input-type=module', '-e',
      `import { createLab } from ${JSON.stringify(topologyTs)}; const lab = await createLab({ nodes: 2 }); console.log('PREFIX ' + lab.prefix); ${then}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const prefixOf = (child: ReturnType<typeof childLab>) =>
    new Promise<string>((res, rej) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = buf.match(/PREFIX (cdl[0-9a-f]{4})/);
        if (m) res(m[1]!);
      });
      child.once('exit', (code) => rej(new Error(`child exited (${code}) before building its lab: ${buf}`)));
    });
  const labNamespaces = async (prefix: string) => (await listNamespaces(makeSh())).filter((n) => n.startsWith(`${prefix}-`));

  it('a process that exits without teardown, or is sent SIGTERM, leaves no namespace behind', async () => {
    const exiting = childLab('process.exit(0);');
    const exitedFirst = new Promise((r) => exiting.once('exit', r));
    const p1 = await prefixOf(exiting);
    await exitedFirst;
    expect(await labNamespaces(p1)).toEqual([]);

    const waiting = childLab('setInterval(() => {}, 1000);');
    try {
      const p2 = await prefixOf(waiting);
      // n1, n1p1, n2, n2p1, agg, ul
      expect((await labNamespaces(p2)).length).toBe(6);
      const exited = new Promise<number | null>((r) => waiting.once('exit', (code) => r(code)));
      waiting.kill('SIGTERM');
      expect(await exited).toBe(143);
      expect(await labNamespaces(p2)).toEqual([]);
    } finally {
      if (waiting.exitCode === null) waiting.kill('SIGKILL');
    }
  }, 60_000);
});
