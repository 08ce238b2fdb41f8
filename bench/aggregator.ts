/**
 * Aggregator benchmark (not a test): `npm run bench:aggregator -- --nodes N [--concurrency C]
 * [--rounds R] [--churn both|full|delta|none] [--restart yes|no] [--out bench/results-aggregator.md] [--server-flags "--flag …"]
 * [--server-env "GLIBC_TUNABLES=… …"]`.
 *
 * Starts the real aggregator (startAggregator: store, engine with the real correlate, fastify app)
 * in a child process listening on 127.0.0.1 only, so its CPU and memory are measured apart from
 * the load generator. The child runs with the node flags and allocator environment the aggregator
 * image uses (its ENTRYPOINT and ENV; `--server-flags "…"` / `--server-env "…"` to try others), not
 * the flags and environment this process was started with.
 * Simulates N nodes of a VXLAN full mesh (bench/aggregator-mesh.ts: per node
 * N−1 routes, neighbours and FDB entries, a block, tunnel IP, VTEP MAC, an all-hosts ipset with N
 * members) posting one full round, then R steady-state rounds where only counters moved (links,
 * iptables, sysctls travel with data; the rest as hashes only), over loopback HTTP with bounded
 * concurrency. Three inconsistencies are injected and must be found: a wrong neighbour MAC, a
 * missing route, a host missing from the all-hosts ipset.
 *
 * Reported: full correlation pass time, server RSS (now and peak), server CPU for one steady round
 * of N reports plus one correlation pass expressed as cores over a 30 s interval, bytes per
 * steady report, and the cost of the full round (what every node joining or leaving costs, since
 * it changes every node's routes/neighbours/FDB/ipset sections).
 *
 * Churn (issue #3, `--churn`, default both): after the steady rounds one node joins (its first,
 * full report is sent apart) and every existing node reports its routes/neighbours/FDB/ipsets one
 * entry longer; then it leaves again. Measured per round: bytes per report and the server's CPU,
 * with the changed sections in full (`full`: the protocol before entry-level deltas) and with
 * entry-level deltas for routes, neighbours, FDB and ipset members (`delta`), both against the same
 * server in the same run.
 *
 * Restart (issue #17, `--restart`, default yes): last, the aggregator is restarted (a new child)
 * and every node re-reports as an agent with chunks does (contract/chunks.ts): hashes only → 409,
 * per-peer lists as chunk hashes → 409 naming the chunks lacking → their data. Measured: the
 * server's CPU for that round, requests and bytes, and the injected faults found by the first pass
 * after it. The opening full round (every report in full) is the same round as older agents make it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import pino from 'pino';
import { chunkBoundaries, type Chunk } from '../contract/chunks.js';
import { computeSplices, ipsetsDelta } from '../contract/delta.js';
import { SECTION_NAMES, type SectionName } from '../contract/snapshot.js';
import type { AggregatorConfig } from '../aggregator/config.js';
import { startAggregator } from '../aggregator/main.js';
import { meshSnapshot, nodeIP, nodeName, peerFdb, peerNeighbour, peerRoute, toReport, type MeshFaults } from './aggregator-mesh.js';

const TOKEN = 'bench-token-not-secret';
const INTERVAL_SECONDS = 30;

// ---------------------------------------------------------------------------------------------
// server side (child process)

/**
 * Where the resident memory is by mapping, from /proc/self/smaps: `fileBacked` is mapped from files
 * (the node binary's code and data); `heapPages` is in anonymous mappings made of whole 256 KiB
 * pages, the unit V8 maps its heap pages in (malloc's arenas and large chunks are not), so
 * `heapPages` minus the spaces' sizes is heap memory V8 holds outside its spaces (pooled pages).
 * Zeros where there is no /proc.
 */
const mappedRss = (): { fileBacked: number; heapPages: number } => {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return { fileBacked: 0, heapPages: 0 };
  }
  let fileBacked = 0;
  let heapPages = 0;
  let kind: 'file' | 'pages' | 'other' = 'other';
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m !== null) {
      const size = parseInt(m[2]!, 16) - parseInt(m[1]!, 16);
      const name = m[3]!;
      kind = name.startsWith('/') ? 'file' : name === '' && size % (256 * 1024) === 0 ? 'pages' : 'other';
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r === null) continue;
    if (kind === 'file') fileBacked += Number(r[1]) * 1024;
    else if (kind === 'pages') heapPages += Number(r[1]) * 1024;
  }
  return { fileBacked, heapPages };
};

