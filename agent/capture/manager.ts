/**
 * Capture manager: runs bounded tcpdump captures on request and keeps their results.
 *
 * Design and concurrency: one capture job at a time per node. `start()` claims the single `active`
 * slot synchronously, before its first await, so two concurrent requests can never both start (the
 * second gets `busy` → HTTP 429). A job runs one tcpdump per requested interface (tcpdump captures
 * one device per process), all through the command runner with timeout = duration + margin, each
 * bounded by `-c maxPackets` and a SIGINT at the duration. Each device stands on its own (#18): a
 * device that cannot be captured (down, missing, renamed) is marked failed with its state from the
 * snapshot while the others go on; the job fails only when no device could be captured. Files live in a private directory
 * (0700), one sub-directory per capture; after every job the oldest captures beyond `keep` or
 * beyond `maxBytes` in total are removed, together with their in-memory entries. Results are
 * decoded with our own pcap parser. The state (jobs map, active slot) belongs to the instance.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CaptureRecord, CaptureRequest, CaptureResult, DeviceCapture, DeviceState } from '../../contract/capture.js';
import type { CommandRunner } from '../exec/runner.js';
import { parsePcap } from '../parsers/pcap.js';
import type { DropTracer } from './drop-reasons.js';
import { buildBpfFilter, buildTcpdumpArgv, FULL_SNAPLEN, headerSnaplen } from './tcpdump-argv.js';

export interface CaptureManagerOptions {
  runner: CommandRunner;
  logger: Logger;
  node: string;
  /** private directory for capture files (created 0700) */
  dir: string;
  /** epoch ms */
  now: () => number;
  /** keep at most this many finished captures (default 8) */
  keep?: number;
  /** and at most this many bytes of capture files in total (default 64 MiB) */
  maxBytes?: number;
  /** tcpdump -Z user; default root when running as root (so it can write into the 0700 dir) */
  tcpdumpUser?: string;
  /** keep whole packets (the agent's --capture-payload); default: headers only (headerSnaplen) */
  fullPayload?: boolean;
  /** interface index → name, for `-i any` (SLL2) captures */
  ifindexNames?: () => Record<number, string>;
  /** extra ms over the capture duration before the runner kills tcpdump (default 3000) */
  marginMs?: number;
  newId?: () => string;
  /** a device's state in the latest snapshot (up/down/missing); a missing one is not started */
  deviceState?: (iface: string) => DeviceState;
  /**
   * what became of a device that could not be opened, from the live links against the last snapshot
   * that showed it (#18): renamed (its index has another name now) or gone; null: neither
   */
  deviceFate?: (iface: string) => Promise<DeviceFate | null>;
  /** a kernel drop-reason tracer for one capture's window (drop-reasons.ts); none: not reported */
  dropTracer?: (id: string) => DropTracer;
}

export interface DeviceFate {
  state: 'renamed' | 'missing';
  /** for the error message, e.g. `renamed to vxlan.old since the snapshot at … (ifindex 5)` */
  message: string;
  renamedTo?: string;
  snapshotAt: string;
}

export type StartResult = { ok: true; id: string } | { ok: false; code: 'busy' | 'invalid'; message: string };

interface DeviceJob {
  iface: string;
  file: string;
  status: DeviceCapture['status'];
  state?: DeviceState;
  error?: { code: string; message: string };
  renamedTo?: string;
  snapshotAt?: string;
}

interface Job {
  result: CaptureResult;
  dir: string;
  files: DeviceJob[];
  /** epoch ms of the start, for retention order */
  startedMs: number;
  /** settles when the job is finished (done or failed) */
  finished: Promise<void>;
}

const fileName = (iface: string) => `${iface.replace(/[^A-Za-z0-9._-]/g, '_')}.pcap`;

export class CaptureManager {
  private readonly jobs = new Map<string, Job>();
  private active: string | null = null;
  private readonly log: Logger;
  private readonly keep: number;
  private readonly maxBytes: number;

