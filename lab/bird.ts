/**
 * BIRD 1.6 (Debian's `bird`, the line calico-node's BIRD comes from) as the lab's BGP daemon: one
 * process per node namespace with its own control socket, configured the way calico-node's confd
 * renders bird.cfg for a node-to-node mesh:
 *  - `router id` = the node IP; AS 64512 for every node;
 *  - `protocol static`: a blackhole route per block of this node (exported to peers);
 *  - `protocol kernel`: learn, scan time 2, import all, export filter calico_kernel_programming,
 *    graceful restart; the filter keeps pool routes out of the kernel when the pool is VXLAN (Felix
 *    programs those) and lets them in otherwise (no encapsulation: BIRD programs `proto bird`);
 *  - `protocol device` (scan time 2), `protocol direct` (interface -"cali*", "*");
 *  - `template bgp bgp_template`: local as, multihop, gateway recursive, import all, export filter
 *    calico_export_to_bgp_peers (own blocks only), graceful restart, short connect/retry timers;
 *  - one `protocol bgp Mesh_<a>_<b>_<c>_<d> from bgp_template` per peer, `source address` = node
 *    IP, and the lower IP of a pair `passive` (calico's mesh is unidirectional).
 * Rendering is pure (renderBirdConfig); startBird/waitForSessions/birdc do the IO.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNs, type Sh } from './sh.js';
import { spawnInNs, type Daemon } from './spawn.js';

export const CALICO_AS = 64512;

export interface BirdPeer {
  name: string;
  nodeIp: string;
  /** AS this node expects the peer to have (CALICO_AS unless a fault changes it) */
  as?: number;
}

export interface BirdNodeConfig {
  nodeName: string;
  nodeIp: string;
  /** this node's blocks: blackhole static routes, exported to peers */
  blocks: string[];
  /** the IP pool (the export filter accepts only routes inside it) */
  pool: string;
  /**
   * 'vxlan': BIRD must not program pool routes (Felix does); 'none': BIRD programs them; 'ipip':
   * calico-node's BIRD would program them onto tunl0 (the lab does, see kernelTable)
   */
  poolEncapsulation: 'vxlan' | 'none' | 'ipip';
  /**
   * the kernel table BIRD's kernel protocol syncs with (default: main). The IPIP lab (#19) puts it
   * on another table and exports nothing to it: stock BIRD 1.6 cannot install `dev tunl0 onlink`
   * routes, so the lab installs them in main, and BIRD, syncing only its own (empty) table, never
   * prunes them.
   */
  kernelTable?: number;
  peers: BirdPeer[];
  /** blocks left out of the export filter (the "block not exported" fault) */
  unexportedBlocks?: string[];
}

/** Calico's mesh protocol name for a peer IP: Mesh_10_0_0_2. */
export const meshProtocolName = (peerIp: string): string => `Mesh_${peerIp.split('.').join('_')}`;

const ipNum = (ip: string): number => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);