const serve = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'calico-diag-bench-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN);
  // staleIntervals is large because the simulated full round can take longer than 3 × 30 s (the
  // simulation is slower than real time): agent-stale would otherwise fire for the first nodes
  const config: AggregatorConfig = { listen: { host: '127.0.0.1', port: 0 }, tokenFile, staleIntervals: 10_000, bodyLimit: 256 * 1024 * 1024, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' };
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const handle = await startAggregator({
    config,
    token: TOKEN,
    logger,
    processMetrics: false,
    // the benchmark runs the passes itself, so each measured interval holds exactly one
    debounceMs: 1e9,
    periodicMs: 1e9,
    extensions: [
      (scope) => {
        scope.post('/v1/bench/pass', async () => {
          const before = process.cpuUsage();
          await handle.engine.trigger();
          const cpu = process.cpuUsage(before);
          return { pass: handle.engine.lastPass(), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
        });
        scope.get('/v1/bench/usage', async () => {
          const cpu = process.cpuUsage();
          const mem = process.memoryUsage();
          const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
          return {
            cpuSeconds: (cpu.user + cpu.system) / 1e6,
            rss: mem.rss,
            heapUsed: mem.heapUsed,
            heapTotal: mem.heapTotal,
            external: mem.external,
            arrayBuffers: mem.arrayBuffers,
            spaces,
            maxRss: process.resourceUsage().maxRSS * 1024,
            ...mappedRss(),
            nodes: handle.store.size,
            interned: handle.store.internedEntries,
          };
        });
        scope.post('/v1/bench/gc', async () => {
          (globalThis as { gc?: () => void }).gc?.();
          return { gc: typeof (globalThis as { gc?: unknown }).gc === 'function' };
        });
      },
    ],
  });
  process.stdout.write(`${JSON.stringify({ address: handle.address })}\n`);
  const stop = async () => {
    await handle.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
};

// ---------------------------------------------------------------------------------------------
// load generator

interface Usage {
  cpuSeconds: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, { size: number; used: number }>;
  maxRss: number;
  fileBacked: number;
  heapPages: number;
  nodes: number;
  interned: number;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Builds report bodies as text, splicing precomputed per-peer JSON into the node's own sections;
 * the text equals JSON.stringify of the report meshSnapshot + toReport would give (checked in
 * test/bench/aggregator.test.ts), so the hashes are the agent's.
 */
export class MeshReports {
  private readonly routes: string[];
  private readonly neighbours: string[];
  private readonly wrongNeighbours: string[];
  private readonly fdb: string[];
  private readonly members: string[];
  private readonly acked = new Map<number, Map<SectionName, string>>();
  /** per node, the membership version its acknowledged per-peer sections were built at */
  private readonly ackedVersion = new Map<number, number>();
  private readonly seqs = new Map<number, number>();
  private readonly peerHashes = new Map<number, Map<SectionName, string>>();
  /** membership versions: the nodes present, ascending (node `n` is the one that can join) */
  private readonly versions: number[][];
  private readonly cuts = new Map<number, Map<(typeof CHUNKED)[number], { entries: string[]; chunks: Chunk[] }>>();

  constructor(
    readonly n: number,
    readonly faults: MeshFaults,
  ) {
    const all = Array.from({ length: n + 1 }, (_, j) => j);
    this.routes = all.map((j) => JSON.stringify(peerRoute(j)));
    this.neighbours = all.map((j) => JSON.stringify(peerNeighbour(j)));
    this.wrongNeighbours = all.map((j) => JSON.stringify(peerNeighbour(j, true)));
    this.fdb = all.map((j) => JSON.stringify(peerFdb(j)));
    this.members = all.map((j) => JSON.stringify(nodeIP(j)));
    this.versions = [all.slice(0, n)];
  }

  /** The nodes in the mesh now. */
  get present(): readonly number[] {
    return this.versions[this.versions.length - 1]!;
  }

  private get version(): number {
    return this.versions.length - 1;
  }

  /** Node `n` joins: every node's per-peer lists gain its entries. Returns its index. */
  join(): number {
    if (this.present.includes(this.n)) throw new Error('node n already joined');
    this.versions.push([...this.present, this.n]);
    this.peerHashes.clear();
    return this.n;
  }

  /** Node `j` leaves: every other node's per-peer lists lose its entries. */
  leave(j: number): void {
    this.versions.push(this.present.filter((x) => x !== j));
    this.peerHashes.clear();
  }

  private has(list: { at: number; peer: number }[] | undefined, i: number, j: number): boolean {
    return list?.some((f) => f.at === i && f.peer === j) ?? false;
  }

  private splice(sectionText: string, entries: string[]): string {
    const body = sectionText.slice(0, -2); // drop "]}"
    if (entries.length === 0) return `${body}]}`;
    return `${body}${body.endsWith('[') ? '' : ','}${entries.join(',')}]}`;
  }

  /** Node `i`'s per-peer entries (JSON texts) at membership `version`. */
  private peerEntries(i: number, version: number): { routes: string[]; neighbours: string[]; fdb: string[]; members: string[] } {
    const present = this.versions[version]!;
    const peers = present.filter((j) => j !== i);
    return {
      routes: peers.filter((j) => !this.has(this.faults.missingRoute, i, j)).map((j) => this.routes[j]!),
      neighbours: peers.map((j) => (this.has(this.faults.wrongNeighbourMac, i, j) ? this.wrongNeighbours[j]! : this.neighbours[j]!)),
      fdb: peers.map((j) => this.fdb[j]!),
      members: present.filter((j) => !this.has(this.faults.missingFromIpset, i, j)).map((j) => this.members[j]!),
    };
  }

  /** Section texts of node `i` in round `round`; with `small`, the per-peer sections are left out. */
  sections(i: number, round: number, small = false): Record<SectionName, string> {
    const s = meshSnapshot(i, this.n, round, this.faults, takenAt(round), true);
    const out = {} as Record<SectionName, string>;
    for (const name of SECTION_NAMES) out[name] = JSON.stringify(s.sections[name]);
    if (small) return out;
    const e = this.peerEntries(i, this.version);
    out.routes = this.splice(out.routes, e.routes);
    out.neighbours = this.splice(out.neighbours, e.neighbours);
    out.fdb = this.splice(out.fdb, e.fdb);
    out.ipsets = this.ipsetsText(i, round, this.version);
    return out;
  }

  /** Node `i`'s ipsets section text at membership `version`. */
  private ipsetsText(i: number, round: number, version: number): string {
    const ipsets = meshSnapshot(i, this.n, round, this.faults, takenAt(round), true).sections.ipsets;
    const members = this.peerEntries(i, version).members;
    if (ipsets.status === 'ok') ipsets.data.caliSetSizes['cali40all-hosts-net'] = members.length;
    return JSON.stringify(ipsets).replace('"members":[]', `"members":[${members.join(',')}]`);
  }

  /**
   * The delta section text (contract/delta.ts) of `name` from the list node `i` had at membership
   * `from` to the one it has now, as the agent's listDelta builds it (one splice per join/leave;
   * the bench always sends the delta, which at these sizes is what listDelta chooses).
   */
  private deltaText(i: number, round: number, name: 'routes' | 'neighbours' | 'fdb', from: number, base: string, hash: string): string {
    const own = (meshSnapshot(i, this.n, round, this.faults, takenAt(round), true).sections[name] as { data: unknown[] }).data.map((x) => JSON.stringify(x));
    const prev = [...own, ...this.peerEntries(i, from)[name]];
    const next = [...own, ...this.peerEntries(i, this.version)[name]];
    const splices = computeSplices(prev, next).map((k) => `{"at":${k.at},"remove":${k.remove},"insert":[${next.slice(k.from, k.from + k.count).join(',')}]}`);
    return `{"hash":"${hash}","delta":{"base":"${base}","splices":[${splices.join(',')}]}}`;
  }

  /**
   * The next report body of node `i`: sections whose hash was acknowledged travel as hash only;
   * with `delta`, changed routes/neighbours/fdb travel as entry-level deltas (issue #3).
   */
  body(i: number, round: number, opts: { full?: boolean; delta?: boolean } = {}): { text: string; hashes: Map<SectionName, string>; version: number } {
    const acked = opts.full ? new Map<SectionName, string>() : (this.acked.get(i) ?? new Map<SectionName, string>());
    // the per-peer sections do not change between rounds: when acknowledged, skip building them
    const known = this.peerHashes.get(i);
    const small = !opts.full && known !== undefined && PEER_SECTIONS.every((name) => acked.get(name) === known.get(name));
    const texts = this.sections(i, round, small);
    const hashes = new Map<SectionName, string>();
    const from = this.ackedVersion.get(i);
    const parts = SECTION_NAMES.map((name) => {
      const h = small && known?.has(name) ? known.get(name)! : sha256(texts[name]);
      if (!small && PEER_SECTIONS.includes(name)) {
        const m = this.peerHashes.get(i) ?? new Map<SectionName, string>();
        m.set(name, h);
        this.peerHashes.set(i, m);
      }
      hashes.set(name, h);
      const base = acked.get(name);
      if (base === h) return `"${name}":{"hash":"${h}"}`;
      if (opts.delta && base !== undefined && from !== undefined && (name === 'routes' || name === 'neighbours' || name === 'fdb')) {
        return `"${name}":${this.deltaText(i, round, name, from, base, h)}`;
      }
      if (opts.delta && base !== undefined && from !== undefined && name === 'ipsets') {
        // the agent's own function: the sets are small next to the lists (one string per node)
        const d = ipsetsDelta(base, JSON.parse(this.ipsetsText(i, round, from)), JSON.parse(texts.ipsets));
        if (d !== null) return `"${name}":${JSON.stringify({ hash: h, delta: d })}`;
      }
      return `"${name}":{"hash":"${h}","data":${texts[name]}}`;
    });
    const seq = (this.seqs.get(i) ?? 0) + 1;
    this.seqs.set(i, seq);
    const shell = toReport(meshSnapshot(i, 0, round, {}, takenAt(round), true), { agentId: `bench-agent-${i}`, seq, intervalSeconds: INTERVAL_SECONDS });
    const text = JSON.stringify({ ...shell, sections: '\u0000SECTIONS\u0000' }).replace('"\\u0000SECTIONS\\u0000"', `{${parts.join(',')}}`);
    return { text, hashes, version: this.version };
  }

  /**
   * Node `i`'s report as an agent sends it to a restarted aggregator after the 409 (issue #17):
   * every section with its data (with `probe`: its hash only) except routes, neighbours and fdb,
   * which travel in chunks (contract/chunks.ts, the agent's own function) with data on the chunk
   * hashes in `want`.
   * The chunk boundaries of a node's lists are kept between its two requests.
   */
  chunkedBody(i: number, round: number, want: ReadonlyMap<string, ReadonlySet<string>>, probe = false): { text: string; hashes: Map<SectionName, string>; version: number } {
    const texts = this.sections(i, round);
    const snap = meshSnapshot(i, this.n, round, this.faults, takenAt(round), true);
    const peers = this.peerEntries(i, this.version);
    const hashes = new Map<SectionName, string>();
    let cut = this.cuts.get(i);
    if (cut === undefined) {
      cut = new Map();
      for (const name of CHUNKED) {
        const entries = [...(snap.sections[name] as { data: unknown[] }).data.map((x) => JSON.stringify(x)), ...peers[name]];
        cut.set(name, { entries, chunks: chunkBoundaries(entries) });
      }
      this.cuts.set(i, cut);
    }
    const parts = SECTION_NAMES.map((name) => {
      const h = sha256(texts[name]);
      hashes.set(name, h);
      const c = (CHUNKED as readonly string[]).includes(name) ? cut.get(name as (typeof CHUNKED)[number]) : undefined;
      if (c === undefined) return probe ? `"${name}":{"hash":"${h}"}` : `"${name}":{"hash":"${h}","data":${texts[name]}}`;
      const w = want.get(name);
      const chunks = c.chunks.map((k) => (w?.has(k.hash) ? `{"hash":"${k.hash}","data":[${c.entries.slice(k.start, k.end).join(',')}]}` : `{"hash":"${k.hash}"}`));
      return `"${name}":{"hash":"${h}","chunks":[${chunks.join(',')}]}`;
    });
    const seq = (this.seqs.get(i) ?? 0) + 1;
    this.seqs.set(i, seq);
    const shell = toReport(meshSnapshot(i, 0, round, {}, takenAt(round), true), { agentId: `bench-agent-${i}`, seq, intervalSeconds: INTERVAL_SECONDS });
    const text = JSON.stringify({ ...shell, sections: '\u0000SECTIONS\u0000' }).replace('"\\u0000SECTIONS\\u0000"', `{${parts.join(',')}}`);
    return { text, hashes, version: this.version };
  }

  /** Forgets node `i`'s chunk boundaries (after its restart round). */
  forgetCuts(i: number): void {
    this.cuts.delete(i);
  }

  /** The aggregator accepted the body built at membership `version` (default: now). */
  ack(i: number, hashes: Map<SectionName, string>, version = this.version): void {
    this.acked.set(i, hashes);
    this.ackedVersion.set(i, version);
  }
}

const PEER_SECTIONS: SectionName[] = ['routes', 'neighbours', 'fdb', 'ipsets'];
const CHUNKED = ['routes', 'neighbours', 'fdb'] as const;

const takenAt = (round: number): string => new Date(Date.parse('2026-01-01T00:00:00.000Z') + round * INTERVAL_SECONDS * 1000).toISOString();

interface Client {
  base: string;
  post(path: string, body: string): Promise<{ status: number; text: string }>;
  get(path: string): Promise<unknown>;
}

let connectionRetries = 0;
export const client = (base: string): Client => ({
  base,
  post: async (path, body) => {
    // like the agent (agent/push.ts): a connection error is retried, here up to twice (a kept-alive
    // socket the server closed as it was reused, or a request the loaded server timed out)
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body });
        return { status: res.status, text: await res.text() };
      } catch (err) {
        if (attempt >= 2) throw err;
        connectionRetries++;
      }
    }
  },
  get: async (path) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  },
});

