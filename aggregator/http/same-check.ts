/**
 * "Would this schema give the value back as it is?", compiled from a zod schema (issue #17: the
 * steady report's cost).
 *
 * `sameCheck(schema)` is a predicate that is true only when the schema accepts a value AND its
 * parse output equals the value: the same own keys in the same order, the same primitives, arrays
 * of the same length, all the way down. Then the value itself can stand for the parse's output,
 * and the parse (which copies every object and array it walks: most of a steady report's
 * allocations) is not needed. When the predicate is false nothing is known: the caller runs the
 * schema as before, so what is accepted or refused, and every error, stays the schema's.
 *
 * The predicate follows zod 4's own parse rules for the schema kinds it knows (string, number,
 * boolean, null, any/unknown, literal, enum, optional, nullable, default (of a value present), array, object
 * without catchall or with a strict one, record with plain string keys, discriminated union), and answers false for
 * every other kind (transforms, pipes, defaults, plain unions, …: false is always safe). Checks
 * (min/max, int, regex, url, refine, superRefine) are the schema's own check functions, run on the
 * value as zod runs them on its copy; only the integer and bound checks of numbers, which every
 * counter carries, are done inline. An object's output lists its keys in the shape's order, so a
 * value whose keys come in another order (or with keys the shape does not know, which zod strips)
 * is not "the same" and gets false.
 *
 * Pure; the compiled predicates are cached per schema object.
 */
import type { z } from 'zod';

export type SameCheck = (value: unknown) => boolean;

/** The zod internals the compiler reads (zod 4 core: `schema._zod`). */
interface Internals {
  def: {
    type: string;
    checks?: CheckInst[];
    coerce?: boolean;
    shape?: Record<string, ZodLike>;
    catchall?: ZodLike;
    element?: ZodLike;
    innerType?: ZodLike;
    keyType?: ZodLike;
    valueType?: ZodLike;
    options?: ZodLike[];
    discriminator?: string;
    unionFallback?: boolean;
    mode?: string;
    format?: string;
  };
  traits: Set<string>;
  optin?: string;
  optout?: string;
  values?: Set<unknown>;
  propValues?: Record<string, Set<unknown>>;
}
interface ZodLike {
  _zod: Internals;
}
interface CheckInst {
  _zod: {
    def: { check: string; when?: (payload: Payload) => boolean; format?: string; value?: unknown; inclusive?: boolean };
    check: (payload: Payload) => unknown;
  };
}
interface Payload {
  value: unknown;
  issues: unknown[];
}

const NEVER: SameCheck = () => false;
const ALWAYS: SameCheck = () => true;

const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/**
 * The schema's checks as zod runs them on a value it accepted (schemas.ts runChecks): each in
 * order unless its `when` says not to; any issue, or a check that replaces the value, is false.
 */
const runChecks = (checks: readonly CheckInst[]): SameCheck => {
  if (checks.length === 0) return ALWAYS;
  return (value) => {
    const payload: Payload = { value, issues: [] };
    for (const ch of checks) {
      const when = ch._zod.def.when;
      if (when !== undefined && !when(payload)) continue;
      const r = ch._zod.check(payload);
      if (r instanceof Promise) return false;
      if (payload.issues.length > 0 || payload.value !== value) return false;
    }
    return true;
  };
};

/** The checks zod runs for a schema: the schema itself first when it is a check too (string formats), then its own. */
const checksOf = (s: ZodLike): CheckInst[] => [...(s._zod.traits.has('$ZodCheck') ? [s as unknown as CheckInst] : []), ...(s._zod.def.checks ?? [])];

/** A number's checks: integer (safeint) and bounds inline, the rest as zod runs them. */
const numberCheck = (checks: readonly CheckInst[]): SameCheck => {
  let int = false;
  let min = -Infinity;
  let minInclusive = true;
  let max = Infinity;
  let maxInclusive = true;
  const rest: CheckInst[] = [];
  for (const ch of checks) {
    const d = ch._zod.def;
    if (d.when !== undefined) rest.push(ch);
    else if (d.check === 'number_format' && d.format === 'safeint') int = true;
    else if (d.check === 'greater_than' && typeof d.value === 'number' && d.value >= min) {
      min = d.value;
      minInclusive = d.inclusive === true;
    } else if (d.check === 'less_than' && typeof d.value === 'number' && d.value <= max) {
      max = d.value;
      maxInclusive = d.inclusive === true;
    } else rest.push(ch);
  }
  const others = runChecks(rest);
  return (v) =>
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!int || Number.isSafeInteger(v)) &&
    (minInclusive ? v >= min : v > min) &&
    (maxInclusive ? v <= max : v < max) &&
    (rest.length === 0 || others(v));
};

/** A shape key a plain object could answer without owning it (zod reads presence with `in`). */
const inherited = (key: string): boolean => key in Object.prototype || key === '__proto__';
/** Keys V8 orders before the others whatever the insertion order. */
const indexLike = (key: string): boolean => /^(0|[1-9]\d*)$/.test(key);