  constructor(private readonly o: CaptureManagerOptions) {
    this.log = o.logger.child({ component: 'capture' });
    this.keep = o.keep ?? 8;
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
  }

  get busy(): boolean {
    return this.active !== null;
  }

  /**
   * Starts a capture job; the request must already be validated. `missing`: requested devices the
   * node does not have (they fail alone as DEVICE_MISSING, as do those `deviceState` says missing).
   */
  start(req: CaptureRequest, opts: { missing?: readonly string[] } = {}): StartResult {
    if (this.active !== null) return { ok: false, code: 'busy', message: `capture ${this.active} is still running; one capture at a time per node` };
    const filter = buildBpfFilter(req);
    if (filter === null) return { ok: false, code: 'invalid', message: 'the capture filter could not be built from the request' };
    const id = this.o.newId?.() ?? `cap-${randomBytes(6).toString('hex')}`;
    if (!/^[a-z0-9-]{1,40}$/.test(id)) return { ok: false, code: 'invalid', message: 'bad capture id' };
    const dir = join(this.o.dir, id);
    const files: DeviceJob[] = req.interfaces.map((iface) => ({ iface, file: join(dir, fileName(iface)), status: 'starting' as const }));
    for (const f of files) {
      const state = f.iface === 'any' ? undefined : opts.missing?.includes(f.iface) ? 'missing' : this.o.deviceState?.(f.iface);
      if (state === 'missing') Object.assign(f, { status: 'failed', state, error: { code: 'DEVICE_MISSING', message: `${f.iface}: no such device on this node` } });
    }
    const user = this.o.tcpdumpUser ?? (process.getuid?.() === 0 ? 'root' : undefined);
    const argvs = [];
    for (const f of files) {
      const snaplen = this.o.fullPayload ? FULL_SNAPLEN : headerSnaplen(req);
      const a = buildTcpdumpArgv({ iface: f.iface, file: f.file, maxPackets: req.maxPackets, durationSeconds: req.durationSeconds, filter, snaplen, ...(user ? { user } : {}) });
      if (!a.ok) return { ok: false, code: 'invalid', message: a.message };
      argvs.push(a.argv);
    }
    this.active = id;
    const startedMs = this.o.now();
    const result: CaptureResult = { id, node: this.o.node, status: 'running', request: req, startedAt: new Date(startedMs).toISOString(), warnings: [] };
    const job: Job = { result, dir, files, startedMs, finished: Promise.resolve() };
    this.jobs.set(id, job);
    job.finished = this.run(job, argvs, req).finally(() => {
      this.active = null;
    });
    return { ok: true, id };
  }

