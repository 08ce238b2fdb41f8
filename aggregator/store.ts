/**
 * The report store: the latest resolved report per node, the report before it, and per
 * (node, section) the hash of the data held.
 *
 * Design and concurrency
 * - Everything happens synchronously inside `ingest()`: it checks the whole report first
 *   (sequence, hashes, sections it must reuse) and only then replaces the node's entry in one
 *   assignment. A refused report (stale, sections-required, hash-mismatch) leaves the store
 *   exactly as it was. Node's single thread means no locking is needed; a correlation pass that
 *   took `nodes()` holds an array of NodeState objects that later ingests replace, never mutate.
 * - Delta: a section sent with only its hash reuses the data held for that node when the hash is
 *   the one held; any other hash makes the whole report 409 SECTIONS_REQUIRED. Only the latest
 *   hash per (node, section) is held.
 * - Memory (5000 nodes): in a full VXLAN mesh every node holds N−1 routes, neighbours and FDB
 *   entries and an all-hosts ipset with N members, and the entries about peer X are the same on
 *   every node. Entries of those sections are interned (one shared, frozen object per distinct
 *   entry, keyed by its JSON text), so N² entries cost N² pointers plus N objects instead of N²
 *   objects. The intern table is bounded by generations: when the current generation fills up
 *   it becomes the old one and the oldest is dropped; live data never depends on the table, a
 *   dropped key only means a later identical entry gets its own copy.
 * - `previous` (for counters that must rise between reports) keeps the sections as they were, except
 *   the N-sized per-peer sections (routes, neighbours, fdb, ipsets): those are replaced by
 *   `unavailable('not-present', 'not kept for the previous report')`, so a cluster-wide change
 *   (a node joins: every node's routes change) does not hold two copies of N² entries. Sections
 *   that did not change are shared with the latest report, not copied.
 */
import { hashSection } from '../contract/hash.js';
import type { Report } from '../contract/report.js';
import { SECTION_NAMES, type SectionName, type Sections } from '../contract/snapshot.js';
import type { NodeState, ResolvedReport } from './correlate/types.js';

export type IngestResult =
  | { kind: 'accepted'; node: string; seq: number; changed: SectionName[]; restarted: boolean }
  | { kind: 'stale'; node: string; seq: number; lastSeq: number }
  | { kind: 'sections-required'; node: string; sections: SectionName[] }
  | { kind: 'hash-mismatch'; node: string; sections: SectionName[] };

interface Entry {
  state: NodeState;
  hashes: Record<SectionName, string>;
}

/** Bounded two-generation intern table. */
export class Interner {
  private current = new Map<string, unknown>();
  private old = new Map<string, unknown>();
  constructor(private readonly generationSize = 200_000) {}

  get size(): number {
    return this.current.size + this.old.size;
  }

  /** The canonical (frozen) copy of a JSON-able value. */
  value<T>(v: T): T {
    const key = typeof v === 'string' ? `s${v}` : JSON.stringify(v);
    const hit = this.current.get(key);
    if (hit !== undefined) return hit as T;
    const older = this.old.get(key);
    const chosen = older !== undefined ? older : deepFreeze(v);
    if (this.current.size >= this.generationSize) {
      this.old = this.current;
      this.current = new Map();
    }
    this.current.set(key, chosen);
    return chosen as T;
  }
}

const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
};

const internArray = <T>(arr: readonly T[], interner: Interner): T[] => arr.map((e) => interner.value(e));

/** Replace the big per-peer lists of a freshly received section with interned entries. */
const internSection = (name: SectionName, section: Sections[SectionName], interner: Interner): Sections[SectionName] => {
  if (section.status !== 'ok') return section;
  switch (name) {
    case 'routes':
    case 'neighbours':
    case 'fdb':
    case 'addresses':
      return { status: 'ok', data: internArray(section.data as unknown[], interner) } as Sections[SectionName];
    case 'ipsets': {
      const d = (section as Sections['ipsets'] & { status: 'ok' }).data;
      return {
        status: 'ok',
        data: { ...d, hostSets: d.hostSets.map((s) => ({ ...s, members: internArray(s.members, interner) })) },
      };
    }
    default:
      return section;
  }
};

