/**
 * Reporting to the aggregator (POST /v1/reports, contract/report.ts).
 *
 * Design:
 * - `offer(result)` is called by the snapshot loop after every snapshot and returns at once: it
 *   only replaces the pending result (the latest wins; reports are never queued) and kicks the
 *   sender if it is idle and not backing off. The loop is never blocked and never sees an error.
 * - Delta: every section travels as `{hash}`; its data is added when the hash differs from the one
 *   in the last ACCEPTED report (`acked`). The first report after start therefore carries
 *   everything. A 409 SECTIONS_REQUIRED (e.g. the aggregator restarted) forgets those sections'
 *   acks and resends at once with them in full; a second 409 in a row sends everything; a third
 *   counts as a failure.
 * - Entry-level delta (issue #3, contract/delta.ts): for routes, neighbours, fdb and ipsets the
 *   agent also keeps the data of the last accepted section (`ackedData`, a reference to that
 *   snapshot's section, never copied). A changed section then travels as splices of that data when that is
 *   much smaller than the section in full. The new data becomes the base only once a report
 *   carrying it was accepted; a 409 for a section forgets its base (it is then sent in full).
 * - Failures (unreachable, timeout, 5xx, other 4xx) back off exponentially with full jitter:
 *   delay = random() × min(cap, base × 2^(failures−1)), base = a quarter of the snapshot interval,
 *   cap = one interval. The cap is what brings the cluster view back quickly: whatever the length of
 *   an aggregator outage, every live agent retries within one interval of it ending, so each has
 *   reported within two (#16). The jitter spreads a whole cluster's retries over that interval.
 *   While backing off, newer results replace the pending one; when the timer fires, the latest is
 *   sent.
 * - Every request has a timeout (AbortSignal) so a hanging aggregator cannot wedge the sender.
 *   A connection error is retried once at once (a kept-alive socket to a restarted aggregator).
 * - Chunks (issue #17, contract/chunks.ts): a big routes/neighbours/fdb list that must go whole
 *   (first report, after a 409, no delta possible) travels as chunk hashes; the aggregator's 409
 *   names the chunks it lacks and the next request carries data on those only. After a 409 that
 *   names such a list (an aggregator restart), the next request only asks: the lists as chunk
 *   hashes, every other section as its hash, so the sections travel (and are parsed) once, in the
 *   request after, with the chunks' data. When an aggregator
 *   asks for a section in full that was sent in chunks (one that predates chunks), that section
 *   travels with its data from then on, for the life of this process.
 * Concurrency: at most one request in flight (`sending`), at most one backoff timer. All state is
 * in this closure; `stop()` clears the timer and aborts the request in flight.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CheckStatus, Finding } from '../contract/finding.js';
import { CHUNK_SECTIONS, chunkable as longEnough, chunkedSection, type ChunkSectionName } from '../contract/chunks.js';
import { DELTA_SECTIONS, sectionDelta, type DeltaSectionName } from '../contract/delta.js';
import { hashSection } from '../contract/hash.js';
import { perObject } from '../common/memo.js';
import { ReportAccepted, SectionsRequired, type Report } from '../contract/report.js';
import { SECTION_NAMES, type SectionName, type Snapshot } from '../contract/snapshot.js';
import type { PushOutcome } from './metrics.js';

export interface PushPayload {
  snapshot: Snapshot;
  checks: CheckStatus[];
  findings: Finding[];
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface PusherDeps {
  aggregatorUrl: string;
  token: () => string;
  node: string;
  intervalSeconds: number;
  agentVersion: string;
  /** the URL the aggregator reaches this agent on: fixed, or derived from each snapshot */
  advertiseUrl?: string | ((snapshot: Snapshot) => string | undefined);
  /** epoch ms */
  now: () => number;
  /** [0, 1) */
  random?: () => number;
  timers?: Timers;
  fetch?: typeof fetch;
  requestTimeoutMs?: number;
  backoffCapMs?: number;
  logger: Logger;
  onOutcome?: (outcome: PushOutcome) => void;
  /** called with the key the aggregator gave in answer to an accepted report (node identities) */
  onAgentKey?: (key: string) => void;
  agentId?: string;
}

