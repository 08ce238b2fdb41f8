/**
 * Records REAL command outputs from lab nodes into test/fixtures/lab/ (parser and check fixtures):
 * every node of a healthy 3-node lab after pod traffic (so iptables counters are non-zero), and
 * each kernel-level fault on the node that holds it. Writes SOURCES.md with the exact commands and
 * tool versions. Run as root: `node --import tsx lab/record.ts [outDir] [--felix current|legacy]`.
 * The Felix release (#15) picks the lab's rules and iptables backend: `current` (the default)
 * records into test/fixtures/lab/felix-current/, `legacy` into test/fixtures/lab/felix-legacy/
 * (only the healthy nodes and the faults of the set guarding VXLAN). The recordings directly in
 * test/fixtures/lab/ were made before #15: older Felix rules written with iptables-nft.
 * The lab id is fixed (c0de) so namespace names in the outputs are stable between recordings.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, type FelixFlavour, type FelixRelease, type Lab, type LabNode } from './topology.js';
import { FAULTS, injectFault, type FaultKind } from './faults.js';
import { repoRoot } from './spawn.js';
import { cleanupLeftovers } from './cleanup.js';
import type { Argv } from './sh.js';

export const RECORDED_COMMANDS: ReadonlyArray<{ file: string; argv: Argv }> = [
  { file: 'ip-j-d-s-link-show.json', argv: ['ip', '-j', '-d', '-s', 'link', 'show'] },
  { file: 'ip-j-addr-show.json', argv: ['ip', '-j', 'addr', 'show'] },
  { file: 'ip-j-route-show-table-all.json', argv: ['ip', '-j', 'route', 'show', 'table', 'all'] },
  { file: 'ip-j-6-route-show-table-all.json', argv: ['ip', '-j', '-6', 'route', 'show', 'table', 'all'] },
  { file: 'ip-j-neigh-show.json', argv: ['ip', '-j', 'neigh', 'show'] },
  { file: 'bridge-j-fdb-show.json', argv: ['bridge', '-j', 'fdb', 'show'] },
  { file: 'iptables-save-c.txt', argv: ['iptables-save', '-c'] },
  { file: 'ipset-save.txt', argv: ['ipset', 'save'] },
  { file: 'ipset-list.txt', argv: ['ipset', 'list'] },
  {
    file: 'sysctl.txt',
    argv: [
      'sysctl', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.default.rp_filter',
      'net.ipv4.conf.eth0.rp_filter', 'net/ipv4/conf/vxlan.calico/rp_filter', 'net.ipv4.conf.all.forwarding',
    ],
  },
];

/** The commands with `iptables-save` replaced by the lab backend's own save binary. */
export const commandsFor = (flavour: FelixFlavour): ReadonlyArray<{ file: string; argv: Argv }> =>
  RECORDED_COMMANDS.map((c) => (c.argv[0] === 'iptables-save' ? { file: c.file, argv: [flavour.iptablesSave, ...c.argv.slice(1)] } : c));

/** Faults recorded for the older-Felix variant: those of the set guarding VXLAN. */
const LEGACY_FAULTS: readonly FaultKind[] = ['host-not-in-ipset', 'guard-set-flushed', 'encap-drop-input'];

const recordNode = async (lab: Lab, n: LabNode, dir: string): Promise<void> => {
  mkdirSync(dir, { recursive: true });
  for (const c of commandsFor(lab.flavour)) {
    const out = await lab.exec(n.ns, c.argv);
    writeFileSync(join(dir, c.file), out.stdout);
  }
};

const traffic = async (lab: Lab): Promise<void> => {
  for (const a of lab.nodes) {
    for (const b of lab.nodes) {
      if (a !== b) await lab.ping(a.pods[0]!.ns, b.pods[0]!.ip, { count: 3 });
    }
  }
};

const version = async (lab: Lab, argv: Argv): Promise<string> => {
  const r = await lab.sh.try(argv);
  return (r.stdout || r.stderr).trim().split('\n')[0] ?? '';
};

