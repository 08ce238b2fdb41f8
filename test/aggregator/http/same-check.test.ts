/**
 * sameCheck (aggregator/http/same-check.ts) says a value is what its zod schema would give back:
 * true must mean the schema accepts the value and its output is the value again (same keys in the
 * same order, same primitives); for the schema kinds it knows it must also say true whenever that
 * holds, so the report route's fast path applies to real reports. Checked on schema kinds one by
 * one, on reports the agent's own parsers build from the lab's recorded kernel outputs and on the
 * benchmark's mesh reports, and over seeded mutations deep inside reports.
 */
import { describe, expect, it } from 'vitest';
import { labNode1Report } from '../../helpers/lab-report.js';
import { z } from 'zod';
import { ackedOf, meshSnapshot, toReport } from '../../../bench/aggregator-mesh.js';
import { mulberry32 } from '../../../bench/prng.js';
import { sameCheck } from '../../../aggregator/http/same-check.js';
import { Report } from '../../../contract/report.js';

/** What zod says of `value`: refused, or accepted with an output equal to the value (same JSON text, so same key order) or not. */
const zodSays = (schema: z.ZodType, value: unknown): 'refused' | 'same' | 'changed' => {
  const r = schema.safeParse(value);
  if (!r.success) return 'refused';
  return JSON.stringify(r.data) === JSON.stringify(value) ? 'same' : 'changed';
};

/** sameCheck agrees with zod exactly: true when and only when the schema gives the value back. */
const agrees = (schema: z.ZodType, values: readonly unknown[]): void => {
  const check = sameCheck(schema);
  for (const v of values) expect(check(v), JSON.stringify(v)).toBe(zodSays(schema, v) === 'same');
};


const fullMesh = (): Record<string, unknown> => JSON.parse(JSON.stringify(toReport(meshSnapshot(3, 8, 1), { agentId: 'agent-00000003', seq: 1 }))) as Record<string, unknown>;
const steadyMesh = (): Record<string, unknown> => {
  const acked = ackedOf(toReport(meshSnapshot(3, 8, 1), { agentId: 'agent-00000003', seq: 1 }));
  for (const name of ['links', 'iptables', 'sysctls']) acked.delete(name);
  return JSON.parse(JSON.stringify(toReport(meshSnapshot(3, 8, 2), { agentId: 'agent-00000003', seq: 2 }, acked))) as Record<string, unknown>;
};