export interface Pusher {
  offer(payload: PushPayload): void;
  stop(): Promise<void>;
  /** Resolves when the sender is idle (nothing in flight); for tests and shutdown. */
  idle(): Promise<void>;
  readonly agentId: string;
  state(): { failures: number; backingOff: boolean; lastOutcome: PushOutcome | null; seq: number };
}

/** Full-jitter exponential backoff (AWS architecture blog): random × min(cap, base × 2^(n−1)). */
export const backoffDelayMs = (failures: number, baseMs: number, capMs: number, random: () => number): number =>
  failures <= 0 ? 0 : Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 30)));

/**
 * hashSection, once per section object (#17: daemon cost). The daemon offers every snapshot, and
 * every second one reuses the iptables and ipsets sections of the one before (the same objects,
 * agent/main.ts daemonCollectors): re-serialising a big node's 7 MB iptables section to hash it
 * again would cost ~0.1 s a snapshot. Sections are never mutated once taken.
 */
const sectionHash = perObject((section: object): string => hashSection(section));

const DELTA_SET: ReadonlySet<SectionName> = new Set(DELTA_SECTIONS);
const CHUNK_SET: ReadonlySet<SectionName> = new Set(CHUNK_SECTIONS);

/**
 * How big lists travel when they must go whole (issue #17, contract/chunks.ts): `chunked` names
 * the sections sent in chunks (data on the chunk hashes in `want`, none when absent); a section
 * not named travels with its data.
 */
