/**
 * Snapshot assembly: runs every collector against a Host and derives mode and identity.
 *
 * Order: links, routes and addresses first (they give the CollectContext: link names and uplinks,
 * which sysctls and others need), then the other collectors concurrently. The iptables collector,
 * which reads no context and is the longest on a big node (a full ruleset dump), starts with the
 * first three rather than after them (#17). Each collector is timed.
 * A collector that throws is a bug, but never crashes the snapshot: its section becomes
 * unavailable('command-failed', 'collector crashed: …') and the rest of the snapshot is kept.
 * Bounded in time (#16): with a `deadlineMs`, a collector still running when it passes becomes
 * unavailable('timeout') and the snapshot is returned with the rest; the commands it was running
 * are killed through the abort signal every command of this snapshot carries. Aborting `signal`
 * (agent shutdown) ends the snapshot the same way at once.
 * Stateless; the caller owns the Host, config and clock.
 */
import type { Clock } from '../common/clock.js';
import { unavailable, type Unavailable } from '../contract/result.js';
import { SECTION_NAMES, type SectionName, type Sections, type Snapshot } from '../contract/snapshot.js';
import { collectors as defaultCollectors, type CollectorRegistry } from './collectors/index.js';
import type { CollectContext, CollectorConfig, Host } from './collectors/types.js';
import { deriveIdentity, deriveUplinks } from './derive/identity.js';
import { deriveMode } from './derive/mode.js';

export interface SnapshotDeps {
  host: Host;
  config: CollectorConfig;
  node: string;
  clock: Clock;
  agentVersion: string;
  /** defaults to the real registry; tests pass fakes */
  collectors?: CollectorRegistry;
  /** collectors still running this long after the start are reported unavailable('timeout') */
  deadlineMs?: number;
  /** aborts the snapshot (and every command it runs), e.g. on shutdown */
  signal?: AbortSignal;
}

/** A Host whose commands are also killed when `signal` aborts. */
const hostWithSignal = (host: Host, signal: AbortSignal): Host => ({
  ...host,
  run: (req) => host.run({ ...req, signal: req.signal ? AbortSignal.any([req.signal, signal]) : signal }),
});

const FIRST: readonly SectionName[] = ['links', 'routes', 'addresses'];
/** Collectors that read no CollectContext and start with FIRST (see the header). */
const AT_ONCE: readonly SectionName[] = ['iptables'];

const round = (ms: number): number => Math.round(ms * 10) / 10;

export const takeSnapshot = async (deps: SnapshotDeps): Promise<Snapshot> => {
  const registry = deps.collectors ?? defaultCollectors;
  const { clock } = deps;
  const startedAt = clock.now();
  const t0 = clock.monotonic();
  const sections: Partial<Record<SectionName, Sections[SectionName]>> = {};
  const timings: Record<string, number> = {};

  // one abort for everything this snapshot runs: the deadline or the caller's signal
  const stop = new AbortController();
  const onCallerAbort = () => stop.abort(deps.signal?.reason);
  deps.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (deps.signal?.aborted) stop.abort(deps.signal.reason);
  const deadline = deps.deadlineMs === undefined ? null : setTimeout(() => stop.abort('deadline'), deps.deadlineMs);
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  const host = hostWithSignal(deps.host, stop.signal);
  const late = (): Unavailable =>
    stop.signal.reason === 'deadline'
      ? unavailable('timeout', `collector did not finish within the snapshot deadline (${deps.deadlineMs} ms)`)
      : unavailable('timeout', 'collector stopped: the agent is shutting down');

  const run = async <K extends SectionName>(name: K, context: CollectContext): Promise<void> => {
    const start = clock.monotonic();
    let result: Sections[K];
    try {
      const collected = (registry[name] as CollectorRegistry[K])(host, deps.config, context);
      const raced = await Promise.race([collected, stopped.then(() => null)]);
      if (raced === null) collected.catch(() => undefined); // its commands were killed; its result no longer counts
      result = raced ?? (late() as Sections[K]);
    } catch (err) {
      result = unavailable('command-failed', `collector crashed: ${err instanceof Error ? err.message : String(err)}`) as Sections[K];
    }
    sections[name] = result;
    timings[name] = round(clock.monotonic() - start);
  };

  const noContext: CollectContext = { linkNames: null, uplinks: [] };
  const first = Promise.all(FIRST.map((n) => run(n, noContext)));
  const atOnce = Promise.all(AT_ONCE.map((n) => run(n, noContext)));
  await first;

  const pending = unavailable('not-present', 'not collected yet');
  const partial = Object.fromEntries(SECTION_NAMES.map((n) => [n, sections[n] ?? pending])) as Sections;
  let uplinks: string[] = [];
  try {
    uplinks = deriveUplinks(partial);
  } catch {
    // deriveUplinks is pure and should not throw; without uplinks the collectors still run.
  }
  const links = partial.links;
  const context: CollectContext = { linkNames: links.status === 'ok' ? links.data.map((l) => l.name) : null, uplinks };

  await Promise.all([atOnce, ...SECTION_NAMES.filter((n) => !FIRST.includes(n) && !AT_ONCE.includes(n)).map((n) => run(n, context))]);
  if (deadline !== null) clearTimeout(deadline);
  deps.signal?.removeEventListener('abort', onCallerAbort);

  const all = Object.fromEntries(SECTION_NAMES.map((n) => [n, sections[n]!])) as Sections;
  const identity = deriveIdentity(all);
  const mode = deriveMode(all, identity);
  return {
    schemaVersion: 1,
    node: deps.node,
    takenAt: new Date(startedAt).toISOString(),
    durationMs: round(clock.monotonic() - t0),
    agentVersion: deps.agentVersion,
    sections: all,
    timings,
    mode,
    identity,
  };
};