const cache = new WeakMap<object, SameCheck>();

/** The "same value" predicate of `schema` (see the module comment). */
export const sameCheck = (schema: z.ZodType): SameCheck => compile(schema as unknown as ZodLike);

const compile = (s: ZodLike): SameCheck => {
  const held = cache.get(s);
  if (held !== undefined) return held;
  // a recursive schema reaches itself through a getter: the inner reference answers false
  cache.set(s, NEVER);
  const c = build(s);
  cache.set(s, c);
  return c;
};

const build = (s: ZodLike): SameCheck => {
  const z = s._zod;
  const def = z.def;
  if (def.coerce) return NEVER;
  const checks = checksOf(s);
  switch (def.type) {
    case 'string': {
      const more = runChecks(checks);
      return checks.length === 0 ? (v) => typeof v === 'string' : (v) => typeof v === 'string' && more(v);
    }
    case 'number':
      return numberCheck(checks);
    case 'boolean': {
      const more = runChecks(checks);
      return (v) => typeof v === 'boolean' && more(v);
    }
    case 'null':
      return checks.length === 0 ? (v) => v === null : NEVER;
    case 'any':
    case 'unknown':
      return runChecks(checks);
    case 'literal':
    case 'enum': {
      const values = z.values;
      if (values === undefined) return NEVER;
      const more = runChecks(checks);
      return (v) => values.has(v) && more(v);
    }
    case 'optional': {
      if (def.innerType === undefined || def.innerType._zod.optin === 'defaulted') return NEVER;
      const inner = compile(def.innerType);
      const more = runChecks(checks);
      return (v) => (v === undefined || inner(v)) && more(v);
    }
    case 'default': {
      // a value present is parsed by the inner schema (only an absent one, or one it makes undefined, takes the default)
      if (def.innerType === undefined) return NEVER;
      const inner = compile(def.innerType);
      const more = runChecks(checks);
      return (v) => v !== undefined && inner(v) && more(v);
    }
    case 'nullable': {
      if (def.innerType === undefined) return NEVER;
      const inner = compile(def.innerType);
      const more = runChecks(checks);
      return (v) => (v === null || inner(v)) && more(v);
    }
    case 'array': {
      if (def.element === undefined) return NEVER;
      const element = compile(def.element);
      const more = runChecks(checks);
      return (v) => {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
        return more(v);
      };
    }
    case 'object':
      return objectCheck(def.shape ?? {}, def.catchall, checks);
    case 'record': {
      const key = def.keyType;
      const value = def.valueType;
      if (key === undefined || value === undefined || def.mode !== undefined) return NEVER;
      const k = key._zod;
      if (k.def.type !== 'string' || k.def.coerce || checksOf(key).length > 0) return NEVER;
      const values = compile(value);
      const more = runChecks(checks);
      return (v) => {
        if (!isPlain(v)) return false;
        for (const name of Object.keys(v)) if (name === '__proto__' || !values(v[name])) return false;
        return more(v);
      };
    }
    case 'union': {
      // a discriminated union picks its option by the discriminator's value, then parses with it
      const disc = def.discriminator;
      if (disc === undefined || def.unionFallback || def.options === undefined) return NEVER;
      const byValue = new Map<unknown, SameCheck | null>();
      for (const option of def.options) {
        const values = option._zod.propValues?.[disc];
        if (values === undefined || values.size === 0) return NEVER;
        const c = compile(option);
        for (const value of values) byValue.set(value, byValue.has(value) ? null : c);
      }
      const more = runChecks(checks);
      return (v) => {
        if (!isPlain(v)) return false;
        const option = byValue.get(v[disc]);
        return option !== undefined && option !== null && option(v) && more(v);
      };
    }
    default:
      return NEVER;
  }
};

/**
 * An object: a plain object whose own keys are shape keys in the shape's order (zod builds its
 * output in that order and strips the others), each value the same under its schema, every shape
 * key it lacks optional (zod then leaves it out); then the object's own checks (refinements).
 */
const objectCheck = (shape: Record<string, ZodLike>, catchall: ZodLike | undefined, checks: readonly CheckInst[]): SameCheck => {
  if (catchall !== undefined && catchall._zod.def.type !== 'never') return NEVER;
  const keys = Object.keys(shape);
  if (keys.some((k) => inherited(k) || indexLike(k))) return NEVER;
  const index = new Map(keys.map((k, i) => [k, i]));
  const fields = keys.map((k) => compile(shape[k]!));
  const omittable = keys.map((k) => shape[k]!._zod.optin === 'optional' && shape[k]!._zod.optout === 'optional');
  const required = omittable.filter((o) => !o).length;
  const more = runChecks(checks);
  return (v) => {
    if (!isPlain(v)) return false;
    let at = -1;
    let present = 0;
    for (const key in v) {
      const i = index.get(key);
      if (i === undefined || i <= at || !Object.hasOwn(v, key)) return false;
      at = i;
      if (!omittable[i]) present++;
      if (!fields[i]!(v[key])) return false;
    }
    return present === required && more(v);
  };
};