export interface Chunking {
  chunked: ReadonlySet<SectionName>;
  want: ReadonlyMap<SectionName, ReadonlySet<string>>;
  /**
   * Ask first which chunks the aggregator lacks: every section not sent in chunks travels as its
   * hash only, so this request is small and the sections travel once, with the chunks' data.
   */
  probe?: boolean;
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/**
 * Builds a report; sections whose hash equals `acked` travel without data unless listed in `full`.
 * A changed delta section (routes, neighbours, fdb, ipsets) whose acknowledged data is in
 * `ackedData` travels as a delta from it when that is much smaller (contract/delta.ts).
 */
export const buildReport = (
  p: PushPayload,
  meta: { agentId: string; seq: number; agentVersion: string; intervalSeconds: number; sentAt: string; advertiseUrl?: string },
  acked: ReadonlyMap<SectionName, string>,
  full: ReadonlySet<SectionName> | 'all',
  ackedData: ReadonlyMap<SectionName, unknown> = new Map(),
  chunking: Chunking = { chunked: new Set(), want: new Map() },
): Report => {
  const sections = {} as Record<SectionName, { hash: string; data?: unknown; delta?: unknown }>;
  for (const name of SECTION_NAMES) {
    const data = p.snapshot.sections[name];
    const hash = sectionHash(data);
    const forced = full === 'all' || full.has(name);
    const base = acked.get(name);
    if (!forced && base === hash) {
      sections[name] = { hash };
      continue;
    }
    const delta = !forced && base !== undefined && DELTA_SET.has(name) && ackedData.has(name) ? sectionDelta(name as DeltaSectionName, base, ackedData.get(name), data) : null;
    const chunked = delta === null && chunking.chunked.has(name) ? chunkedSection(hash, data, chunking.want.get(name)) : null;
    sections[name] = delta ? { hash, delta } : chunked ? chunked : chunking.probe ? { hash } : { hash, data };
  }
  return {
    schemaVersion: 1,
    node: p.snapshot.node,
    agentId: meta.agentId,
    seq: meta.seq,
    agentVersion: meta.agentVersion,
    intervalSeconds: meta.intervalSeconds,
    takenAt: p.snapshot.takenAt,
    sentAt: meta.sentAt,
    mode: p.snapshot.mode,
    identity: p.snapshot.identity,
    sections: sections as Report['sections'],
    checks: p.checks,
    findings: p.findings,
    ...(meta.advertiseUrl ? { agentUrl: meta.advertiseUrl } : {}),
  };
};

type Attempt =
  | { kind: 'accepted' }
  | { kind: 'sections-required'; sections: SectionName[]; chunks: Partial<Record<ChunkSectionName, string[]>> }
  | { kind: 'failed'; outcome: Exclude<PushOutcome, 'accepted' | 'sections-required'>; detail: string; status?: number };

export const createPusher = (deps: PusherDeps): Pusher => {
  const log = deps.logger;
  const random = deps.random ?? Math.random;
  const timers: Timers = deps.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  const doFetch = deps.fetch ?? fetch;
  const requestTimeoutMs = deps.requestTimeoutMs ?? 10_000;
  const intervalMs = deps.intervalSeconds * 1000;
  const baseMs = Math.max(250, intervalMs / 4);
  const capMs = Math.max(baseMs, deps.backoffCapMs ?? intervalMs);
  const agentId = deps.agentId ?? randomBytes(12).toString('hex');
  const url = new URL('/v1/reports', deps.aggregatorUrl).toString();

  const acked = new Map<SectionName, string>();
  /** sections an aggregator asked for in full after they were sent in chunks: it does not take chunks */
  const noChunks = new Set<SectionName>();
  /** the data of the acknowledged delta sections (the base of the next delta) */
  const ackedData = new Map<SectionName, unknown>();
  let seq = 0;
  let pending: PushPayload | null = null;
  let sending: Promise<void> | null = null;
  let timer: unknown = null;
  let failures = 0;
  let lastOutcome: PushOutcome | null = null;
  let stopped = false;
  const inflight = new AbortController();

  const record = (o: PushOutcome) => {
    lastOutcome = o;
    deps.onOutcome?.(o);
  };

  const post = async (report: Report): Promise<Attempt> => {
    const body = JSON.stringify(report);
    let res: Response | null = null;
    let text = '';
    // A kept-alive connection to an aggregator that has restarted fails at once ("other side
    // closed"): one immediate retry on a fresh connection, then it counts as unreachable.
    for (let attempt = 0; attempt < 2 && res === null; attempt++) {
      const signal = AbortSignal.any([AbortSignal.timeout(requestTimeoutMs), inflight.signal]);
      try {
        res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${deps.token()}` },
          body,
          signal,
        });
        text = await res.text();
      } catch (err) {
        res = null;
        const e = err as Error;
        const timedOut = e.name === 'TimeoutError' || (e.name === 'AbortError' && !inflight.signal.aborted);
        if (timedOut) return { kind: 'failed', outcome: 'timeout', detail: `no answer within ${requestTimeoutMs} ms` };
        if (attempt === 1 || inflight.signal.aborted) {
          return { kind: 'failed', outcome: 'unreachable', detail: (e.cause as Error | undefined)?.message ?? e.message };
        }
      }
    }
    if (res === null) return { kind: 'failed', outcome: 'unreachable', detail: 'no response' };
    if (res.status >= 200 && res.status < 300) {
      const accepted = ReportAccepted.safeParse(safeJson(text));
      if (accepted.success && accepted.data.agentKey) deps.onAgentKey?.(accepted.data.agentKey);
      return { kind: 'accepted' };
    }
    if (res.status === 409) {
      const sr = SectionsRequired.safeParse(safeJson(text));
      if (sr.success) return { kind: 'sections-required', sections: sr.data.sections, chunks: sr.data.chunks ?? {} };
    }
    const outcome = res.status >= 500 ? 'server-error' : 'rejected';
    return { kind: 'failed', outcome, status: res.status, detail: text.slice(0, 500) };
  };

  /** Sends one payload: up to three requests when the aggregator asks for sections. */
  const sendOne = async (p: PushPayload): Promise<boolean> => {
    let full: Set<SectionName> | 'all' = new Set();
    const want = new Map<SectionName, ReadonlySet<string>>();
    const chunkable = new Set<SectionName>(CHUNK_SECTIONS.filter((n) => !noChunks.has(n)));
    let probe = false;
    const advertiseUrl = typeof deps.advertiseUrl === 'function' ? deps.advertiseUrl(p.snapshot) : deps.advertiseUrl;
    for (let attempt = 0; attempt < 3; attempt++) {
      const report = buildReport(
        p,
        { agentId, seq: seq++, agentVersion: deps.agentVersion, intervalSeconds: deps.intervalSeconds, sentAt: new Date(deps.now()).toISOString(), ...(advertiseUrl ? { advertiseUrl } : {}) },
        acked,
        full,
        ackedData,
        { chunked: chunkable, want, probe },
      );
      const r = await post(report);
      if (r.kind === 'accepted') {
        for (const name of SECTION_NAMES) acked.set(name, report.sections[name].hash);
        for (const name of DELTA_SECTIONS) ackedData.set(name, p.snapshot.sections[name]);
        record('accepted');
        log.debug(
          {
            report: {
              seq: report.seq,
              withData: SECTION_NAMES.filter((n) => report.sections[n].data !== undefined),
              asDelta: DELTA_SECTIONS.filter((n) => (report.sections[n] as { delta?: unknown }).delta !== undefined),
            },
          },
          'report accepted',
        );
        return true;
      }
      if (r.kind === 'sections-required') {
        record('sections-required');
        log.info({ report: { seq: report.seq, sections: r.sections } }, 'aggregator asked for sections in full');
        for (const name of r.sections) {
          acked.delete(name);
          ackedData.delete(name);
          const sent = report.sections[name] as { chunks?: unknown };
          const lacking = CHUNK_SET.has(name) ? r.chunks[name as ChunkSectionName] : undefined;
          if (lacking !== undefined) want.set(name, new Set(lacking));
          else if (sent.chunks !== undefined) {
            // asked for in full although sent in chunks: this aggregator does not take them
            noChunks.add(name);
            chunkable.delete(name);
          }
        }
        full = attempt === 0 ? new Set(r.sections) : 'all';
        // a list that goes in chunks for the first time: ask which chunks are lacking before sending anything whole
        probe = attempt === 0 && r.sections.some((n) => chunkable.has(n) && !want.has(n) && longEnough(p.snapshot.sections[n]));
        continue;
      }
      record(r.outcome);
      log.warn({ push: { url, outcome: r.outcome, status: r.status, detail: r.detail } }, 'report push failed');
      return false;
    }
    log.warn({ push: { url } }, 'aggregator kept asking for sections; backing off');
    return false;
  };

  const drain = async (): Promise<void> => {
    while (pending && !stopped) {
      const p = pending;
      pending = null;
      let okay = false;
      try {
        okay = await sendOne(p);
      } catch (err) {
        // A bug here must never reach the loop.
        log.error({ err }, 'report push crashed');
      }
      if (stopped) return;
      if (okay) {
        failures = 0;
        continue;
      }
      failures++;
      if (!pending) pending = p; // retry the latest we have
      const delay = backoffDelayMs(failures, baseMs, capMs, random);
      log.info({ push: { failures, delayMs: delay } }, 'backing off');
      timer = timers.setTimeout(() => {
        timer = null;
        kick();
      }, delay);
      return;
    }
  };

  const kick = () => {
    if (stopped || sending || timer !== null || !pending) return;
    sending = drain().finally(() => {
      sending = null;
    });
  };

  return {
    agentId,
    offer: (p) => {
      if (stopped) return;
      pending = p;
      kick();
    },
    idle: async () => {
      while (sending) await sending;
    },
    stop: async () => {
      stopped = true;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      inflight.abort();
      while (sending) await sending;
    },
    state: () => ({ failures, backingOff: timer !== null, lastOutcome, seq }),
  };
};
