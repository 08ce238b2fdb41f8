/**
 * Wires the capture manager and probe sender for a running agent: one call gives the fastify
 * plugin agent/main.ts adds to the authenticated /v1 scope. Reads the node's interfaces and
 * addresses from the latest snapshot through `latest()`.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Snapshot } from '../../contract/snapshot.js';
import type { CommandRunner } from '../exec/runner.js';
import { capturesRoutes } from '../http/captures.js';
import { CaptureManager } from './manager.js';
import { deviceFateOf, readLiveLinks, type SnapshotLinks } from './device-fate.js';
import { createHash } from 'node:crypto';
import { DropTracer, nodeTraceFs, removeStaleInstances } from './drop-reasons.js';
import { clusterTargets, ProbeLimiter } from './cluster-targets.js';

export interface CaptureWiring {
  runner: CommandRunner;
  logger: Logger;
  node: string;
  now: () => number;
  latest: () => { snapshot: Snapshot } | null;
  /** the snapshot before the latest: where a device renamed just before the latest one was last seen (#18) */
  previous?: () => { snapshot: Snapshot } | null;
  /** default: $CALICO_DIAG_CAPTURE_DIR or <tmpdir>/calico-diag-captures-<node> */
  dir?: string;
  /** keep whole packets (--capture-payload); default headers only */
  fullPayload?: boolean;
  /** tracefs mount for kernel drop reasons (--tracefs); null/absent: not traced */
  tracefs?: string | null;
}

/** a diagnosis sends one probe; a responder retrying has room, a script looping has not */
const PROBES_PER_MINUTE = 12;

export const captureRoutesFor = (w: CaptureWiring): FastifyPluginAsync => {
  const dir = w.dir ?? process.env.CALICO_DIAG_CAPTURE_DIR ?? join(tmpdir(), `calico-diag-captures-${w.node}`);
  const links = () => {
    const s = w.latest()?.snapshot.sections.links;
    return s && s.status === 'ok' ? s.data : null;
  };
  // tracing instances carry a tag of this node; leftovers of an earlier run of this agent go now
  const owner = createHash('sha256').update(w.node).digest('hex').slice(0, 8);
  if (w.tracefs) {
    void removeStaleInstances(nodeTraceFs, w.tracefs, owner).then((n) => {
      if (n > 0) w.logger.info({ tracefs: w.tracefs, removed: n }, 'removed tracing instances left by an earlier run');
    });
  }
  const manager = new CaptureManager({
    runner: w.runner,
    logger: w.logger,
    node: w.node,
    dir,
    now: w.now,
    fullPayload: w.fullPayload === true,
    ifindexNames: () => Object.fromEntries((links() ?? []).map((l) => [l.ifindex, l.name])),
    ...(w.tracefs ? { dropTracer: (id: string) => new DropTracer(nodeTraceFs, w.tracefs as string, id, owner) } : {}),
    deviceFate: async (iface) => {
      const shown: SnapshotLinks[] = [];
      for (const st of [w.latest(), w.previous?.() ?? null]) {
        const l = st?.snapshot.sections.links;
        if (st && l?.status === 'ok') shown.push({ at: st.snapshot.takenAt, links: l.data.map((x) => ({ ifindex: x.ifindex, name: x.name })) });
      }
      if (!shown.some((s) => s.links.some((l) => l.name === iface))) return null;
      const live = await readLiveLinks(w.runner);
      return live ? deviceFateOf(iface, shown, live) : null;
    },
    deviceState: (iface) => {
      const all = links();
      if (all === null) return 'unknown';
      const l = all.find((x) => x.name === iface);
      if (!l) return 'missing';
      return !l.flags.includes('UP') || l.operstate.toUpperCase() === 'DOWN' ? 'down' : 'up';
    },
  });
  return capturesRoutes({
    manager,
    clusterTargets: () => {
      const snap = w.latest()?.snapshot;
      return snap ? clusterTargets(snap) : null;
    },
    limiter: new ProbeLimiter(PROBES_PER_MINUTE, w.now),
    interfaces: () => links()?.map((l) => l.name) ?? null,
    probe: {
      runner: w.runner,
      node: w.node,
      now: w.now,
      source: () => {
        const snap = w.latest()?.snapshot;
        if (!snap) return null;
        const addrs = snap.sections.addresses;
        return { identity: snap.identity, addresses: addrs.status === 'ok' ? addrs.data.map((a) => a.local) : [] };
      },
    },
  });
};