  private async run(job: Job, argvs: Array<[string, ...string[]]>, req: CaptureRequest): Promise<void> {
    const timeoutMs = req.durationSeconds * 1000 + (this.o.marginMs ?? 3000);
    try {
      await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
      await chmod(this.o.dir, 0o700);
      await mkdir(job.dir, { mode: 0o700 });
      this.log.info({ capture: { id: job.result.id, interfaces: req.interfaces, durationSeconds: req.durationSeconds } }, 'capture started');
      const records: CaptureRecord[] = [];
      const warnings: string[] = [];
      let packets = 0;
      // #18: a device renamed or gone since the snapshot says so instead of a generic failure
      const fate = async (f: DeviceJob): Promise<void> => {
        if (f.iface === 'any' || !this.o.deviceFate) return;
        const d = await this.o.deviceFate(f.iface).catch(() => null);
        if (!d) return;
        f.state = d.state;
        f.snapshotAt = d.snapshotAt;
        if (d.renamedTo !== undefined) f.renamedTo = d.renamedTo;
        f.error = { code: d.state === 'renamed' ? 'DEVICE_RENAMED' : 'DEVICE_MISSING', message: `${f.iface}: ${d.message}` };
      };
      const fail = async (f: DeviceJob, code: string, message: string): Promise<void> => {
        f.error = { code, message: `${f.iface}: ${message}` };
        const state = f.iface === 'any' ? undefined : this.o.deviceState?.(f.iface);
        if (state) f.state = state;
        if (code === 'CAPTURE_FAILED') await fate(f);
        f.status = 'failed';
      };
      for (const f of job.files) if (f.error?.code === 'DEVICE_MISSING') await fate(f);
      const runDevice = async (f: DeviceJob, argv: [string, ...string[]]): Promise<void> => {
        if (f.status === 'failed') return;
        const run = await this.o.runner({ argv, timeoutMs, maxOutputBytes: 64 * 1024 });
        // timeout(1) exits 124 when it stopped tcpdump at the duration: the normal end of a capture.
        if (!run.ok && run.kind !== 'timeout') return fail(f, run.kind === 'missing-binary' ? 'TCPDUMP_MISSING' : 'CAPTURE_FAILED', run.message);
        // Killed past duration + margin: what it wrote until then is still worth decoding.
        if (!run.ok) warnings.push(`${f.iface}: tcpdump had to be killed after ${timeoutMs} ms; the file may end early`);
        else if (run.exitCode !== 0 && run.exitCode !== 124) {
          const line = run.stderr.trim().split('\n').filter((l) => !/^(listening on|tcpdump: verbose)/.test(l)).pop() ?? '';
          return fail(f, 'CAPTURE_FAILED', `tcpdump exited ${run.exitCode}: ${line.slice(0, 300)}`);
        }
        let bytes: Uint8Array;
        try {
          bytes = await readFile(f.file);
        } catch {
          return fail(f, 'CAPTURE_FAILED', 'tcpdump wrote no capture file');
        }
        const decoded = parsePcap(bytes, { interface: f.iface, ifindexNames: this.o.ifindexNames?.() ?? {}, vxlanPorts: vxlanPortsOf(req) });
        if (!decoded.ok) return fail(f, 'CAPTURE_UNREADABLE', decoded.error.message);
        f.status = 'captured';
        packets += decoded.value.packets;
        records.push(...decoded.value.records);
        warnings.push(...decoded.value.warnings.map((w) => `${f.iface}: ${w}`));
      };
      // The drop-reason tracer is armed for the window and always removed (collect), also on failure.
      const tracer = this.o.dropTracer?.(job.result.id) ?? null;
      await tracer?.arm();
      let drops: CaptureResult['drops'];
      try {
        await Promise.all(job.files.map((f, i) => runDevice(f, argvs[i] as [string, ...string[]])));
      } finally {
        drops = tracer ? await tracer.collect() : undefined;
      }
      if (drops) job.result = { ...job.result, drops };
      records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
      const finishedAt = new Date(this.o.now()).toISOString();
      const failed = job.files.filter((f) => f.status === 'failed');
      for (const f of failed) warnings.push(`${f.error?.message ?? f.iface}${f.state ? ` (device ${f.state})` : ''}`);
      if (failed.length === job.files.length) {
        const failure = failed[0]?.error ?? { code: 'CAPTURE_FAILED', message: 'no device could be captured' };
        job.result = { ...job.result, status: 'failed', finishedAt, error: failure, warnings, records, packets };
        this.log.warn({ capture: { id: job.result.id, error: failure } }, 'capture failed');
      } else {
        job.result = { ...job.result, status: 'done', finishedAt, records, packets, warnings };
        this.log.info({ capture: { id: job.result.id, packets, records: records.length, failedDevices: failed.map((f) => f.iface) } }, 'capture done');
      }
    } catch (err) {
      for (const f of job.files) if (f.status !== 'failed') Object.assign(f, { status: 'failed', error: { code: 'CAPTURE_FAILED', message: (err as Error).message } });
      job.result = { ...job.result, status: 'failed', finishedAt: new Date(this.o.now()).toISOString(), error: { code: 'CAPTURE_FAILED', message: (err as Error).message } };
      this.log.warn({ capture: { id: job.result.id }, err }, 'capture failed');
    }
    await this.prune();
  }

