import { describe, expect, it } from 'vitest';
import { alignedCodes } from '../../../aggregator/correlate/common.js';

// deterministic pseudo-random lists over a small shared pool of entry objects
const lcg = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

describe('alignedCodes', () => {
  const pool = Array.from({ length: 30 }, (_, i) => Object.freeze({ id: i }));
  const code = (e: { id: number }) => e.id * 7 - 3;

  it('equals computing every element, whatever the reference list (reordered, missing, extra, repeated entries; reused buffers)', () => {
    const rnd = lcg(7);
    let ref: (typeof pool)[number][] | null = null;
    let refCodes: Int32Array | null = null;
    let spare: Int32Array | null = new Int32Array(64).fill(-99);
    for (let t = 0; t < 300; t++) {
      const base = pool.filter(() => rnd() < 0.9);
      if (rnd() < 0.3) base.sort(() => rnd() - 0.5);
      if (rnd() < 0.3) base.splice(Math.floor(rnd() * base.length), 0, pool[Math.floor(rnd() * pool.length)]!);
      if (rnd() < 0.2) base.push(Object.freeze({ id: 100 + t }));
      let calls = 0;
      const got: Int32Array = alignedCodes(base, ref, refCodes, (e) => (calls++, code(e)), spare);
      expect(Array.from(got.subarray(0, base.length))).toEqual(base.map(code));
      expect(calls).toBeLessThanOrEqual(base.length);
      spare = refCodes; // the caller's ping-pong: the reference's buffer is reused two lists later
      ref = base;
      refCodes = got;
    }
  });

  it('computes only where a mesh neighbour list differs from the reference (one swapped entry)', () => {
    const without = (i: number) => pool.filter((_, j) => j !== i);
    const first = alignedCodes(without(4), null, null, code);
    let calls = 0;
    const next = alignedCodes(without(5), without(4), first, (e) => (calls++, code(e)));
    expect(Array.from(next)).toEqual(without(5).map(code));
    expect(calls).toBe(1);
  });
});
