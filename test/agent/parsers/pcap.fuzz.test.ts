/**
 * Seeded mutation fuzzing of the pcap decoder over the real captures: it must never throw, and
 * whatever it returns must be a typed error or records that satisfy the wire schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureRecord } from '../../../contract/capture.js';
import { parsePcap } from '../../../agent/parsers/pcap.js';
import { mulberry32 as prng } from '../../../bench/prng.js';

const FIX = join(import.meta.dirname, '../../fixtures/pcap');
const seeds = readdirSync(FIX)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(FIX, f))) }));


const mutate = (src: Uint8Array, rnd: () => number): Uint8Array => {
  const b = new Uint8Array(src);
  const op = Math.floor(rnd() * 5);
  const pos = () => Math.floor(rnd() * b.length);
  if (op === 0) {
    for (let i = 0, n = 1 + Math.floor(rnd() * 8); i < n; i++) b[pos()] = Math.floor(rnd() * 256);
    return b;
  }
  if (op === 1) return b.subarray(0, pos());
  if (op === 2) {
    // flip bytes inside the first packet's headers (where the decoder branches)
    for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) {
      const j = Math.min(b.length - 1, 40 + Math.floor(rnd() * 100));
      b[j] = (b[j] ?? 0) ^ (1 << Math.floor(rnd() * 8));
    }
    return b;
  }
  if (op === 3) {
    // a random caplen in the first record header
    const v = new DataView(b.buffer);
    if (b.length >= 40) v.setUint32(32, Math.floor(rnd() * 0xffffffff), true);
    return b;
  }
  // splice random garbage in the middle
  const at = pos();
  const junk = Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
  const out = new Uint8Array(b.length + junk.length);
  out.set(b.subarray(0, at));
  out.set(junk, at);
  out.set(b.subarray(at), at + junk.length);
  return out;
};

describe('parsePcap fuzz (seeded mutations of real captures)', () => {
  it('never throws and returns schema-valid records or a typed error over 6000 mutants', () => {
    const rnd = prng(0x5eed);
    let errors = 0;
    let records = 0;
    let truncated = 0;
    for (let i = 0; i < 6000; i++) {
      const seed = seeds[i % seeds.length]!;
      const input = mutate(seed.bytes, rnd);
      let result: ReturnType<typeof parsePcap>;
      try {
        result = parsePcap(input, { interface: 'eth0' });
      } catch (err) {
        throw new Error(`mutant ${i} of ${seed.name} threw: ${(err as Error).message}`, { cause: err });
      }
      if (!result.ok) {
        errors++;
        expect(['empty', 'truncated', 'syntax', 'incompatible']).toContain(result.error.code);
        continue;
      }
      for (const r of result.value.records) {
        records++;
        if (r.truncated) truncated++;
        const check = CaptureRecord.safeParse(r);
        if (!check.success) throw new Error(`mutant ${i} of ${seed.name}: invalid record ${JSON.stringify(r)}`);
      }
      expect(result.value.records.length).toBeLessThanOrEqual(result.value.packets);
    }
    // the mutations exercise both outcomes: typed errors and (partly) decoded captures
    expect(errors).toBeGreaterThan(50);
    expect(records).toBeGreaterThan(10_000);
    expect(truncated).toBeGreaterThan(0);
  });

  it('random bytes behind a valid header never throw', () => {
    const rnd = prng(42);
    const header = seeds[0]!.bytes.subarray(0, 24);
    for (let i = 0; i < 3000; i++) {
      const body = Uint8Array.from({ length: Math.floor(rnd() * 400) }, () => Math.floor(rnd() * 256));
      const input = new Uint8Array(24 + body.length);
      input.set(header);
      input.set(body, 24);
      // link type varies over the decoded ones
      new DataView(input.buffer).setUint32(20, [1, 101, 113, 276][i % 4]!, true);
      expect(() => parsePcap(input)).not.toThrow();
    }
  });
});