  /**
   * True once every device of the job is settled: its tcpdump has opened it (tcpdump creates its
   * file then) or it failed. Updates each device's status from `starting` to `listening`.
   */
  async listening(id: string): Promise<boolean> {
    const job = this.jobs.get(id);
    if (!job) return false;
    for (const f of job.files) {
      if (f.status !== 'starting') continue;
      if (await stat(f.file).then(() => true, () => false)) f.status = 'listening';
    }
    return job.files.every((f) => f.status !== 'starting');
  }

  get(id: string): CaptureResult | null {
    const job = this.jobs.get(id);
    if (!job) return null;
    const devices: DeviceCapture[] = job.files.map((f) => ({
      interface: f.iface,
      status: f.status,
      ...(f.state ? { state: f.state } : {}),
      ...(f.error ? { error: f.error } : {}),
      ...(f.renamedTo !== undefined ? { renamedTo: f.renamedTo } : {}),
      ...(f.snapshotAt !== undefined ? { snapshotAt: f.snapshotAt } : {}),
    }));
    return { ...job.result, devices };
  }

  /** Waits until the job ends (tests, shutdown). */
  async wait(id: string): Promise<CaptureResult | null> {
    const job = this.jobs.get(id);
    if (!job) return null;
    await job.finished;
    return this.get(id);
  }

  /** The capture file of a finished job for one interface (default: the first). */
  pcapFile(id: string, iface?: string): { file: string; iface: string } | null {
    const job = this.jobs.get(id);
    if (!job || job.result.status === 'running') return null;
    const f = iface === undefined ? job.files[0] : job.files.find((x) => x.iface === iface);
    return f ?? null;
  }

  /** Bounded retention: newest `keep` captures and at most `maxBytes` of files. */
  private async prune(): Promise<void> {
    const finished = [...this.jobs.values()].filter((j) => j.result.status !== 'running').sort((a, b) => b.startedMs - a.startedMs);
    let total = 0;
    const drop: Job[] = [];
    for (const [i, j] of finished.entries()) {
      let size = 0;
      for (const f of j.files) size += await stat(f.file).then((s) => s.size, () => 0);
      total += size;
      if (i >= this.keep || (i > 0 && total > this.maxBytes)) drop.push(j);
    }
    for (const j of drop) {
      this.jobs.delete(j.result.id);
      await rm(j.dir, { recursive: true, force: true });
    }
    // #16: kept captures pushed the agent past its memory limit. Decoded records stay in memory for
    // the newest DECODED_KEPT captures only (a diagnosis reads its capture right after it ends);
    // older ones keep their pcap files (GET …/pcap) and say their records were released.
    for (const j of finished.slice(DECODED_KEPT)) {
      const n = j.result.records?.length ?? 0;
      if (n === 0) continue;
      j.result = { ...j.result, records: [], warnings: [...j.result.warnings, `${n} decoded records released to bound memory; the pcap files are kept`] };
    }
    // Leftovers of an earlier process (ids we do not know) go too.
    const known = new Set(this.jobs.keys());
    const entries = await readdir(this.o.dir).catch(() => [] as string[]);
    for (const e of entries) if (/^cap-/.test(e) && !known.has(e)) await rm(join(this.o.dir, e), { recursive: true, force: true });
  }
}

/** finished captures whose decoded records stay in memory (see prune) */
export const DECODED_KEPT = 2;

const vxlanPortsOf = (req: CaptureRequest): number[] => {
  const ports = req.match.flatMap((m) => (m.kind === 'vxlan' ? [m.port ?? 4789] : []));
  return ports.length > 0 ? ports : [4789];
};
