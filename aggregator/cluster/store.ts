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
 * - Memory (issue #3; 5000 nodes): in a full VXLAN mesh every node holds N−1 routes, neighbours
 *   and FDB entries and an all-hosts ipset with N members, and the entries about peer X are the
 *   same on every node. Those four lists are held packed (packed.ts):
 *
 *       tables.routes      values: [route about node-0, route about node-1, …]   (one frozen object
 *       tables.neighbours  values: [neigh about node-0, …]                        per distinct entry,
 *       tables.fdb         values: [fdb about node-0, …]                          keyed by its JSON)
 *       tables.members     values: ['172.16.0.1', '172.16.0.2', …]
 *
 *       node-00007 routes section → { status: 'ok', [packed]: { table: tables.routes,
 *                                                              ids: Uint16Array [0, 1, …, 4999] } }
 *
 *   so N² entries cost N² ids of 2 bytes (4 once a table passes 65 536 entries) plus N objects per
 *   kind, instead of N² 8-byte pointers in JS arrays. A packed section still reads as the wire
 *   section: its `data` (host sets: `members`) is a getter that builds the plain array of shared
 *   entries on each read, for the few readers that want one node's list (GET /v1/nodes/:name; the
 *   cluster map's allowedHosts, a getter too, for diagnose and GET /v1/cluster); the correlation
 *   rules read the ids (peer-state.ts) and judge each distinct entry once per pass.
 * - Tables are append-only (an id never changes meaning), so they only grow while reports bring
 *   new entries. When a table holds more than twice the entries alive after its last compaction
 *   (and at least `compactAbove`), ingest compacts it: a new table holding only the entries the
 *   nodes' latest reports use, and every node's sections of that kind re-packed against it (new
 *   NodeState objects, assigned one by one like an ingest; readers holding the old ones keep a
 *   consistent old table). The correlate cache then starts cold once. The re-pack is spread over
 *   the ingests that follow (issue #17: at 5000 nodes it is 25 M ids, ~0.5 s in one go): each
 *   ingest re-packs about `compactIdsPerIngest` ids, so while it runs some lists of the kind
 *   name the old table and some the new one. Every list names its own table and every reader
 *   goes by it; a new compaction of the kind waits until the one under way is done.
 * - `previous` (for counters that must rise between reports) keeps the sections as they were, except
 *   the N-sized per-peer sections (routes, neighbours, fdb, ipsets): those are replaced by
 *   `unavailable('not-present', 'not kept for the previous report')`, so a cluster-wide change
 *   (a node joins: every node's routes change) does not hold two copies of N² entries. Sections
 *   that did not change are shared with the latest report, not copied.
 * - Entry-level delta (issue #3; contract/delta.ts): routes, neighbours, fdb and the ipsets host
 *   sets' members may arrive as splices of the held lists. The splices are checked against the
 *   held packed list (base hash, ranges); the result's hash is computed from the table's entry keys
 *   (each entry's JSON text, already held) and the inserted entries' JSON, without building entry
 *   objects; only once the whole report is accepted are the inserted entries interned and the new
 *   id list built from the held ids. A refused report interns nothing and changes nothing.
 * - Chunks (issue #17; contract/chunks.ts): routes, neighbours and fdb may arrive as content-
 *   defined chunks. The store keeps, per kind, the ids of the chunks it has taken (a cache keyed
 *   by chunk hash, bounded, emptied when its table is compacted); a chunk sent without data must be
 *   held, else the report is a 409 naming the chunks lacking. The section hash is checked from
 *   the entries' keys like a delta's; sent chunks are interned and held once the report is accepted.
 *   A held chunk that a list uses also keeps its text (the entries' keys joined, UTF-8, bounded),
 *   so after a restart, when each node's list is mostly chunks other nodes sent, the section hash
 *   is fed those texts instead of gathering, joining and encoding N keys per node and list again.
 */
import { createHash } from 'node:crypto';
import { LIST_SECTION_CLOSE, LIST_SECTION_OPEN, applySplices, hashIpsetsSection, hashListSection, spliceError, splicedLength, type IpsetsDelta, type ListDelta, type ListDeltaSectionName, type Splice } from '../../contract/delta.js';
import { chunkHash, chunkHashOfJoined, type ChunkSectionName } from '../../contract/chunks.js';
import { hashSection } from '../../contract/hash.js';
import type { Report } from '../../contract/report.js';
import { SECTION_NAMES, type FdbEntry, type Neighbour, type Route, type SectionName, type Sections } from '../../contract/snapshot.js';
import { EntryTable, entryKey, idArray, materialise, pack, packLike, packedHostSet, packedIds, packedOf, packedSection, type EntryIds, type PackedList } from './packed.js';
import type { NodeState, ResolvedReport } from './node-state.js';

export type IngestResult =
  | { kind: 'accepted'; node: string; seq: number; changed: SectionName[]; restarted: boolean }
  | { kind: 'stale'; node: string; seq: number; lastSeq: number }
  | { kind: 'sections-required'; node: string; sections: SectionName[]; chunks?: Partial<Record<ChunkSectionName, string[]>> }
  | { kind: 'hash-mismatch'; node: string; sections: SectionName[] }
  | { kind: 'delta-invalid'; node: string; problems: { section: SectionName; message: string }[] };

/** Splices checked against a held list, applied only when the whole report is accepted. */
interface PendingSplices<E> {
  list: PackedList<E>;
  splices: readonly Splice<E>[];
  /** the inserted entries' keys (entryKey: an object's JSON, a string itself), per splice */
  keys: string[][];
}
type PendingDelta =
  | { kind: 'list'; splices: PendingSplices<unknown> }
  | { kind: 'chunks'; parts: ChunkPart[] }
  | { kind: 'ipsets'; sets: { head: { name: string; type: string; family: 'inet' | 'inet6' | null }; splices: PendingSplices<string> }[]; caliSetSizes: Record<string, number> };

/** One chunk of a chunked section: held ids of the current table, or entries sent with the report. */
type ChunkPart = { hash: string; ids: EntryIds } | { hash: string; entries: unknown[]; keys: string[]; /** the keys joined with `,` */ text: string; sent: true };

/** Chunks held for chunked sections: at most this many ids in all (then the oldest go). */
const MAX_CHUNK_IDS = 4_000_000;
/** Texts of held chunks (checkChunks): at most this many bytes in all (then the oldest go); a 5000-node mesh's shared chunks take ~3 MiB. */
const MAX_CHUNK_TEXT_BYTES = 32 * 1024 * 1024;

interface Entry {
  state: NodeState;
  hashes: Record<SectionName, string>;
}

/** The kinds of per-peer entries, one table each. */
export type EntryKind = 'routes' | 'neighbours' | 'fdb' | 'members';
type Tables = { routes: EntryTable<Route>; neighbours: EntryTable<Neighbour>; fdb: EntryTable<FdbEntry>; members: EntryTable<string> };
const ENTRY_KINDS: readonly EntryKind[] = ['routes', 'neighbours', 'fdb', 'members'];
const CHUNK_KINDS: readonly ChunkSectionName[] = ['routes', 'neighbours', 'fdb'];
const newTables = (): Tables => ({ routes: new EntryTable(), neighbours: new EntryTable(), fdb: new EntryTable(), members: new EntryTable() });

/** Host sets whose last packed members list the store keeps as the next one's guide (packLike). */
const MAX_LIKE_SETS = 16;

/** The section of `name` holding entries of `kind`. */
const SECTION_OF: Record<EntryKind, 'routes' | 'neighbours' | 'fdb' | 'ipsets'> = { routes: 'routes', neighbours: 'neighbours', fdb: 'fdb', members: 'ipsets' };

/**
 * A freshly received section with its per-peer lists packed against `tables`; `keys`, when given,
 * are the entries' keys (entryKey) of a routes, neighbours or fdb list, already computed for its hash.
 */
const packSection = (name: SectionName, section: Sections[SectionName], tables: Tables, keys?: readonly string[], likeMembers?: Map<string, PackedList<string>>): Sections[SectionName] => {
  if (section.status !== 'ok') return section;
  switch (name) {
    case 'routes':
    case 'neighbours':
    case 'fdb': {
      const table = tables[name] as EntryTable<unknown>;
      return packedSection(pack(table, section.data as unknown[], keys)) as Sections[SectionName];
    }
    case 'ipsets': {
      const d = (section as Sections['ipsets'] & { status: 'ok' }).data;
      const hostSets = d.hostSets.map((s) => {
        const list = packLike(tables.members, s.members, likeMembers?.get(s.name));
        if (likeMembers !== undefined && (likeMembers.has(s.name) || likeMembers.size < MAX_LIKE_SETS)) likeMembers.set(s.name, list);
        return packedHostSet(s, list);
      });
      return { status: 'ok', data: { ...d, hostSets } };
    }
    default:
      return section;
  }
};

/**
 * `list` packed against `table`, the compacted successor of `old`; `remap` (old id → new id, -1 not
 * yet mapped) is shared by every list of the kind, so each entry is looked up once.
 */
const repack = <E>(list: PackedList<E>, table: EntryTable<E>, old: EntryTable<E>, remap: Int32Array): PackedList<E> => {
  if (list.table === table) return list; // re-sent since the compaction began: packed against the new table already
  if (list.table !== old) return pack(table, materialise(list)); // packed against neither: the store never passes such a list
  const ids = new Uint32Array(list.ids.length);
  for (let k = 0; k < list.ids.length; k++) {
    const was = list.ids[k] as number;
    let id = remap[was] as number;
    if (id < 0) remap[was] = id = table.intern(old.keys[was], old.values[was] as E);
    ids[k] = id;
  }
  return packedIds(table, ids);
};

/** The section re-packed against the compacted table of `kind` (the section itself when it holds none). */
const repackSection = (kind: EntryKind, section: Sections[SectionName], table: EntryTable<unknown>, old: EntryTable<unknown>, remap: Int32Array): Sections[SectionName] => {
  if (section.status !== 'ok') return section;
  if (kind !== 'members') {
    const list = packedOf<unknown>(section);
    const next = list === null ? list : repack(list, table, old, remap);
    return next === list ? section : (packedSection(next!) as Sections[SectionName]);
  }
  const d = (section as Sections['ipsets'] & { status: 'ok' }).data;
  let changed = false;
  const hostSets = d.hostSets.map((s) => {
    const list = packedOf<string>(s);
    const next = list === null ? list : repack(list, table as EntryTable<string>, old as EntryTable<string>, remap);
    if (next === list) return s;
    changed = true;
    return packedHostSet(s, next!);
  });
  return changed ? { status: 'ok', data: { ...d, hostSets } } : section;
};

export interface StoreOptions {
  /** a table is compacted only once it holds more than this many entries (default 65 536) */
  compactAbove?: number;
  /** at most about this many ids are re-packed per ingest while a compaction runs (default 250 000: ~5–25 ms on a loaded 2-core machine) */
  compactIdsPerIngest?: number;
}

/** A compaction under way: nodes still to re-pack against `table`, the old table's successor. */
interface Compaction {
  kind: EntryKind;
  old: EntryTable<unknown>;
  table: EntryTable<unknown>;
  remap: Int32Array;
  queue: string[];
  next: number;
}

export class ReportStore {
  private readonly entries = new Map<string, Entry>();
  private tables: Tables = newTables();
  /** per kind, the entries alive after the last compaction (0 before any) */
  private readonly liveAfterCompaction: Record<EntryKind, number> = { routes: 0, neighbours: 0, fdb: 0, members: 0 };
  private readonly compactAbove: number;
  private readonly compactIdsPerIngest: number;
  /** compactions under way, at most one per kind */
  private readonly compactions: Compaction[] = [];
  /**
   * Chunks of chunked sections (contract/chunks.ts) by hash, per list kind: the ids of their
   * entries in the current table. A cache only (a chunk it lacks is asked for again): emptied when
   * the kind's table is compacted, the oldest chunks dropped past MAX_CHUNK_IDS ids.
   */
  private readonly chunks: Record<ChunkSectionName, Map<string, EntryIds>> = { routes: new Map(), neighbours: new Map(), fdb: new Map() };
  private chunkIds = 0;
  /** Texts of held chunks that lists used (chunkText), by hash, per list kind. */
  private readonly chunkTexts: Record<ChunkSectionName, Map<string, Buffer>> = { routes: new Map(), neighbours: new Map(), fdb: new Map() };
  private chunkTextBytes = 0;
  /** Per host set name, the members list packed last (of the current members table): packLike's guide for the next. */
  private readonly likeMembers = new Map<string, PackedList<string>>();

  constructor(opts: StoreOptions = {}) {
    this.compactAbove = opts.compactAbove ?? 0x10000;
    this.compactIdsPerIngest = opts.compactIdsPerIngest ?? 250_000;
  }

  /** The kinds whose compaction is under way (tests, benchmark). */
  get compacting(): EntryKind[] {
    return this.compactions.map((c) => c.kind);
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
    const invalid: { section: SectionName; message: string }[] = [];
    const deltas = new Map<SectionName, PendingDelta>();
    /** per full routes/neighbours/fdb section, its entries' keys (computed for the hash, reused to pack) */
    const listKeys = new Map<SectionName, string[]>();
    const chunksMissing: Partial<Record<ChunkSectionName, string[]>> = {};
    const raw = (rawSections && typeof rawSections === 'object' ? rawSections : {}) as Record<string, { data?: unknown } | undefined>;
    for (const name of SECTION_NAMES) {
      const s = report.sections[name];
      const delta = (s as { delta?: ListDelta<unknown> | IpsetsDelta }).delta;
      const chunks = (s as { chunks?: { hash: string; data?: unknown[] }[] }).chunks;
      if (chunks !== undefined && !(held && held.hashes[name] === s.hash)) {
        const r = this.checkChunks(name as ChunkSectionName, chunks, (raw[name] as { chunks?: unknown } | undefined)?.chunks);
        if (r.kind === 'missing') {
          missing.push(name);
          if (r.hashes.length > 0) chunksMissing[name as ChunkSectionName] = r.hashes;
        } else if (r.kind === 'chunk-mismatch') mismatched.push(name);
        else if (r.hash !== s.hash) missing.push(name); // the agent sends the section in full
        else {
          deltas.set(name, { kind: 'chunks', parts: r.parts });
          changed.push(name);
        }
      } else if (chunks !== undefined) {
        // the same section as held: nothing to resolve
      } else if (s.data === undefined && delta !== undefined && !(held && held.hashes[name] === s.hash)) {
        const base = held && held.hashes[name] === delta.base ? held.state.report.sections[name] : null;
        const checked = base === null ? null : checkDelta(name, base, delta, this.tables.members);
        if (checked === null) missing.push(name);
        else if (typeof checked === 'string') invalid.push({ section: name, message: checked });
        else if (pendingHash(checked) !== s.hash) missing.push(name);
        else {
          deltas.set(name, checked);
          changed.push(name);
        }
      } else if (s.data === undefined) {
        if (!held || held.hashes[name] !== s.hash) missing.push(name);
      } else {
        const same = held !== undefined && held.hashes[name] === s.hash;
        // issue #17: a per-peer list (a 5000-node mesh: ~0.8 MB of JSON each) is hashed from its
        // entries' keys, which packing needs anyway, instead of stringifying it whole once more
        const keys = !same && LIST_SECTIONS.has(name) ? okListKeys(s.data) : null;
        if (keys !== null && hashListSection(keys) === s.hash) {
          listKeys.set(name, keys);
          changed.push(name);
        } else if (!hashMatches(s.hash, raw[name]?.data, s.data)) mismatched.push(name);
        else if (!same) changed.push(name);
      }
    }
    if (mismatched.length > 0) return { kind: 'hash-mismatch', node, sections: mismatched };
    if (invalid.length > 0) return { kind: 'delta-invalid', node, problems: invalid };
    if (missing.length > 0) return { kind: 'sections-required', node, sections: missing, ...(Object.keys(chunksMissing).length > 0 ? { chunks: chunksMissing } : {}) };

    const sections = {} as Record<SectionName, Sections[SectionName]>;
    const hashes = {} as Record<SectionName, string>;
    for (const name of SECTION_NAMES) {
      const s = report.sections[name];
      hashes[name] = s.hash;
      const pending = deltas.get(name);
      sections[name] =
        pending !== undefined
          ? this.applyDelta(name, pending)
          : held && held.hashes[name] === s.hash
          ? held.state.report.sections[name] // same data: keep the held (packed) section object
          : packSection(name, s.data as Sections[SectionName], this.tables, listKeys.get(name), this.likeMembers);
    }
    const resolved: ResolvedReport = { ...report, sections: sections as Sections };
    const state: NodeState = held ? { node, receivedAt, report: resolved, previous: slim(held.state.report) } : { node, receivedAt, report: resolved };
    this.entries.set(node, { state, hashes });
    this.compactIfNeeded();
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

  /** How many distinct per-peer entries the tables hold, all kinds together (for the memory benchmark). */
  get internedEntries(): number {
    let n = 0;
    for (const kind of ENTRY_KINDS) n += this.tables[kind].size;
    return n;
  }

  /** Entries per table (tests, benchmark). */
  tableSizes(): Record<EntryKind, number> {
    return { routes: this.tables.routes.size, neighbours: this.tables.neighbours.size, fdb: this.tables.fdb.size, members: this.tables.members.size };
  }

  /**
   * A chunked section checked against the chunks held: the hash of the list it gives (from the
   * entries' keys, without building it) and its parts; the chunks neither held nor sent; or a
   * chunk whose data does not match its hash.
   */
  private checkChunks(
    name: ChunkSectionName,
    chunks: readonly { hash: string; data?: unknown[] }[],
    rawChunks: unknown,
  ): { kind: 'resolved'; hash: string; parts: ChunkPart[] } | { kind: 'missing'; hashes: string[] } | { kind: 'chunk-mismatch' } {
    const held = this.chunks[name];
    const keys = this.tables[name].keys as string[];
    const parts: ChunkPart[] = [];
    const lacking: string[] = [];
    const rawList = Array.isArray(rawChunks) ? (rawChunks as { data?: unknown }[]) : [];
    for (const [k, c] of chunks.entries()) {
      if (c.data !== undefined) {
        const entryKeys = c.data.map(entryKey);
        // chunkHash(entryKeys), its joined keys kept for the section hash below
        const text = entryKeys.join(',');
        if (chunkHashOfJoined(text) !== c.hash) {
          const rawData = rawList[k]?.data;
          if (!Array.isArray(rawData) || chunkHash(rawData.map((e) => JSON.stringify(e))) !== c.hash) return { kind: 'chunk-mismatch' };
        }
        parts.push({ hash: c.hash, entries: c.data, keys: entryKeys, text, sent: true });
        continue;
      }
      const ids = held.get(c.hash);
      if (ids === undefined) lacking.push(c.hash);
      else parts.push({ hash: c.hash, ids });
    }
    if (lacking.length > 0) return { kind: 'missing', hashes: [...new Set(lacking)] };
    // hashListSection of the entries' keys, fed chunk by chunk: a held chunk as its cached text
    // (issue #17: in a restart round every node's list is mostly chunks other nodes sent, so the
    // list's ~N keys are neither gathered, joined nor encoded again for each node)
    const h = createHash('sha256').update(LIST_SECTION_OPEN);
    for (const [k, p] of parts.entries()) {
      if ('keys' in p) (k === 0 ? h : h.update(',')).update(p.text);
      else {
        const text = this.chunkText(name, p.hash, p.ids, keys);
        h.update(k === 0 ? text.subarray(1) : text);
      }
    }
    return { kind: 'resolved', hash: h.update(LIST_SECTION_CLOSE).digest('hex'), parts };
  }

  /**
   * The text a held chunk adds to its list's JSON: `,` and its entries' keys joined with `,`
   * (UTF-8), as held for the chunk's hash (a chunk's keys are those its hash was checked with, so
   * the text depends on the hash only), else built from the entries' keys and held (the oldest
   * dropped past MAX_CHUNK_TEXT_BYTES).
   */
  private chunkText(name: ChunkSectionName, hash: string, ids: EntryIds, keys: readonly string[]): Buffer {
    const texts = this.chunkTexts[name];
    const held = texts.get(hash);
    if (held !== undefined) return held;
    const parts = new Array<string>(ids.length);
    for (let k = 0; k < ids.length; k++) parts[k] = keys[ids[k] as number]!;
    const text = Buffer.from(`,${parts.join(',')}`, 'utf8');
    texts.set(hash, text);
    this.chunkTextBytes += text.length;
    while (this.chunkTextBytes > MAX_CHUNK_TEXT_BYTES) {
      const oldest = CHUNK_KINDS.map((kind) => this.chunkTexts[kind]).find((m) => m.size > 0);
      if (oldest === undefined) break;
      const [h, t] = oldest.entries().next().value!;
      oldest.delete(h);
      this.chunkTextBytes -= t.length;
    }
    return text;
  }

  /** The list a checked chunked section gives: sent chunks interned and held for later reports. */
  private applyChunks(name: ChunkSectionName, parts: readonly ChunkPart[]): PackedList<unknown> {
    const table = this.tables[name] as EntryTable<unknown>;
    const held = this.chunks[name];
    let length = 0;
    for (const p of parts) length += 'ids' in p ? p.ids.length : p.entries.length;
    const ids = new Uint32Array(length);
    let at = 0;
    for (const p of parts) {
      if ('ids' in p) {
        ids.set(p.ids, at);
        at += p.ids.length;
        continue;
      }
      const start = at;
      for (let k = 0; k < p.entries.length; k++) ids[at++] = table.intern(p.keys[k], p.entries[k]);
      if (!held.has(p.hash)) this.holdChunk(name, p.hash, ids.subarray(start, at), table.size);
    }
    return packedIds(table, ids);
  }

  private holdChunk(name: ChunkSectionName, hash: string, ids: Uint32Array, tableSize: number): void {
    const held = this.chunks[name];
    const copy = idArray(ids.length, tableSize);
    copy.set(ids);
    held.set(hash, copy);
    this.chunkIds += copy.length;
    while (this.chunkIds > MAX_CHUNK_IDS) {
      const oldest = CHUNK_KINDS.map((k) => this.chunks[k]).find((m) => m.size > 0);
      if (oldest === undefined) break;
      const [h, v] = oldest.entries().next().value!;
      oldest.delete(h);
      this.chunkIds -= v.length;
    }
  }

  /** Chunks held, all kinds together (tests, benchmark). */
  get heldChunks(): number {
    return this.chunks.routes.size + this.chunks.neighbours.size + this.chunks.fdb.size;
  }

  /** The section a checked delta gives, its inserted entries interned. */
  private applyDelta(name: SectionName, d: PendingDelta): Sections[SectionName] {
    if (d.kind === 'chunks') return packedSection(this.applyChunks(name as ChunkSectionName, d.parts)) as Sections[SectionName];
    if (d.kind === 'list') return packedSection(applySplicesTo(this.tables[name as ListDeltaSectionName] as EntryTable<unknown>, d.splices)) as Sections[SectionName];
    const hostSets = d.sets.map((x) => packedHostSet({ ...x.head, members: [] as string[] }, applySplicesTo(this.tables.members, x.splices)));
    return { status: 'ok', data: { hostSets, caliSetSizes: d.caliSetSizes } } as Sections[SectionName];
  }

  private compactIfNeeded(): void {
    for (const kind of ENTRY_KINDS) {
      const size = this.tables[kind].size;
      if (size > this.compactAbove && size > 2 * this.liveAfterCompaction[kind] && !this.compacting.includes(kind)) this.compact(kind);
    }
    if (this.compactions.length > 0) this.compactStep(this.compactIdsPerIngest);
  }

  /**
   * Begins replacing the table of `kind` with one holding only the entries the latest reports use
   * (issue #17: incrementally). From now on reports intern into the new table; every ingest then
   * re-packs the lists of a few more nodes (compactStep) until all are, so no ingest pauses for
   * the whole N² re-pack. Meanwhile a node's list is packed against the old table or the new one;
   * each list names its table, and the readers (correlate memo, deltas, hashes) go by the list's.
   */
  private compact(kind: EntryKind): void {
    const old = this.tables[kind] as EntryTable<unknown>;
    const table = new EntryTable<unknown>();
    this.compactions.push({ kind, old, table, remap: new Int32Array(old.size).fill(-1), queue: [...this.entries.keys()], next: 0 });
    (this.tables as Record<EntryKind, EntryTable<unknown>>)[kind] = table;
    if (kind === 'members') this.likeMembers.clear(); // guides of the old table: unused now, and they would keep it alive
    if (kind !== 'members') {
      // held chunks name ids of the old table
      for (const ids of this.chunks[kind].values()) this.chunkIds -= ids.length;
      this.chunks[kind].clear();
    }
  }

  /** Re-packs the lists of queued nodes, about `budget` ids in all; finishes compactions whose queue is done. */
  private compactStep(budget: number): void {
    let done = 0;
    for (const c of [...this.compactions]) {
      const name = SECTION_OF[c.kind];
      while (c.next < c.queue.length && done < budget) {
        const node = c.queue[c.next++]!;
        const e = this.entries.get(node);
        if (e === undefined) continue;
        const { report } = e.state;
        const section = repackSection(c.kind, report.sections[name], c.table, c.old, c.remap);
        if (section === report.sections[name]) continue;
        done += idsIn(section);
        const sections = { ...report.sections, [name]: section } as Sections;
        this.entries.set(node, { hashes: e.hashes, state: { ...e.state, report: { ...report, sections } } });
      }
      if (c.next < c.queue.length) return;
      this.compactions.splice(this.compactions.indexOf(c), 1);
      this.liveAfterCompaction[c.kind] = c.table.size;
    }
  }
}

/** How many entry ids a (re-packed) section holds. */
const idsIn = (section: Sections[SectionName]): number => {
  const list = packedOf<unknown>(section);
  if (list !== null) return list.ids.length;
  if (section.status !== 'ok' || !('hostSets' in (section.data as object))) return 0;
  return (section as Sections['ipsets'] & { status: 'ok' }).data.hostSets.reduce((n, s) => n + (packedOf<string>(s)?.ids.length ?? 0), 0);
};

/** Sections too big to keep twice per node (they grow with the cluster). */
export const PEER_SECTIONS: readonly SectionName[] = ['routes', 'neighbours', 'fdb', 'ipsets'];
const NOT_KEPT = Object.freeze({ status: 'unavailable', reason: 'not-present', detail: 'not kept for the previous report' } as const);

const slim = (r: ResolvedReport): ResolvedReport => {
  const sections = { ...r.sections } as Record<SectionName, Sections[SectionName]>;
  for (const name of PEER_SECTIONS) sections[name] = NOT_KEPT;
  return { ...r, sections: sections as Sections };
};

/**
 * The delta checked against the held section `base`: the pending delta, a message when its splices
 * do not fit the held lists (400), or null when the held section is not one a delta can apply to
 * (409: the agent sends the section in full).
 */
const checkDelta = (name: SectionName, base: Sections[SectionName], delta: ListDelta<unknown> | IpsetsDelta, members: EntryTable<string>): Exclude<PendingDelta, { kind: 'chunks' }> | string | null => {
  if (base.status !== 'ok') return null;
  if (!('hostSets' in delta)) {
    const list = packedOf<unknown>(base);
    if (list === null || name === 'ipsets') return null;
    const problem = spliceError(list.ids.length, delta.splices);
    return problem ?? { kind: 'list', splices: { list, splices: delta.splices, keys: delta.splices.map((sp) => sp.insert.map(entryKey)) } };
  }
  if (name !== 'ipsets') return null;
  const held = new Map<string, PackedList<string>>();
  for (const set of (base as Sections['ipsets'] & { status: 'ok' }).data.hostSets) {
    const list = packedOf<string>(set);
    if (list === null) return null;
    if (!held.has(set.name)) held.set(set.name, list);
  }
  const empty: PackedList<string> = { table: members, ids: new Uint16Array(0) };
  const sets: (PendingDelta & { kind: 'ipsets' })['sets'] = [];
  for (const x of delta.hostSets) {
    const list = held.get(x.name) ?? empty;
    const problem = spliceError(list.ids.length, x.splices);
    if (problem !== null) return `host set ${JSON.stringify(x.name)}: ${problem}`;
    sets.push({ head: { name: x.name, type: x.type, family: x.family }, splices: { list, splices: x.splices, keys: x.splices.map((sp) => sp.insert.map(entryKey)) } });
  }
  return { kind: 'ipsets', sets, caliSetSizes: delta.caliSetSizes };
};

/** The keys of the list pending splices give: the held entries' keys and the inserted ones, in order. */
const splicedKeys = (p: PendingSplices<unknown>): string[] => {
  const { list } = p;
  const keys = list.table.keys as string[];
  const ids = list.ids;
  const out: string[] = [];
  applySplices(
    ids.length,
    (k) => keys[ids[k] as number]!,
    p.splices.map((sp, a) => ({ at: sp.at, remove: sp.remove, insert: p.keys[a]! })),
    (key) => key,
    (key) => key,
    (key) => void out.push(key),
  );
  return out;
};

/** hashSection of the section a pending delta gives, from entry keys, without building it. */
const pendingHash = (d: Exclude<PendingDelta, { kind: 'chunks' }>): string =>
  d.kind === 'list'
    ? hashListSection(splicedKeys(d.splices)) // the keys of objects are their JSON text
    : hashIpsetsSection(
        d.sets.map((x) => ({ ...x.head, members: splicedKeys(x.splices as PendingSplices<unknown>) })), // members are their own keys
        d.caliSetSizes,
      );

/** The held list with the splices applied, the inserted entries interned into `table`. */
const applySplicesTo = <E>(table: EntryTable<E>, p: PendingSplices<E>): PackedList<E> => {
  const { list } = p;
  const ids = new Uint32Array(splicedLength(list.ids.length, p.splices));
  let k = 0;
  const same = list.table === table;
  const insertedKeys = p.keys.flat(); // in the order applySplices inserts the entries
  let next = 0;
  applySplices(
    list.ids.length,
    (i) => list.ids[i] as number,
    p.splices,
    (id: number) => (same ? id : table.intern(list.table.keys[id], list.table.values[id] as E)),
    (e) => table.intern(insertedKeys[next++], e),
    (id) => {
      ids[k++] = id;
    },
  );
  return packedIds(table, ids);
};

/** The full sections whose list is packed (and may be hashed from its entries' keys). */
const LIST_SECTIONS: ReadonlySet<SectionName> = new Set<SectionName>(['routes', 'neighbours', 'fdb']);

/**
 * The entries' keys of an `{status: 'ok', data: [...]}` section with exactly those keys in that
 * order (then hashListSection of the keys is hashSection of the section), else null.
 */
const okListKeys = (section: unknown): string[] | null => {
  if (!section || typeof section !== 'object') return null;
  const keys = Object.keys(section);
  const s = section as { status?: unknown; data?: unknown };
  if (keys.length !== 2 || keys[0] !== 'status' || keys[1] !== 'data' || s.status !== 'ok' || !Array.isArray(s.data)) return null;
  return s.data.map(entryKey);
};

const hashMatches = (hash: string, raw: unknown, parsed: unknown): boolean =>
  (raw !== undefined && hashSection(raw) === hash) || hashSection(parsed) === hash;
