/**
 * Records REAL outputs of the BGP lab modes (#19) into test/fixtures/lab-bgp/ for unit tests:
 * for BGP without encapsulation and for VXLAN CrossSubnet (BGP backend), every node of the healthy
 * lab, then each BGP-lab fault (lab/bgp-faults.ts) on every node it changes. Per node: the ip/bridge
 * JSON the agent reads, `ipset save`, and BIRD's raw control-socket reply to `show protocols` (what
 * the agent's parser reads over --bird-socket; `birdc` prints it without the reply codes).
 * Run as root: `node --import tsx lab/record-bgp.ts [outDir]`. Fixed lab ids keep names stable.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { birdReplyComplete } from '../agent/parsers/bird.js';
import { cleanupLeftovers } from './cleanup.js';
import { injectBgpFault, type BgpFaultKind } from './bgp-faults.js';
import { repoRoot } from './spawn.js';
import { createLab, type Lab, type LabNode, type LabRouting } from './topology.js';
import type { Argv } from './sh.js';
import { waitForSessions } from './bird.js';

export const BGP_RECORDED_COMMANDS: ReadonlyArray<{ file: string; argv: Argv }> = [
  { file: 'ip-j-d-s-link-show.json', argv: ['ip', '-j', '-d', '-s', 'link', 'show'] },
  { file: 'ip-j-addr-show.json', argv: ['ip', '-j', 'addr', 'show'] },
  { file: 'ip-j-route-show-table-all.json', argv: ['ip', '-j', 'route', 'show', 'table', 'all'] },
  { file: 'ip-j-neigh-show.json', argv: ['ip', '-j', 'neigh', 'show'] },
  { file: 'bridge-j-fdb-show.json', argv: ['bridge', '-j', 'fdb', 'show'] },
  { file: 'ipset-save.txt', argv: ['ipset', 'save'] },
];
export const BIRD_REPLY_FILE = 'bird-show-protocols.txt';

/** The raw exchange on BIRD's control socket for `show protocols` (greeting included). */
export const birdExchange = (socket: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let text = '';
    let sent = false;
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`${socket}: no complete reply`));
    }, 5000);
    c.on('data', (d) => {
      text += d.toString('utf8');
      if (!sent && /^0001 /m.test(text)) {
        sent = true;
        c.write('show protocols\n');
        return;
      }
      const afterGreeting = text.slice(text.indexOf('\n') + 1);
      if (sent && birdReplyComplete(afterGreeting)) {
        clearTimeout(timer);
        c.end();
        resolve(text);
      }
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });

const recordNode = async (lab: Lab, n: LabNode, dir: string): Promise<void> => {
  mkdirSync(dir, { recursive: true });
  for (const c of BGP_RECORDED_COMMANDS) writeFileSync(join(dir, c.file), (await lab.exec(n.ns, c.argv)).stdout);
  if (n.birdSocket) writeFileSync(join(dir, BIRD_REPLY_FILE), await birdExchange(n.birdSocket));
};

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ModeSpec {
  name: 'none' | 'crosssubnet';
  id: string;
  routing: Partial<LabRouting>;
  faults: Array<{ kind: BgpFaultKind; node: string; peer: string }>;
}

const MODES: ModeSpec[] = [
  {
    name: 'none',
    id: 'b9a0',
    routing: { routing: 'bgp', encapsulation: 'none' },
    faults: [
      { kind: 'bgp-session-filtered', node: 'node1', peer: 'node2' },
      { kind: 'bgp-wrong-as', node: 'node1', peer: 'node2' },
      { kind: 'bgp-block-not-exported', node: 'node1', peer: 'node2' },
    ],
  },
  {
    name: 'crosssubnet',
    id: 'b9a1',
    routing: { routing: 'bgp', encapsulation: 'vxlan', crossSubnet: true },
    faults: [
      { kind: 'route-form-tunnel', node: 'node1', peer: 'node2' },
      { kind: 'route-form-direct', node: 'node1', peer: 'node3' },
    ],
  },
];