export const record = async (outDir: string, felix: FelixRelease = 'current'): Promise<string[]> => {
  await cleanupLeftovers({ force: false });
  const lab = await createLab({ id: 'c0de', felix });
  const unhook = lab.installExitHooks();
  const written: string[] = [];
  const pings: Array<{ kind: string; description: string; ok: boolean }> = [];
  try {
    await traffic(lab);
    for (const n of lab.nodes) {
      const dir = join(outDir, `healthy-${n.name}`);
      await recordNode(lab, n, dir);
      written.push(dir);
    }
    // Every kernel-level fault, recorded on the node that holds the wrong state, after pod traffic
    // in both directions (so a DROP rule's counter shows the dropped packets).
    const kinds = (Object.keys(FAULTS) as FaultKind[]).filter((k) => k !== 'agent-killed' && k !== 'felix-not-ready' && (felix === 'current' || LEGACY_FAULTS.includes(k)));
    for (const kind of kinds) {
      const fault = await injectFault({ lab }, kind, { node: 'node1', peer: 'node2' });
      try {
        const ok12 = await lab.ping(lab.node('node1').pods[0]!.ns, lab.node('node2').pods[0]!.ip, { count: 2 });
        const ok21 = await lab.ping(lab.node('node2').pods[0]!.ns, lab.node('node1').pods[0]!.ip, { count: 2 });
        pings.push({ kind, description: fault.description, ok: ok12 && ok21 });
        const dir = join(outDir, `${kind}-${fault.expected.node}`);
        await recordNode(lab, lab.node(fault.expected.node), dir);
        written.push(dir);
      } finally {
        await fault.remove();
      }
    }

    const cluster = lab.nodes.map((n) => ({
      name: n.name, nodeIp: n.nodeIp, block: n.block, tunnelIp: n.tunnelIp, vtepMac: n.vtepMac,
      pods: n.pods.map((p) => ({ name: p.name, ip: p.ip, caliIf: p.caliIf })),
    }));
    writeFileSync(join(outDir, 'cluster.json'), `${JSON.stringify({ prefix: lab.prefix, nodes: cluster }, null, 2)}\n`);

    const versions = {
      kernel: await version(lab, ['uname', '-r']),
      ip: await version(lab, ['ip', '-V']),
      bridge: await version(lab, ['bridge', '-V']),
      iptables: await version(lab, [lab.flavour.iptables, '-V']),
      ipset: await version(lab, ['ipset', '-v']),
    };
    writeFileSync(join(outDir, 'SOURCES.md'), sourcesMd(versions, pings, lab));
    return written;
  } finally {
    unhook();
    await lab.teardown();
  }
};

const sourcesMd = (v: Record<string, string>, faults: Array<{ kind: string; description: string; ok: boolean }>, lab: Lab): string => `# test/fixtures/lab — real outputs recorded from the calico-diag namespace lab

License: Apache-2.0 (generated by this project; no third-party text).

How made: \`sudo node --import tsx lab/record.ts <dir> --felix ${lab.flavour.release}\` (lab/record.ts). It builds a 3-node lab with
lab/topology.ts (namespaces ${lab.prefix}-*, each node wired as Felix wires a Calico VXLAN node:
vxlan.calico VNI 4096 dstport 4789 nolearning MTU 1450, VTEP MAC 66:+sha1(nodename)[0:5], tunnel IP
= first address of the node's /26 block, blackhole block proto 80, per peer route/permanent
neighbour/FDB entry, one pod per node behind a cali* veth) with the rules of ${lab.flavour.release === 'current' ? 'current Felix (3.2x): VXLAN accepted from sources in `cali40all-vxlan-net`, then a catch-all DROP of the rest' : 'older Felix: one DROP of VXLAN from sources not in `cali40all-hosts-net`'}
in cali-INPUT, written with the ${lab.flavour.backend} iptables backend (kubelet's KUBE-IPTABLES-HINT chain in its mangle table),
and the set ${'`'}${lab.flavour.guardSet}${'`'} holding every node IP, pings every pod from every other pod (3 echoes each, so iptables counters are non-zero),
then runs each command below inside the node's namespace (\`ip netns exec <ns> <command>\`).

Cases:
- \`healthy-node1/\`, \`healthy-node2/\`, \`healthy-node3/\`: the healthy lab.
- \`<fault>-<node>/\`: one directory per lab fault (lab/faults.ts), injected with node=node1, peer=node2
  and recorded on the node holding the wrong state (\`return-route-missing\` is on node2), after 2 pod
  pings each way; each fault was removed before the next:
${faults.map((f) => `  - \`${f.kind}\`: ${f.description}; pod ping ${f.ok ? 'still worked' : 'failed'}`).join('\n')}
- \`cluster.json\`: the lab's truth (node IP, block, tunnel IP, VTEP MAC, pods) to check against.

Commands (file ← command):
${commandsFor(lab.flavour).map((c) => `- \`${c.file}\` ← \`${c.argv.join(' ')}\``).join('\n')}

Recorded with:
- kernel: ${v.kernel}
- ${v.ip}
- ${v.bridge}
- ${v.iptables}
- ${v.ipset}
- recorded: ${new Date().toISOString().slice(0, 10)}
`;

if (process.argv[1] && /lab\/record\.(ts|js)$/.test(process.argv[1])) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--felix');
  const felix = (at >= 0 ? args.splice(at, 2)[1] : 'current') as FelixRelease;
  if (felix !== 'current' && felix !== 'legacy') throw new Error(`--felix current|legacy, not ${String(felix)}`);
  const out = args[0] ?? join(repoRoot(), 'test', 'fixtures', 'lab', `felix-${felix}`);
  record(out, felix).then(
    (dirs) => process.stdout.write(`recorded ${dirs.length} cases into ${out}\n`),
    (err: unknown) => {
      process.stderr.write(`record failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
