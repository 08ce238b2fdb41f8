import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkBoundaries, chunkedSection, chunkHash, MAX_CHUNK_ENTRIES, MIN_CHUNKED_ENTRIES } from '../../contract/chunks.js';
import { meshSnapshot, peerRoute, toReport } from '../../bench/aggregator-mesh.js';
import { Report } from '../../contract/report.js';

const routes = (n: number, without: number[] = []) => Array.from({ length: n }, (_, j) => j).filter((j) => !without.includes(j)).map((j) => JSON.stringify(peerRoute(j)));

// issue #17
describe('contract/chunks', () => {
  it('cuts two lists that differ in one entry each into the same chunks except the two holding the differences', () => {
    // two nodes of a mesh: each list lacks its own node's entry
    const listA = routes(3000, [10]);
    const listB = routes(3000, [2000]);
    const a = chunkBoundaries(listA);
    const b = chunkBoundaries(listB);
    expect(a.length).toBeGreaterThan(20);
    const inA = new Set(a.map((c) => c.hash));
    const notShared = b.filter((c) => !inA.has(c.hash));
    expect(notShared).toHaveLength(2);
    // the chunk holding entry 10 (which A lacks) and the one where entry 2000 would be
    expect(listB.slice(notShared[0]!.start, notShared[0]!.end)).toContain(JSON.stringify(peerRoute(10)));
    expect(notShared[1]!.start).toBeLessThanOrEqual(1999);
    expect(notShared[1]!.end).toBeGreaterThanOrEqual(1999);
  });

  it('hashes each chunk as the sha256 of its JSON text, and the chunks cover the list in order', () => {
    const list = routes(700);
    const chunks = chunkBoundaries(list);
    expect(chunks[0]!.start).toBe(0);
    expect(chunks.at(-1)!.end).toBe(list.length);
    for (const [k, c] of chunks.entries()) {
      if (k > 0) expect(c.start).toBe(chunks[k - 1]!.end);
      const entries = list.slice(c.start, c.end).map((t) => JSON.parse(t) as unknown);
      expect(c.hash).toBe(createHash('sha256').update(JSON.stringify(entries)).digest('hex'));
      expect(chunkHash(list.slice(c.start, c.end))).toBe(c.hash);
    }
  });

  it('never lets a chunk grow past its bound when no entry ends one', () => {
    const quiet: string[] = [];
    for (let k = 0; quiet.length < 1000; k++) {
      const s = JSON.stringify(`entry-${k}`);
      if (chunkBoundaries([s, '"z"']).length === 1) quiet.push(s); // s does not end a chunk
    }
    expect(chunkBoundaries(quiet).map((c) => c.end - c.start)).toEqual([MAX_CHUNK_ENTRIES, MAX_CHUNK_ENTRIES, MAX_CHUNK_ENTRIES, 1000 - 3 * MAX_CHUNK_ENTRIES]);
  });

  it('gives the chunked form with data only on the chunks asked for', () => {
    const data = routes(600).map((t) => JSON.parse(t) as unknown);
    const bare = chunkedSection('a'.repeat(64), { status: 'ok', data })!;
    expect(bare.hash).toBe('a'.repeat(64));
    expect(bare.chunks.every((c) => c.data === undefined)).toBe(true);
    const want = new Set([bare.chunks[1]!.hash]);
    const some = chunkedSection('a'.repeat(64), { status: 'ok', data }, want)!;
    expect(some.chunks.filter((c) => c.data !== undefined).map((c) => c.hash)).toEqual([bare.chunks[1]!.hash]);
    expect(some.chunks.flatMap((c, k) => (c.data ? [] : [k]))).toHaveLength(bare.chunks.length - 1);
  });

  it('the contract takes a chunked section and refuses one that also carries data, or a malformed chunk hash', () => {
    const r = toReport(meshSnapshot(0, 4, 1), { agentId: 'agent-aaaaaaaa', seq: 1 });
    const chunks = [{ hash: 'c'.repeat(64) }, { hash: 'd'.repeat(64), data: [peerRoute(1)] }];
    const withChunks = (section: object) => Report.safeParse({ ...r, sections: { ...r.sections, routes: { hash: r.sections.routes.hash, ...section } } });
    expect(withChunks({ chunks }).success).toBe(true);
    const both = withChunks({ chunks, data: r.sections.routes.data });
    expect(both.success).toBe(false);
    expect(both.error?.issues.map((i) => i.message).join('; ')).toMatch(/chunks travel alone/);
    expect(withChunks({ chunks: [{ hash: 'xyz' }] }).success).toBe(false);
  });

  it('does not chunk short lists or sections that are not ok lists', () => {
    const data = routes(MIN_CHUNKED_ENTRIES - 1).map((t) => JSON.parse(t) as unknown);
    expect(chunkedSection('a'.repeat(64), { status: 'ok', data })).toBeNull();
    expect(chunkedSection('a'.repeat(64), { status: 'unavailable', reason: 'command-failed', detail: 'x' })).toBeNull();
    expect(chunkedSection('a'.repeat(64), { status: 'ok', data: { hostSets: [] } })).toBeNull();
  });
});