export const recordBgp = async (outDir: string): Promise<string[]> => {
  await cleanupLeftovers({ force: false });
  const written: string[] = [];
  const notes: string[] = [];
  for (const m of MODES) {
    const lab = await createLab({ id: m.id, routing: m.routing });
    const unhook = lab.installExitHooks();
    try {
      for (const n of lab.nodes) {
        const dir = join(outDir, `${m.name}-healthy-${n.name}`);
        await recordNode(lab, n, dir);
        written.push(dir);
      }
      for (const f of m.faults) {
        const fault = await injectBgpFault(lab, f.kind, { node: f.node, peer: f.peer });
        try {
          await settle(4000); // BIRD withdraws routes and retries connections within a few seconds
          const ok = await lab.ping(lab.node(f.node).pods[0]!.ns, lab.node(f.peer).pods[0]!.ip, { timeoutS: 1 });
          notes.push(`  - \`${m.name}-${f.kind}-<node>\`: ${fault.description}; pod ping ${f.node} → ${f.peer} ${ok ? 'worked' : 'failed'}`);
          for (const n of lab.nodes) {
            const dir = join(outDir, `${m.name}-${f.kind}-${n.name}`);
            await recordNode(lab, n, dir);
            written.push(dir);
          }
        } finally {
          await fault.remove();
        }
        if (lab.birds.size > 0) await waitForSessions(lab.sh, [...lab.birds.values()], 30_000);
        await settle(3000);
      }
      const cluster = lab.nodes.map((n) => ({ name: n.name, nodeIp: n.nodeIp, subnet: n.subnet, block: n.block, tunnelIp: lab.routing.encapsulation === 'vxlan' ? n.tunnelIp : null }));
      writeFileSync(join(outDir, `${m.name}-cluster.json`), `${JSON.stringify({ prefix: lab.prefix, routing: lab.routing, nodes: cluster }, null, 2)}\n`);
      if (m === MODES[MODES.length - 1]) {
        const v = async (argv: Argv) => ((await lab.sh.try(argv)).stdout || '').trim().split('\n')[0] ?? '';
        const versions = { kernel: await v(['uname', '-r']), ip: await v(['ip', '-V']), bird: await v(['bird', '--version']).then(async (x) => x || (await lab.sh.try(['bird', '--version'])).stderr.trim()) };
        writeFileSync(join(outDir, 'SOURCES.md'), sourcesMd(versions, notes));
      }
    } finally {
      unhook();
      await lab.teardown();
    }
  }
  return written;
};

const sourcesMd = (v: Record<string, string>, notes: string[]): string => `# test/fixtures/lab-bgp — real outputs recorded from the calico-diag BGP lab modes

License: Apache-2.0 (generated by this project; no third-party text).

How made: \`sudo node --import tsx lab/record-bgp.ts\` (lab/record-bgp.ts). It builds two 3-node labs
with lab/topology.ts, each node running BIRD 1.6 with a config rendered by lab/bird.ts the way
calico-node's confd renders bird.cfg (node-to-node mesh, AS 64512, static blackhole per block,
kernel/device/direct protocols, export filter for the node's own block):
- \`none-*\`: BGP without encapsulation (namespaces cdlb9a0-*): BIRD programs the peer blocks
  (\`proto bird\`, via the peer's node IP on eth0) and the own block's blackhole;
- \`crosssubnet-*\`: VXLAN CrossSubnet with BGP (namespaces cdlb9a1-*): node1 and node2 on
  10.213.0.0/24, node3 on 10.213.1.0/24, the underlay namespace routing between them; Felix's
  routes (proto 80) go directly to the same-subnet peer and through vxlan.calico to the other;
  BIRD keeps VXLAN pool routes out of the kernel, as calico-node's filter does.

Cases (\`<mode>-<case>-<node>/\`, every node of the lab recorded for every case):
- \`<mode>-healthy-<node>\`: the healthy lab;
${notes.join('\n')}

Each fault was removed (and the sessions Established again) before the next.
\`<mode>-cluster.json\`: the lab's truth (node IP, subnet, block, tunnel IP).

Commands, run in the node's namespace (file ← command):
${BGP_RECORDED_COMMANDS.map((c) => `- \`${c.file}\` ← \`${c.argv.join(' ')}\``).join('\n')}
- \`${BIRD_REPLY_FILE}\` ← the raw reply on BIRD's control socket to \`show protocols\` (greeting
  included), as the agent reads it over --bird-socket

Recorded with:
- kernel: ${v.kernel}
- ${v.ip}
- BIRD: ${v.bird}
- recorded: ${new Date().toISOString().slice(0, 10)}
`;

if (process.argv[1] && /lab\/record-bgp\.(ts|js)$/.test(process.argv[1])) {
  const out = process.argv[2] ?? join(repoRoot(), 'test', 'fixtures', 'lab-bgp');
  recordBgp(out).then(
    (dirs) => process.stdout.write(`recorded ${dirs.length} node outputs into ${out}\n`),
    (err: unknown) => {
      process.stderr.write(`record failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