/** One round: every node posts its report, `concurrency` requests in flight. */
const round = async (
  c: Client,
  mesh: MeshReports,
  r: number,
  concurrency: number,
  full: boolean,
  opts: { delta?: boolean; nodes?: readonly number[] } = {},
): Promise<{ bytes: number[]; byNode: Map<number, number>; retries: number; wallMs: number; statuses: Map<number, number> }> => {
  const nodes = opts.nodes ?? mesh.present;
  const bytes: number[] = [];
  const byNode = new Map<number, number>();
  const statuses = new Map<number, number>();
  let retries = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < nodes.length) {
      const i = nodes[next++]!;
      let b = mesh.body(i, r, { full, ...(opts.delta ? { delta: true } : {}) });
      let res = await c.post('/v1/reports', b.text);
      let sent = Buffer.byteLength(b.text);
      if (res.status === 409 && res.text.includes('SECTIONS_REQUIRED')) {
        retries++;
        b = mesh.body(i, r, { full: true });
        res = await c.post('/v1/reports', b.text);
        sent += Buffer.byteLength(b.text);
      }
      bytes.push(sent);
      byNode.set(i, sent);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 200) mesh.ack(i, b.hashes, b.version);
      else if (statuses.get(res.status) === 1) process.stderr.write(`node ${i}: ${res.status} ${res.text.slice(0, 300)}\n`);
      if (bytes.length % Math.max(1, Math.floor(nodes.length / 10)) === 0) process.stderr.write(`  … ${bytes.length}/${nodes.length} reports, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { bytes, byNode, retries, wallMs: performance.now() - started, statuses };
};

/**
 * The round after an aggregator restart, as agents with chunks (issue #17) make it: each node
 * sends its usual report (hashes only) and gets a 409 for every section; asks with the per-peer
 * lists as chunk hashes and the rest as hashes, and gets a 409 naming the chunks the aggregator
 * lacks; then sends every section with its data, the lists with data on those chunks.
 */
export const restartRound = async (
  c: Client,
  mesh: MeshReports,
  r: number,
  concurrency: number,
): Promise<{ bytes: number[]; requests: number; wallMs: number; statuses: Map<number, number>; chunksSent: number }> => {
  const nodes = mesh.present;
  const bytes: number[] = [];
  const statuses = new Map<number, number>();
  let requests = 0;
  let chunksSent = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < nodes.length) {
      const i = nodes[next++]!;
      let b = mesh.body(i, r);
      let sent = 0;
      let res: { status: number; text: string } = { status: 0, text: '' };
      for (let attempt = 0; attempt < 3; attempt++) {
        res = await c.post('/v1/reports', b.text);
        requests++;
        sent += Buffer.byteLength(b.text);
        if (res.status !== 409) break;
        const body = JSON.parse(res.text) as { chunks?: Record<string, string[]> };
        const want = new Map(Object.entries(body.chunks ?? {}).map(([k, v]) => [k, new Set(v)]));
        for (const v of want.values()) chunksSent += v.size;
        // after the first 409 the agent asks which chunks are lacking (agent/push.ts probe): lists as chunk hashes, the rest as hashes
        b = mesh.chunkedBody(i, r, want, attempt === 0);
      }
      mesh.forgetCuts(i);
      bytes.push(sent);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 200) mesh.ack(i, b.hashes, b.version);
      else if (statuses.get(res.status) === 1) process.stderr.write(`node ${i}: ${res.status} ${res.text.slice(0, 300)}\n`);
      if (bytes.length % Math.max(1, Math.floor(nodes.length / 10)) === 0) process.stderr.write(`  … ${bytes.length}/${nodes.length} nodes, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { bytes, requests, wallMs: performance.now() - started, statuses, chunksSent };
};

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};

