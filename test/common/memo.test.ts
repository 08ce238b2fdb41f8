import { describe, expect, it } from 'vitest';
import { perObject } from '../../common/memo.js';

describe('perObject', () => {
  it('computes once per key object and answers the kept value for the same object', () => {
    const made: object[] = [];
    const size = perObject((xs: number[]) => {
      made.push(xs);
      return xs.length;
    });
    const a = [1, 2, 3];
    const b = [1, 2, 3];
    expect([size(a), size(a), size(b), size(a)]).toEqual([3, 3, 3, 3]);
    expect(made).toEqual([a, b]);
    expect(made[0]).toBe(a);
    expect(made[1]).toBe(b);
  });

  it('keeps a value that is undefined instead of computing it again', () => {
    let calls = 0;
    const none = perObject((_k: object): undefined => {
      calls++;
      return undefined;
    });
    const k = {};
    none(k);
    none(k);
    expect(calls).toBe(1);
  });
});
