/**
 * Kernel drop reasons during a capture window (#18): the kernel's `skb:kfree_skb` tracepoint,
 * armed through tracefs in an instance of our own, filtered, and removed afterwards.
 *
 * Kernels ≥ 5.17 give every freed-as-dropped packet a reason (OTHERHOST, NETFILTER_DROP,
 * IP_RPFILTER, NO_SOCKET, PKT_TOO_BIG, …) and the kernel location that dropped it. The tracer:
 *   arm():     mkdir <tracefs>/instances/calico-diag-<id>; set a small buffer; filter the event to
 *              IPv4/IPv6 packets with a real reason (reason > NOT_SPECIFIED); enable it
 *   collect(): disable the event, read the instance's `trace`, count by (reason, location), and
 *              remove the instance — always, also when reading failed
 * The event is kernel-wide (every network namespace of the host): the counts are "dropped on this
 * node's kernel during the window", not per packet of the probe. The root tracing instance is never
 * touched. All file IO goes through `TraceFs` so unit tests inject a fake; parsing is pure.
 */
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DropReasons } from '../../contract/capture.js';

export interface TraceFs {
  readdir(path: string): Promise<string[]>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<string>;
  writeFile(path: string, data: string): Promise<void>;
}

export const nodeTraceFs: TraceFs = {
  readdir: (p) => readdir(p),
  mkdir: async (p) => {
    await mkdir(p);
  },
  rmdir: (p) => rmdir(p),
  readFile: (p) => readFile(p, 'utf8'),
  writeFile: (p, d) => writeFile(p, d),
};

/** ETH_P_IP and ETH_P_IPV6 as the tracepoint records them (host order). */
export const KFREE_SKB_FILTER = 'reason > 2 && (protocol == 2048 || protocol == 34525)';
/** per-CPU ring of the instance: plenty for a few seconds of drops, bounded memory */
const BUFFER_KB = 512;
/** at most this many (reason, location) pairs are reported, the most frequent first */
export const MAX_DROP_ENTRIES = 20;

/**
 * Counts `kfree_skb` lines of a tracefs `trace` file by (reason, location); the location loses its
 * offset (`ip_rcv_core+0x1b4/0x330` → `ip_rcv_core`). Pure; lines it does not understand are skipped.
 */
export const parseKfreeSkbTrace = (text: string): { counts: Array<{ reason: string; location: string; count: number }>; total: number } => {
  const byKey = new Map<string, { reason: string; location: string; count: number }>();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /\bkfree_skb: .*?\blocation=(\S+)\s+reason: ([A-Z0-9_]+)/.exec(line);
    if (!m) continue;
    const location = (m[1] as string).replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/, '').slice(0, 80);
    const reason = m[2] as string;
    total++;
    const key = `${reason} ${location}`;
    const e = byKey.get(key) ?? { reason, location, count: 0 };
    e.count++;
    byKey.set(key, e);
  }
  const counts = [...byKey.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason) || a.location.localeCompare(b.location));
  return { counts: counts.slice(0, MAX_DROP_ENTRIES), total };
};

const why = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'not found';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  if (e?.code === 'EROFS') return 'read-only file system';
  return (e?.code ?? e?.message ?? String(err)).slice(0, 120);
};

const PREFIX = 'calico-diag-';
const OWNER = /^[a-z0-9]{1,16}$/;

/**
 * Removes the instances an earlier run of this agent left behind (killed mid-capture): only names
 * with this owner's tag, listed before any new capture starts. Returns how many it removed.
 */
export const removeStaleInstances = async (fs: TraceFs, root: string, owner: string): Promise<number> => {
  if (!OWNER.test(owner)) return 0;
  const dir = join(root, 'instances');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const n of names) {
    if (!n.startsWith(`${PREFIX}${owner}-`)) continue;
    await fs.writeFile(join(dir, n, 'events', 'skb', 'kfree_skb', 'enable'), '0').catch(() => undefined);
    await fs.rmdir(join(dir, n)).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
};

export class DropTracer {
  private readonly instance: string;
  private armed = false;
  private created = false;
  private unavailable: string | null = null;

  /** `owner`: a short tag of this agent (its node), so it can find its own leftovers again */
  constructor(
    private readonly fs: TraceFs,
    private readonly root: string,
    id: string,
    owner?: string,
  ) {
    if (!/^[a-z0-9-]{1,40}$/.test(id)) throw new Error('bad tracer id');
    if (owner !== undefined && !OWNER.test(owner)) throw new Error('bad tracer owner');
    this.instance = join(root, 'instances', `${PREFIX}${owner ? `${owner}-` : ''}${id}`);
  }

  private get event(): string {
    return join(this.instance, 'events', 'skb', 'kfree_skb');
  }

  /** Arms the tracepoint; on any failure nothing stays behind and collect() says why. */
  async arm(): Promise<void> {
    try {
      const format = await this.fs.readFile(join(this.root, 'events', 'skb', 'kfree_skb', 'format')).catch((err: unknown) => {
        throw new Error(`tracefs at ${this.root}: skb:kfree_skb ${why(err)} (tracefs not mounted into the agent, or no permission)`);
      });
      if (!/\bfield:enum skb_drop_reason reason;|\bfield:[^;]*\breason;/.test(format)) {
        this.unavailable = 'this kernel reports no drop reason on skb:kfree_skb (needs Linux ≥ 5.17)';
        return;
      }
      await this.fs.mkdir(this.instance).catch((err: unknown) => {
        throw new Error(`cannot create a tracing instance: ${why(err)}`);
      });
      this.created = true;
      await this.fs.writeFile(join(this.instance, 'buffer_size_kb'), String(BUFFER_KB)).catch(() => undefined);
      await this.fs.writeFile(join(this.event, 'filter'), KFREE_SKB_FILTER).catch((err: unknown) => {
        throw new Error(`the kernel refused the skb:kfree_skb filter: ${why(err)}`);
      });
      await this.fs.writeFile(join(this.event, 'enable'), '1').catch((err: unknown) => {
        throw new Error(`cannot enable skb:kfree_skb: ${why(err)}`);
      });
      this.armed = true;
    } catch (err) {
      this.unavailable = (err as Error).message.slice(0, 300);
      await this.remove();
    }
  }

  /** Disables, reads and counts, and removes the instance (always). */
  async collect(): Promise<DropReasons> {
    try {
      if (!this.armed) return { available: false, counts: [], total: 0, why: this.unavailable ?? 'the tracepoint was not armed' };
      await this.fs.writeFile(join(this.event, 'enable'), '0');
      const text = await this.fs.readFile(join(this.instance, 'trace'));
      return { available: true, ...parseKfreeSkbTrace(text) };
    } catch (err) {
      return { available: false, counts: [], total: 0, why: `reading the trace failed: ${why(err)}` };
    } finally {
      await this.remove();
    }
  }

  private async remove(): Promise<void> {
    if (!this.created) return;
    if (this.armed) await this.fs.writeFile(join(this.event, 'enable'), '0').catch(() => undefined);
    this.armed = false;
    await this.fs.rmdir(this.instance).then(
      () => {
        this.created = false;
      },
      () => undefined,
    );
  }
}