export interface StoreOptions {
  interner?: Interner;
}

export class ReportStore {
  private readonly entries = new Map<string, Entry>();
  private readonly interner: Interner;

  constructor(opts: StoreOptions = {}) {
    this.interner = opts.interner ?? new Interner();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Check and take a report. `rawSections` is the sections object as it arrived (before schema
   * parsing), when available: the agent hashed that text, so its hash is checked first.
   */
  ingest(report: Report, receivedAt: string, rawSections?: unknown): IngestResult {
    const node = report.node;
    const held = this.entries.get(node);
    const restarted = held !== undefined && held.state.report.agentId !== report.agentId;
    if (held && !restarted && report.seq <= held.state.report.seq) {
      return { kind: 'stale', node, seq: report.seq, lastSeq: held.state.report.seq };
    }

    const missing: SectionName[] = [];
    const mismatched: SectionName[] = [];
    const changed: SectionName[] = [];
    const raw = (rawSections && typeof rawSections === 'object' ? rawSections : {}) as Record<string, { data?: unknown } | undefined>;
    for (const name of SECTION_NAMES) {
      const s = report.sections[name];
      if (s.data === undefined) {
        if (!held || held.hashes[name] !== s.hash) missing.push(name);
      } else if (!hashMatches(s.hash, raw[name]?.data, s.data)) {
        mismatched.push(name);
      } else if (!held || held.hashes[name] !== s.hash) {
        changed.push(name);
      }
    }
    if (mismatched.length > 0) return { kind: 'hash-mismatch', node, sections: mismatched };
    if (missing.length > 0) return { kind: 'sections-required', node, sections: missing };

    const sections = {} as Record<SectionName, Sections[SectionName]>;
    const hashes = {} as Record<SectionName, string>;
    for (const name of SECTION_NAMES) {
      const s = report.sections[name];
      hashes[name] = s.hash;
      sections[name] =
        held && held.hashes[name] === s.hash
          ? held.state.report.sections[name] // same data: keep the held (interned) object
          : internSection(name, s.data as Sections[SectionName], this.interner);
    }
    const resolved: ResolvedReport = { ...report, sections: sections as Sections };
    const state: NodeState = held ? { node, receivedAt, report: resolved, previous: slim(held.state.report) } : { node, receivedAt, report: resolved };
    this.entries.set(node, { state, hashes });
    return { kind: 'accepted', node, seq: report.seq, changed, restarted };
  }

  get(node: string): NodeState | undefined {
    return this.entries.get(node)?.state;
  }

  /** The current state of every node (a new array; its elements are never mutated later). */
  nodes(): NodeState[] {
    return Array.from(this.entries.values(), (e) => e.state);
  }

  remove(node: string): boolean {
    return this.entries.delete(node);
  }

  /** How many distinct entries the intern table holds (for the memory benchmark). */
  get internedEntries(): number {
    return this.interner.size;
  }
}

/** Sections too big to keep twice per node (they grow with the cluster). */
export const PEER_SECTIONS: readonly SectionName[] = ['routes', 'neighbours', 'fdb', 'ipsets'];
const NOT_KEPT = Object.freeze({ status: 'unavailable', reason: 'not-present', detail: 'not kept for the previous report' } as const);

const slim = (r: ResolvedReport): ResolvedReport => {
  const sections = { ...r.sections } as Record<SectionName, Sections[SectionName]>;
  for (const name of PEER_SECTIONS) sections[name] = NOT_KEPT;
  return { ...r, sections: sections as Sections };
};

const hashMatches = (hash: string, raw: unknown, parsed: unknown): boolean =>
  (raw !== undefined && hashSection(raw) === hash) || hashSection(parsed) === hash;