describe('sameCheck', () => {
  it('says true of reports the agent builds, full and steady, and of the lab node report', () => {
    const check = sameCheck(Report);
    for (const [what, body] of [['lab', labNode1Report()], ['full mesh', fullMesh()], ['steady mesh', steadyMesh()]] as const) {
      expect(zodSays(Report, body), what).toBe('same');
      expect(check(body), what).toBe(true);
    }
  });

  it('follows strings and their checks (lengths in code points, patterns, formats)', () => {
    agrees(z.string(), ['', 'a', 7, null, undefined, {}, []]);
    agrees(z.string().min(2).max(3), ['a', 'ab', 'abc', 'abcd', '😀', '😀😀', '😀😀😀😀', 'a😀']);
    agrees(z.string().regex(/^[0-9a-f]{4}$/), ['abcd', 'ABCD', 'abc', 'abcde', 'zzzz']);
    agrees(z.string().url(), ['http://10.0.0.1:9479', 'not a url', '']);
    agrees(z.string().trim(), [' a', 'a']);
  });

  it('follows numbers: integers within the safe range, bounds inclusive or not, finite only', () => {
    agrees(z.number(), [0, -1, 1.5, Number.NaN, Infinity, '1', null]);
    agrees(z.number().int().nonnegative(), [0, 3, -1, 1.5, 2 ** 53, 2 ** 53 - 1, -(2 ** 53)]);
    agrees(z.number().positive(), [0, 0.1, -1]);
    agrees(z.number().int().min(2).max(4), [1, 2, 4, 5, 3.5]);
    agrees(z.number().multipleOf(3), [3, 4, 0]);
  });

  it('follows literals, enums, booleans, null, optional and nullable', () => {
    agrees(z.literal(1), [1, 2, '1']);
    agrees(z.enum(['a', 'b']), ['a', 'b', 'c', null]);
    agrees(z.boolean(), [true, false, 0, 'true']);
    agrees(z.null(), [null, undefined, 0]);
    agrees(z.string().nullable(), [null, 'a', undefined, 1]);
    agrees(z.string().optional(), [undefined, 'a', null]);
  });

  it('follows objects: keys in the shape order, unknown keys stripped, optional keys left out, strict objects', () => {
    const o = z.object({ a: z.string(), b: z.number().optional(), c: z.boolean().nullable() });
    agrees(o, [{ a: 'x', b: 1, c: true }, { a: 'x', c: null }, { b: 1, a: 'x', c: true }, { a: 'x', b: 1, c: true, d: 1 }, { a: 'x', b: 1 }, { a: 'x', b: '1', c: true }, [], null, 'x']);
    const strict = z.strictObject({ a: z.string() });
    agrees(strict, [{ a: 'x' }, { a: 'x', b: 1 }]);
    const loose = z.looseObject({ a: z.string() });
    expect(sameCheck(loose)({ a: 'x' })).toBe(false); // not a kind it knows: false, the schema decides
    const inherited = Object.assign(Object.create({ b: 1 }) as object, { a: 'x', c: true });
    expect(sameCheck(o)(inherited)).toBe(false);
  });

  it('follows arrays with their length checks, records with string keys, discriminated unions, refinements', () => {
    agrees(z.array(z.number().int()).min(1).max(2), [[], [1], [1, 2], [1, 2, 3], [1.5], {}]);
    agrees(z.record(z.string(), z.number().int()), [{}, { a: 1, b: 2 }, { b: 2, a: 1 }, { 2: 1, a: 3, 1: 2 }, { a: 'x' }, []]);
    const u = z.discriminatedUnion('status', [z.object({ status: z.literal('ok'), data: z.number() }), z.object({ status: z.literal('unavailable'), detail: z.string() })]);
    agrees(u, [{ status: 'ok', data: 1 }, { status: 'unavailable', detail: 'x' }, { status: 'ok', detail: 'x' }, { status: 'other' }, { data: 1, status: 'ok' }, null]);
    const refined = z.object({ a: z.number().optional(), b: z.number().optional() }).refine((v) => v.a === undefined || v.b === undefined);
    agrees(refined, [{ a: 1 }, { b: 1 }, { a: 1, b: 1 }, {}]);
    const superRefined = z.array(z.number()).superRefine((xs, ctx) => {
      if (xs.length > 1 && xs[0]! > xs[1]!) ctx.addIssue({ code: 'custom', message: 'unsorted' });
    });
    agrees(superRefined, [[1, 2], [2, 1], []]);
  });

  it('follows defaults: a value present is the inner schema\'s, an absent one is filled in', () => {
    agrees(z.object({ a: z.number().default(1), b: z.string() }), [{ a: 2, b: 'x' }, { b: 'x' }, { a: 'x', b: 'x' }]);
  });

  it('says false of kinds that give something else back (transforms, plain unions)', () => {
    expect(sameCheck(z.string().transform((s) => s.length))('a')).toBe(false);
    expect(sameCheck(z.union([z.string(), z.number()]))('a')).toBe(false);
  });

  it('never says true of a mutated report unless the schema gives it back the same (seeded mutations deep inside)', () => {
    const check = sameCheck(Report);
    const rnd = mulberry32(23);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const values: unknown[] = [null, -1, 0, 1.5, 2 ** 53, 7, '', 'x', 'a'.repeat(64), 'A'.repeat(16), [], {}, true, { hash: 'b'.repeat(16) }, 'ok', 'unavailable', 'not-present', 'legacy'];
    const seeds = [labNode1Report, fullMesh, steadyMesh];
    /** every container in `v` with the path to it */
    const containers = (v: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] => {
      if (v !== null && typeof v === 'object') {
        out.push(v as Record<string, unknown>);
        for (const x of Object.values(v)) containers(x, out);
      }
      return out;
    };
    const outcomes = { same: 0, changed: 0, refused: 0 };
    for (let c = 0; c < 1500; c++) {
      const body = seeds[c % seeds.length]!();
      const all = containers(body);
      for (let m = 1 + Math.floor(rnd() * 2); m > 0; m--) {
        const target = pick(all);
        const keys = Object.keys(target);
        const r = rnd();
        if (Array.isArray(target)) {
          if (r < 0.5 && target.length > 0) target[Math.floor(rnd() * target.length)] = pick(values);
          else if (r < 0.75 && target.length > 0) target.push(structuredClone(target[0]));
          else target.splice(0, 1);
        } else if (r < 0.5 && keys.length > 0) target[pick(keys)] = pick(values);
        else if (r < 0.65 && keys.length > 0) delete target[pick(keys)];
        else if (r < 0.8 && keys.length > 1) {
          const k = keys[0]!;
          const v = target[k];
          delete target[k];
          target[k] = v; // the first key moved last
        } else target[pick(['extra', 'data', 'hash', 'warnings', 'encapsulation'])] = pick(values);
      }
      const says = zodSays(Report, body);
      outcomes[says]++;
      expect(check(body), `case ${c}: zod says ${says}`).toBe(says === 'same');
    }
    // the mutations reach every outcome
    expect(outcomes.same).toBeGreaterThan(50);
    expect(outcomes.changed).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(300);
  });
});