/** bird.cfg for one node (pure). */
export const renderBirdConfig = (c: BirdNodeConfig): string => {
  const unexported = new Set(c.unexportedBlocks ?? []);
  const exported = c.blocks.filter((b) => !unexported.has(b));
  const lines: string[] = [
    `# calico-diag lab: ${c.nodeName}, modelled on calico-node's confd bird.cfg (node-to-node mesh)`,
    `router id ${c.nodeIp};`,
    '',
    'filter calico_export_to_bgp_peers {',
    ...exported.map((b) => `  if ( net = ${b} ) then { accept; }`),
    ...(unexported.size > 0 ? [...unexported].map((b) => `  # ${b} left out (lab fault: block not exported)`) : []),
    `  if ( net ~ ${c.pool} ) then { reject; }`,
    '  reject;',
    '}',
    '',
    'filter calico_kernel_programming {',
    c.poolEncapsulation === 'vxlan'
      ? `  if ( net ~ ${c.pool} ) then { reject; } # VXLAN pool: Felix programs these routes`
      : c.poolEncapsulation === 'ipip'
        ? `  if ( net ~ ${c.pool} ) then { accept; } # IPIP pool: calico-node's BIRD sets krt_tunnel = "tunl0" here`
        : `  if ( net ~ ${c.pool} ) then { accept; } # no encapsulation: BIRD programs pool routes`,
    '  accept;',
    '}',
    '',
    'protocol static {',
    ...c.blocks.map((b) => `  route ${b} blackhole;`),
    '}',
    '',
    'protocol kernel {',
    ...(c.kernelTable !== undefined ? [`  kernel table ${c.kernelTable}; # the lab installs the tunl0 routes in main`] : []),
    '  learn;',
    '  persist;',
    '  scan time 2;',
    '  import all;',
    c.kernelTable !== undefined
      ? '  export none; # its table stays empty: the agent reads every table'
      : '  export filter calico_kernel_programming;',
    '  graceful restart;',
    '  merge paths on;',
    '}',
    '',
    'protocol device {',
    '  scan time 2;',
    '}',
    '',
    'protocol direct {',
    '  debug { states };',
    '  interface -"cali*", -"kube-ipvs*", "*";',
    '}',
    '',
    'template bgp bgp_template {',
    '  debug { states };',
    '  description "Connection to BGP peer";',
    `  local as ${CALICO_AS};`,
    '  multihop;',
    '  gateway recursive;',
    '  import all;',
    '  export filter calico_export_to_bgp_peers;',
    '  add paths on;',
    '  graceful restart;',
    '  connect delay time 1;',
    '  connect retry time 3;',
    '  error wait time 5,60;',
    '}',
    '',
    '# ------------- Node-to-node mesh -------------',
  ];
  for (const p of c.peers) {
    lines.push(
      `# For peer ${p.name}`,
      `protocol bgp ${meshProtocolName(p.nodeIp)} from bgp_template {`,
      `  neighbor ${p.nodeIp} as ${p.as ?? CALICO_AS};`,
      `  source address ${c.nodeIp};`,
      ...(ipNum(p.nodeIp) > ipNum(c.nodeIp) ? ['  passive on; # the peer connects to us'] : []),
      '  graceful restart time 120;',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
};

export interface BirdInstance {
  node: string;
  ns: string;
  configFile: string;
  socket: string;
  pidFile: string;
  daemon: Daemon;
}

export const birdFiles = (runDir: string, node: string): { configFile: string; socket: string; pidFile: string; logFile: string } => ({
  configFile: join(runDir, `bird-${node}.cfg`),
  socket: join(runDir, `bird-${node}.ctl`),
  pidFile: join(runDir, `bird-${node}.pid`),
  logFile: join(runDir, `bird-${node}.log`),
});

/** Writes the config and starts `bird -f -c CONF -s SOCK -P PIDFILE` inside the node's namespace. */
export const startBird = (runDir: string, ns: string, config: BirdNodeConfig): BirdInstance => {
  const f = birdFiles(runDir, config.nodeName);
  writeFileSync(f.configFile, renderBirdConfig(config));
  const daemon = spawnInNs({
    name: `bird-${config.nodeName}`,
    ns,
    argv: ['bird', '-f', '-c', f.configFile, '-s', f.socket, '-P', f.pidFile],
    logFile: f.logFile,
  });
  return { node: config.nodeName, ns, configFile: f.configFile, socket: f.socket, pidFile: f.pidFile, daemon };
};

/** One birdc command over the instance's socket; the text birdc prints. */
export const birdc = async (sh: Sh, b: BirdInstance, ...cmd: string[]): Promise<string> => {
  const r = await sh.must(inNs(b.ns, ['birdc', '-s', b.socket, ...cmd]), { timeoutMs: 10_000 });
  return r.stdout;
};

/** Rewrites the config and has BIRD reload it (`birdc configure`). */
export const reconfigureBird = async (sh: Sh, b: BirdInstance, config: BirdNodeConfig): Promise<void> => {
  writeFileSync(b.configFile, renderBirdConfig(config));
  const out = await birdc(sh, b, 'configure');
  if (!/Reconfigur|Reconfiguration in progress|Reconfigured/i.test(out)) throw new Error(`birdc configure on ${b.node}: ${out.trim()}`);
};

/** Protocol name → state/info from `birdc show protocols` (the text birdc prints). */
export const protocolStates = (text: string): Map<string, { proto: string; state: string; info: string }> => {
  const out = new Map<string, { proto: string; state: string; info: string }>();
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length < 4 || w[0] === 'name' || w[0] === 'BIRD') continue;
    const [name, proto, , state, , ...rest] = w as [string, string, string, string, string, ...string[]];
    out.set(name, { proto, state, info: rest.join(' ') });
  }
  return out;
};

/** Polls until every BGP protocol of every instance is Established (or throws at the deadline). */
export const waitForSessions = async (sh: Sh, birds: BirdInstance[], deadlineMs: number, want: (node: string, proto: string) => boolean = () => true): Promise<void> => {
  const until = Date.now() + deadlineMs;
  for (;;) {
    let all = true;
    let last = '';
    for (const b of birds) {
      const r = await sh.try(inNs(b.ns, ['birdc', '-s', b.socket, 'show', 'protocols']), { timeoutMs: 5000 });
      if (r.exitCode !== 0) {
        all = false;
        last += `${b.node}: birdc failed: ${r.stderr.trim() || r.stdout.trim()}\n`;
        continue;
      }
      for (const [name, p] of protocolStates(r.stdout)) {
        if (p.proto !== 'BGP' || !want(b.node, name)) continue;
        if (!/^Established/.test(p.info)) {
          all = false;
          last += `${b.node}: ${name} ${p.state} ${p.info}\n`;
        }
      }
    }
    if (all) return;
    if (Date.now() > until) throw new Error(`BGP sessions not Established within ${deadlineMs} ms:\n${last}`);
    await new Promise((r) => setTimeout(r, 300));
  }
};
