import { describe, expect, it } from 'vitest';
import { checkJsonLimits, REPORT_LIMITS, type JsonLimits } from '../../common/json-limits.js';
import { meshSnapshot, toReport } from '../../bench/aggregator-mesh.js';

const small: JsonLimits = { maxDepth: 4, maxStringLength: 10, maxArrayLength: 3, maxObjectKeys: 3 };

const nested = (levels: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};

describe('JSON structural limits', () => {
  it('accepts values within every limit', () => {
    expect(checkJsonLimits({ a: [1, 'abc', { b: null }], c: true }, small)).toBeNull();
    expect(checkJsonLimits('short', small)).toBeNull();
  });

  it('names the first place that nests too deep', () => {
    expect(checkJsonLimits(nested(5), small)).toEqual({ path: '$.a.a.a.a', problem: 'nested deeper than 4 levels' });
  });

  // #16: a report whose finding details nested thousands of levels deep was accepted, and the
  // findings API then answered 500 to everyone
  it('walks a structure 100 000 levels deep without overflowing the stack', () => {
    const v = nested(100_000);
    expect(checkJsonLimits(v, REPORT_LIMITS)).toMatchObject({ problem: 'nested deeper than 16 levels' });
  });

  it('refuses long strings, long keys, long arrays and wide objects', () => {
    expect(checkJsonLimits({ list: ['ok', 'x'.repeat(11)] }, small)).toEqual({ path: '$.list[1]', problem: 'string of 11 characters (at most 10)' });
    expect(checkJsonLimits({ ['k'.repeat(11)]: 1 }, small)?.problem).toBe('key of 11 characters (at most 10)');
    expect(checkJsonLimits([1, 2, 3, 4], small)).toEqual({ path: '$', problem: 'array of 4 entries (at most 3)' });
    expect(checkJsonLimits({ a: 1, b: 2, c: 3, d: 4 }, small)?.problem).toBe('object with 4 keys (at most 3)');
    expect(checkJsonLimits({ 'odd key': 'x'.repeat(11) }, small)?.path).toBe('$["odd key"]');
  });

  it('accepts a full report of a node in a 5000-node mesh', () => {
    const report = JSON.parse(JSON.stringify(toReport(meshSnapshot(0, 5000, 0), { agentId: 'agent-000001', seq: 0 }))) as unknown;
    expect(checkJsonLimits(report, REPORT_LIMITS)).toBeNull();
  });
});
