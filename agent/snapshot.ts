/**
 * Snapshot assembly: runs every collector against a Host and derives mode and identity.
 *
 * Order: links, routes and addresses first (they give the CollectContext: link names and uplinks,
 * which sysctls and others need), then the other collectors concurrently. Each collector is timed.
 * A collector that throws is a bug, but never crashes the snapshot: its section becomes
 * unavailable('command-failed', 'collector crashed: …') and the rest of the snapshot is kept.
 * Stateless; the caller owns the Host, config and clock.
 */
import type { Clock } from '../common/clock.js';
import { unavailable } from '../contract/result.js';
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
}

const FIRST: readonly SectionName[] = ['links', 'routes', 'addresses'];

const round = (ms: number): number => Math.round(ms * 10) / 10;

export const takeSnapshot = async (deps: SnapshotDeps): Promise<Snapshot> => {
  const registry = deps.collectors ?? defaultCollectors;
  const { clock } = deps;
  const startedAt = clock.now();
  const t0 = clock.monotonic();
  const sections: Partial<Record<SectionName, Sections[SectionName]>> = {};
  const timings: Record<string, number> = {};

  const run = async <K extends SectionName>(name: K, context: CollectContext): Promise<void> => {
    const start = clock.monotonic();
    let result: Sections[K];
    try {
      result = await (registry[name] as CollectorRegistry[K])(deps.host, deps.config, context);
    } catch (err) {
      result = unavailable('command-failed', `collector crashed: ${err instanceof Error ? err.message : String(err)}`) as Sections[K];
    }
    sections[name] = result;
    timings[name] = round(clock.monotonic() - start);
  };

  const noContext: CollectContext = { linkNames: null, uplinks: [] };
  await Promise.all(FIRST.map((n) => run(n, noContext)));

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

  await Promise.all(SECTION_NAMES.filter((n) => !FIRST.includes(n)).map((n) => run(n, context)));

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
