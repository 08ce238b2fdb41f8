/**
 * Chunked sections (issue #17): the per-peer lists (routes, neighbours, fdb) in content-defined
 * chunks, so a list the aggregator has (mostly) seen from other nodes travels as chunk hashes.
 *
 * In a mesh every node's per-peer list is the same list of entries about its peers, minus the
 * node's own entry and plus its own local entries. Cut at boundaries that depend only on the
 * entries themselves (an entry ends a chunk when a hash of its JSON text is 0 modulo CHUNK_MODULUS,
 * or when the chunk reaches MAX_CHUNK_ENTRIES), two nodes' lists give the same chunks except around
 * the few entries in which they differ. After an aggregator restart (or an agent rollout) the
 * agent sends `{hash, chunks: [{hash}, …]}`; the aggregator answers 409 SECTIONS_REQUIRED naming the
 * chunk hashes it does not hold (`chunks: {routes: [...]}`), and the agent resends the list with
 * `data` on just those chunks. A 5000-node round then moves and parses about one chunk per node
 * and section instead of three 5000-entry lists.
 *
 *   chunk hash  = sha256 hex of the chunk's JSON text, `[entry,entry,…]` (JSON.stringify of the
 *                 chunk's entries)
 *   section     = the chunks' entries concatenated in order; `hash` is the section's usual hash
 *                 (contract/hash.ts: of `{"status":"ok","data":[…]}`), checked by the receiver
 *
 * Only `ok` list sections travel chunked. The boundaries are the sender's choice (the receiver
 * never recomputes them): changing the rule costs sharing, never correctness.
 *
 * Pure functions; no IO.
 */
import { createHash } from 'node:crypto';

/** Sections that may travel chunked. */
export const CHUNK_SECTIONS = ['routes', 'neighbours', 'fdb'] as const;
export type ChunkSectionName = (typeof CHUNK_SECTIONS)[number];

/** An entry ends a chunk when its boundary hash is 0 modulo this: ~64 entries a chunk. */
export const CHUNK_MODULUS = 64;
/** A chunk never holds more entries than this (a forced boundary). */
export const MAX_CHUNK_ENTRIES = 256;
/** At most this many chunks in a chunked section. */
export const MAX_CHUNKS = 4096;
/** Lists shorter than this travel in full (a chunk list would not be much smaller). */
export const MIN_CHUNKED_ENTRIES = 256;

/**
 * FNV-1a (32 bits) of a string's UTF-16 code units with MurmurHash3's final mix: cheap, and only
 * ever compared with itself. The mix matters: FNV's low bits depend only on the characters' low
 * bits, and entries that differ in a few digits would almost never end a chunk.
 */
const boundaryHash = (s: string): number => {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

/** The chunk hash of entries given as their JSON texts. */
export const chunkHash = (entryJson: readonly string[]): string => chunkHashOfJoined(entryJson.join(','));

/** `chunkHash` of entries whose JSON texts are already joined with `,` (the aggregator keeps that text: #17). */
export const chunkHashOfJoined = (joined: string): string => createHash('sha256').update('[').update(joined).update(']').digest('hex');

export interface Chunk {
  hash: string;
  /** index of the chunk's first entry in the list */
  start: number;
  /** one past its last entry */
  end: number;
}

/** The list (entries as their JSON texts) cut into content-defined chunks. */
export const chunkBoundaries = (entryJson: readonly string[]): Chunk[] => {
  const out: Chunk[] = [];
  let start = 0;
  for (let k = 0; k < entryJson.length; k++) {
    const end = k + 1;
    if (end === entryJson.length || end - start >= MAX_CHUNK_ENTRIES || boundaryHash(entryJson[k]!) % CHUNK_MODULUS === 0) {
      out.push({ hash: chunkHash(entryJson.slice(start, end)), start, end });
      start = end;
    }
  }
  return out;
};

/** Whether `section` is an ok list long enough to travel in chunks. */
export const chunkable = (section: unknown): boolean => {
  const s = section as { status?: unknown; data?: unknown } | null;
  return !!s && typeof s === 'object' && s.status === 'ok' && Array.isArray(s.data) && s.data.length >= MIN_CHUNKED_ENTRIES;
};

export interface ChunkedSection<E> {
  hash: string;
  chunks: { hash: string; data?: E[] }[];
}

/**
 * The chunked form of `section` (hash `hash`), with `data` on the chunks whose hash is in `send`;
 * null when the section is not an ok list of at least MIN_CHUNKED_ENTRIES entries or would need
 * more than MAX_CHUNKS chunks.
 */
export const chunkedSection = <E>(hash: string, section: unknown, send: ReadonlySet<string> = new Set()): ChunkedSection<E> | null => {
  if (!chunkable(section)) return null;
  const entries = (section as { data: E[] }).data;
  const chunks = chunkBoundaries(entries.map((e) => JSON.stringify(e)));
  if (chunks.length > MAX_CHUNKS) return null;
  return { hash, chunks: chunks.map((c) => (send.has(c.hash) ? { hash: c.hash, data: entries.slice(c.start, c.end) } : { hash: c.hash })) };
};