const fmtBytes = (b: number): string => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`);
/** V8 heap spaces as "name used/size", largest first (young generation = new_space). */
const spaceSummary = (u: Usage): string =>
  Object.entries(u.spaces)
    .filter(([, v]) => v.size >= 1 << 20)
    .sort((a, b) => b[1].size - a[1].size)
    .map(([k, v]) => `${k} ${fmtBytes(v.used)}/${fmtBytes(v.size)}`)
    .join(', ');
const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * How the aggregator image runs the server (Dockerfile.aggregator): the node flags of its
 * ENTRYPOINT between `node` and the script, and its allocator environment (`ENV GLIBC_TUNABLES=…` /
 * `MALLOC_…`), as bench/agent.ts reads Dockerfile.agent. The server child runs with these, not
 * with the flags and allocator environment the load generator was started with.
 */
export const shippedImage = (): { flags: string[]; env: Record<string, string> } => {
  const file = join(process.cwd(), 'Dockerfile.aggregator');
  const text = readFileSync(file, 'utf8');
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text);
  if (m === null) throw new Error(`${file}: no ENTRYPOINT ["node", …] line`);
  const argv = JSON.parse(m[1]!) as string[];
  const flags: string[] = [];
  // the flags follow `node`, which may come after an init (tini --)
  const nodeAt = argv.findIndex((a) => a === 'node' || a.endsWith('/node'));
  for (const a of argv.slice(nodeAt + 1)) {
    if (!a.startsWith('--')) break;
    flags.push(a);
  }
  const env: Record<string, string> = {};
  for (const e of text.matchAll(/^ENV\s+((?:GLIBC_TUNABLES|MALLOC_[A-Z_]+)=\S+)\s*$/gm)) {
    const [k, v] = (e[1] as string).split(/=(.*)/s) as [string, string];
    env[k] = v;
  }
  return { flags, env };
};

/** The allocator variables of this process's own environment, which the server child must not inherit. */
export const ALLOCATOR_ENV = /^(?:GLIBC_TUNABLES|MALLOC_[A-Z_]+)$/;

const drive = async (): Promise<void> => {
  const n = Number(arg('nodes', '1000'));
  const concurrency = Number(arg('concurrency', '8'));
  const rounds = Number(arg('rounds', '3'));
  const churnArg = arg('churn', 'both');
  if (!['both', 'full', 'delta', 'none'].includes(churnArg)) throw new Error('--churn must be both, full, delta or none');
  const restart = arg('restart', 'yes') !== 'no';
  const churnModes = (churnArg === 'both' ? ['full', 'delta'] : churnArg === 'none' ? [] : [churnArg]) as ('full' | 'delta')[];
  const outFile = arg('out', join(process.cwd(), 'bench/results-aggregator.md'));
  if (!Number.isInteger(n) || n < 8) throw new Error('--nodes must be an integer ≥ 8');

  const faults: MeshFaults = { wrongNeighbourMac: [{ at: 1, peer: 2 }], missingRoute: [{ at: 3, peer: 4 }], missingFromIpset: [{ at: 5, peer: 6 }] };
  const expected = [
    { rule: 'vxlan-neighbor-mac-mismatch', node: nodeName(1), peer: nodeName(2) },
    { rule: 'route-missing', node: nodeName(3), peer: nodeName(4) },
    { rule: 'host-not-in-allowed-set', node: nodeName(5), peer: nodeName(6) },
  ];

  const image = shippedImage();
  const serverFlags = process.argv.includes('--server-flags') ? arg('server-flags', '').split(/\s+/).filter(Boolean) : image.flags;
  // the image's allocator environment; `--server-env "K=V …"` tries another (`--server-env ""`: none)
  const serverEnv = process.argv.includes('--server-env') ? Object.fromEntries(arg('server-env', '').split(/\s+/).filter(Boolean).map((kv) => kv.split(/=(.*)/s, 2) as [string, string])) : image.env;
  const childEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !ALLOCATOR_ENV.test(k))), ...serverEnv };
  const startServer = async () => {
    // --expose-gc only lets the benchmark force the collection before its "after GC" reading
    const proc = spawn(process.execPath, [...serverFlags, '--expose-gc', fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv });
    const at = await new Promise<string>((resolve, reject) => {
      let buf = '';
      proc.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        const line = buf.split('\n').find((l) => l.includes('"address"'));
        if (line) resolve((JSON.parse(line) as { address: string }).address);
      });
      proc.on('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    return { proc, at };
  };
  let { proc: child, at: address } = await startServer();
  let c = client(address);
  const usage = () => c.get('/v1/bench/usage') as Promise<Usage>;
  const log = (s: string) => process.stderr.write(`[bench n=${n}] ${s}\n`);
  try {
    const mesh = new MeshReports(n, faults);
    const u0 = await usage();
    log(`server at ${address}; full round…`);
    const fullRound = await round(c, mesh, 1, concurrency, true);
    const u1 = await usage();
    log(`full round: ${(fullRound.wallMs / 1000).toFixed(1)} s, statuses ${JSON.stringify([...fullRound.statuses])}`);

    const fullPass = (await (await fetch(`${address}/v1/bench/pass`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { pass: { durationMs: number; findings: number }; cpuSeconds: number };
    log(`full correlation pass: ${fullPass.pass.durationMs.toFixed(0)} ms wall, ${(fullPass.cpuSeconds * 1000).toFixed(0)} ms CPU, ${fullPass.pass.findings} findings`);
    const findings = ((await c.get('/v1/findings')) as { findings: { rule: string; node: string; peer?: string }[] }).findings;
    const found = expected.map((e) => ({ ...e, found: findings.some((f) => f.rule === e.rule && f.node === e.node && f.peer === e.peer) }));
    const unexpected = findings.filter((f) => !expected.some((e) => e.rule === f.rule && e.node === f.node && e.peer === f.peer));

    const steady: { cores: number; cpuSeconds: number; ingestCpu: number; passMs: number; passCpuMs: number; bytes: number; wallMs: number; statuses: string }[] = [];
    for (let r = 2; r < 2 + rounds; r++) {
      const before = await usage();
      const res = await round(c, mesh, r, concurrency, false);
      const mid = await usage();
      const pass = (await (await fetch(`${address}/v1/bench/pass`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { pass: { durationMs: number }; cpuSeconds: number };
      const after = await usage();
      const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
      steady.push({ cores: cpuSeconds / INTERVAL_SECONDS, cpuSeconds, ingestCpu: mid.cpuSeconds - before.cpuSeconds, passMs: pass.pass.durationMs, passCpuMs: pass.cpuSeconds * 1000, bytes: avg(res.bytes), wallMs: res.wallMs, statuses: JSON.stringify([...res.statuses]) });
      log(`steady round ${r}: cpu ${cpuSeconds.toFixed(2)} s (${(cpuSeconds / INTERVAL_SECONDS).toFixed(3)} cores), pass ${pass.pass.durationMs.toFixed(0)} ms, ${fmtBytes(avg(res.bytes))}/report`);
    }
    const gc = (await (await fetch(`${address}/v1/bench/gc`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { gc: boolean };
    const uEnd = await usage();

    // churn (issue #3): node n joins, then leaves; every node's routes/neighbours/fdb/ipsets change
    // by one entry. First with the changed sections in full (the protocol before entry-level
    // deltas), then with deltas. Measured over the existing nodes' reports; the joining node's own
    // first report (everything in full) is sent before and not counted.
    const churn: { mode: 'full' | 'delta'; event: 'join' | 'leave'; reports: number; avgBytes: number; totalBytes: number; cpuSeconds: number; wallMs: number; statuses: string; retries: number }[] = [];
    let r = 2 + rounds;
    for (const mode of churnModes) {
      for (const event of ['join', 'leave'] as const) {
        if (event === 'join') {
          const j = mesh.join();
          const first = await round(c, mesh, r, 1, false, { nodes: [j] });
          if (first.statuses.get(200) !== 1) throw new Error(`joining node refused: ${JSON.stringify([...first.statuses])}`);
        } else mesh.leave(mesh.n);
        const nodes = mesh.present.filter((i) => i !== mesh.n);
        const before = await usage();
        const res = await round(c, mesh, r++, concurrency, false, { delta: mode === 'delta', nodes });
        const after = await usage();
        const total = res.bytes.reduce((a, b) => a + b, 0);
        churn.push({ mode, event, reports: nodes.length, avgBytes: total / nodes.length, totalBytes: total, cpuSeconds: after.cpuSeconds - before.cpuSeconds, wallMs: res.wallMs, statuses: JSON.stringify([...res.statuses]), retries: res.retries });
        const c0 = churn[churn.length - 1]!;
        log(`${event} (${mode}): ${fmtBytes(c0.avgBytes)}/report, ${c0.cpuSeconds.toFixed(2)} s server CPU (${((c0.cpuSeconds / nodes.length) * 1000).toFixed(1)} ms/report), ${(c0.wallMs / 1000).toFixed(1)} s wall, ${c0.statuses}, ${c0.retries} 409 retries`);
      }
    }
    // issue #17: the aggregator restarts; agents that hold acknowledged hashes and send chunks
    let restarted: { cpuSeconds: number; wallMs: number; passWallMs: number; passCpuMs: number; bytes: number[]; requests: number; chunksSent: number; statuses: string; found: typeof found; unexpected: number; rss: number; heapUsed: number; maxRss: number } | null = null;
    if (restart) {
      log('restarting the aggregator…');
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      ({ proc: child, at: address } = await startServer());
      c = client(address);
      const before = await usage();
      const res = await restartRound(c, mesh, r++, concurrency);
      const mid = await usage();
      const pass = (await (await fetch(`${address}/v1/bench/pass`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { pass: { durationMs: number }; cpuSeconds: number };
      const after = await usage();
      const fs = ((await c.get('/v1/findings')) as { findings: { rule: string; node: string; peer?: string }[] }).findings;
      await fetch(`${address}/v1/bench/gc`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      const uGc = await usage();
      restarted = {
        cpuSeconds: mid.cpuSeconds - before.cpuSeconds,
        wallMs: res.wallMs,
        passWallMs: pass.pass.durationMs,
        passCpuMs: (after.cpuSeconds - mid.cpuSeconds) * 1000,
        bytes: res.bytes,
        requests: res.requests,
        chunksSent: res.chunksSent,
        statuses: JSON.stringify([...res.statuses]),
        found: expected.map((e) => ({ ...e, found: fs.some((f) => f.rule === e.rule && f.node === e.node && f.peer === e.peer) })),
        unexpected: fs.filter((f) => !expected.some((e) => e.rule === f.rule && e.node === f.node && e.peer === f.peer)).length,
        rss: uGc.rss,
        heapUsed: uGc.heapUsed,
        maxRss: uGc.maxRss,
      };
      log(`restart round: ${restarted.cpuSeconds.toFixed(1)} s server CPU, ${(res.wallMs / 1000).toFixed(1)} s wall, ${res.requests} requests, ${res.chunksSent} chunks sent, ${restarted.statuses}; pass ${restarted.passCpuMs.toFixed(0)} ms CPU`);
    }
    const churnLabel = (m: 'full' | 'delta') => (m === 'full' ? 'changed sections in full (before)' : 'entry-level deltas (after)');

    const last = steady[steady.length - 1]!;
    const lines = [
      `## N = ${n} nodes (VXLAN full mesh)`,
      '',
      `Command: \`npm run bench:aggregator -- --nodes ${n} --concurrency ${concurrency} --rounds ${rounds}${churnArg === 'both' ? '' : ` --churn ${churnArg}`}\` (${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, ${(await import('node:os')).cpus()[0]?.model ?? 'cpu'}); aggregator child: \`${Object.entries(serverEnv).map(([k, v]) => `${k}=${v} `).join('')}node ${[...serverFlags, '--expose-gc'].join(' ')}\` (${process.argv.includes('--server-flags') ? 'flags given with --server-flags' : "Dockerfile.aggregator's ENTRYPOINT flags"}${process.argv.includes('--server-env') ? ', environment given with --server-env' : ', its ENV allocator settings'})`,
      '',
      '| measure | value | goal |',
      '|---|---|---|',
      `| full correlation pass (first pass after the full round) | ${fullPass.pass.durationMs.toFixed(0)} ms wall, ${(fullPass.cpuSeconds * 1000).toFixed(0)} ms CPU | ≤ 2 s at 5000 |`,
      `| correlation pass, steady state (last round) | ${last.passMs.toFixed(0)} ms wall, ${last.passCpuMs.toFixed(0)} ms CPU | |`,
      `| server CPU per steady interval (one round of ${n} steady reports + one pass) | ${last.cpuSeconds.toFixed(2)} s = ${last.cores.toFixed(3)} cores over 30 s (ingest ${last.ingestCpu.toFixed(2)} s) | ≤ 0.5 core |`,
      `| bytes per steady-state report | ${fmtBytes(last.bytes)} (${Math.round(last.bytes)} B) | small |`,
      `| server RSS after steady rounds${gc.gc ? ' (after GC)' : ''} | ${fmtBytes(uEnd.rss)} (heap used ${fmtBytes(uEnd.heapUsed)}) | ≤ 1.5 GiB |`,
      `| where the RSS is (after GC) | V8 heap ${fmtBytes(uEnd.heapTotal)} reserved (${spaceSummary(uEnd)}); typed arrays and other external memory ${fmtBytes(uEnd.external)} (array buffers ${fmtBytes(uEnd.arrayBuffers)}); rest (code, stacks, malloc free lists) ${fmtBytes(uEnd.rss - uEnd.heapTotal - uEnd.external)}, of which mapped from files (the node binary) ${fmtBytes(uEnd.fileBacked)}; anonymous 256 KiB-page mappings (V8's heap pages, pooled ones included) ${fmtBytes(uEnd.heapPages)} | |`,
      `| server peak RSS (during the full round) | ${fmtBytes(uEnd.maxRss)} | |`,
      `| full round: ${n} full reports | avg ${fmtBytes(avg(fullRound.bytes))}/report, ${(fullRound.wallMs / 1000).toFixed(1)} s wall, ${(u1.cpuSeconds - u0.cpuSeconds).toFixed(1)} s server CPU (${(((u1.cpuSeconds - u0.cpuSeconds) / n) * 1000).toFixed(0)} ms/report) | |`,
      `| interned per-peer entries | ${uEnd.interned} | |`,
      `| injected faults found | ${found.filter((f) => f.found).length}/${found.length}: ${found.map((f) => `${f.rule} ${f.node}→${f.peer} ${f.found ? 'found' : 'MISSED'}`).join('; ')} | all |`,
      `| other findings | ${unexpected.length}${unexpected.length ? `: ${[...new Set(unexpected.map((f) => f.rule))].join(', ')}` : ''} | 0 |`,
      ...churn.map(
        (c0) =>
          `| node ${c0.event === 'join' ? 'joins' : 'leaves'}, ${churnLabel(c0.mode)}: ${c0.reports} reports | avg ${fmtBytes(c0.avgBytes)}/report (${Math.round(c0.avgBytes)} B; ${fmtBytes(c0.totalBytes)} in all), ${c0.cpuSeconds.toFixed(2)} s server CPU (${((c0.cpuSeconds / c0.reports) * 1000).toFixed(1)} ms/report), ${(c0.wallMs / 1000).toFixed(1)} s wall, ${c0.statuses}, ${c0.retries} 409 | |`,
      ),
      ...(restarted
        ? [
            `| restart round (issue #17): ${n} nodes re-report to a restarted aggregator, per-peer lists in chunks | ${restarted.cpuSeconds.toFixed(1)} s server CPU (${((restarted.cpuSeconds / n) * 1000).toFixed(1)} ms/node) + first pass ${restarted.passCpuMs.toFixed(0)} ms CPU; ${(restarted.wallMs / 1000).toFixed(1)} s wall; ${restarted.requests} requests, avg ${fmtBytes(avg(restarted.bytes))}/node, ${restarted.chunksSent} chunks with data; ${restarted.statuses} | ≤ 60 s CPU |`,
            `| after the restart round | faults found ${restarted.found.filter((f) => f.found).length}/${restarted.found.length}, other findings ${restarted.unexpected}; RSS ${fmtBytes(restarted.rss)} after GC (heap used ${fmtBytes(restarted.heapUsed)}), peak ${fmtBytes(restarted.maxRss)} | all found |`,
          ]
        : []),
      `| steady rounds | ${steady.map((s) => `${s.cores.toFixed(3)} cores / pass ${s.passMs.toFixed(0)} ms (${s.passCpuMs.toFixed(0)} ms CPU) / ${(s.wallMs / 1000).toFixed(1)} s wall / ${s.statuses}`).join('; ')} | |`,
      '',
      `Connection errors retried by the load generator: ${connectionRetries}.`,
      '',
      `Machine: ${(await import('node:os')).cpus().length} CPUs, load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)} at the end (the machine may be shared with other work, which inflates wall-clock figures); CPU figures are the server process's own (process.cpuUsage in the aggregator child).`,
      '',
    ];
    const section = lines.join('\n');
    process.stdout.write(`${section}\n`);
    let existing = '';
    try {
      existing = readFileSync(outFile, 'utf8');
    } catch {
      existing = '# Aggregator benchmark results\n\nWritten by bench/aggregator.ts; one section per node count (a rerun replaces its section).\n\n';
    }
    const re = new RegExp(`## N = ${n} nodes[\\s\\S]*?(?=\\n## |$)`);
    const updated = re.test(existing) ? existing.replace(re, section) : `${existing.trimEnd()}\n\n${section}`;
    writeFileSync(outFile, `${updated.trimEnd()}\n`);
    log(`written to ${outFile}`);
    if (found.some((f) => !f.found) || restarted?.found.some((f) => !f.found)) process.exitCode = 2;
  } finally {
    child.kill('SIGTERM');
  }
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--serve')) await serve();
  else await drive();
}
