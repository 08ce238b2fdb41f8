/**
 * mulberry32: a small seeded PRNG (floats in [0, 1)), so that generated rulesets and the tests'
 * fuzz cases are the same on every run and a failure reproduces from its seed. The state lives in
 * the closure of one call: no module state.
 */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed | 0;
  return (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};
