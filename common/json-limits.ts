/**
 * Structural bounds for JSON that crosses the wire (#16): how deep it nests, how long a string
 * and how many entries an array or object may have. Checked on the raw parsed body before the zod
 * schema, so a hostile or broken sender gets a 400 naming the place, and nothing downstream
 * (correlation, serialisers, logs, metrics) ever meets a structure thousands of levels deep or a
 * megabyte-long string. The walk is iterative: the check itself cannot overflow the stack.
 * Pure, except the fastify hook at the end.
 */
import createError from '@fastify/error';

export const BodyOutsideLimits = createError('BODY_LIMITS', 'request body outside the limits at %s', 400);
export interface JsonLimits {
  maxDepth: number;
  maxStringLength: number;
  maxArrayLength: number;
  maxObjectKeys: number;
}

/**
 * A node report. The deepest real report nests 8 levels (sections → routes → data → route →
 * nexthops → hop); the longest real strings are iptables rule texts (a few KiB); the longest
 * arrays are per-peer lists and set members of the largest clusters (a 5000-node mesh: ~5000).
 */
export const REPORT_LIMITS: JsonLimits = {
  maxDepth: 16,
  maxStringLength: 16 * 1024,
  maxArrayLength: 250_000,
  maxObjectKeys: 4_096,
};

/** A small request (a capture, a probe, a diagnosis): nothing in it needs more. */
export const REQUEST_LIMITS: JsonLimits = {
  maxDepth: 8,
  maxStringLength: 4 * 1024,
  maxArrayLength: 1_000,
  maxObjectKeys: 256,
};

export interface LimitViolation {
  /** where, as a JSON path (`$.findings[3].evidence.details.a`) */
  path: string;
  problem: string;
}

const pathOf = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key.slice(0, 64))}]`;

/** The first place where `value` exceeds `limits`, or null when it is within them. */
export const checkJsonLimits = (value: unknown, limits: JsonLimits): LimitViolation | null => {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '$', depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength) return { path, problem: `string of ${v.length} characters (at most ${limits.maxStringLength})` };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= limits.maxDepth) return { path, problem: `nested deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(v)) {
      if (v.length > limits.maxArrayLength) return { path, problem: `array of ${v.length} entries (at most ${limits.maxArrayLength})` };
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: pathOf(path, i), depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > limits.maxObjectKeys) return { path, problem: `object with ${keys.length} keys (at most ${limits.maxObjectKeys})` };
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (k.length > limits.maxStringLength) return { path, problem: `key of ${k.length} characters (at most ${limits.maxStringLength})` };
      stack.push({ v: (v as Record<string, unknown>)[k], path: pathOf(path, k), depth: depth + 1 });
    }
  }
  return null;
};

/**
 * A fastify preValidation hook refusing a body outside `limits` with a 400 BODY_LIMITS error that
 * names the place, before the schema (and anything after it) walks the body.
 */
export const bodyWithin =
  (limits: JsonLimits) =>
  async (request: { body?: unknown }): Promise<void> => {
    if (request.body === undefined || request.body === null) return;
    const v = checkJsonLimits(request.body, limits);
    if (v !== null) throw new BodyOutsideLimits(`${v.path}: ${v.problem}`);
  };
