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

/** One container being walked: its entries are visited in order; `keys` is null for an array. */
interface Frame {
  container: unknown[] | Record<string, unknown>;
  keys: string[] | null;
  /** the next entry to visit */
  next: number;
}

/**
 * The first place where `value` exceeds `limits`, or null when it is within them.
 * Issue #17: the walk allocates one frame per container (not per value) and builds the path only
 * for the violation it returns, from the frames open at that point: a full report of a 5000-node
 * mesh has ~10^5 values, and a path string and a stack entry for each were ~10 MB of garbage per
 * report.
 */
export const checkJsonLimits = (value: unknown, limits: JsonLimits): LimitViolation | null => {
  const frames: Frame[] = [];
  /** the path to the entry each open frame is at (the root: `$`) */
  const pathTo = (): string => {
    let path = '$';
    for (const fr of frames) path = pathOf(path, fr.keys === null ? fr.next - 1 : fr.keys[fr.next - 1]!);
    return path;
  };
  /** checks `v`, at depth frames.length (the entry the open frames are at), and opens a frame when it is a container */
  const enter = (v: unknown): LimitViolation | null => {
    if (typeof v === 'string') {
      return v.length > limits.maxStringLength ? { path: pathTo(), problem: `string of ${v.length} characters (at most ${limits.maxStringLength})` } : null;
    }
    if (v === null || typeof v !== 'object') return null;
    if (frames.length >= limits.maxDepth) return { path: pathTo(), problem: `nested deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(v)) {
      if (v.length > limits.maxArrayLength) return { path: pathTo(), problem: `array of ${v.length} entries (at most ${limits.maxArrayLength})` };
      frames.push({ container: v, keys: null, next: 0 });
      return null;
    }
    const keys = Object.keys(v);
    if (keys.length > limits.maxObjectKeys) return { path: pathTo(), problem: `object with ${keys.length} keys (at most ${limits.maxObjectKeys})` };
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k.length > limits.maxStringLength) return { path: pathTo(), problem: `key of ${k.length} characters (at most ${limits.maxStringLength})` };
    }
    frames.push({ container: v as Record<string, unknown>, keys, next: 0 });
    return null;
  };
  const first = enter(value);
  if (first !== null) return first;
  while (frames.length > 0) {
    const fr = frames[frames.length - 1]!;
    const length = fr.keys === null ? (fr.container as unknown[]).length : fr.keys.length;
    if (fr.next >= length) {
      frames.pop();
      continue;
    }
    const at = fr.next++;
    const v = fr.keys === null ? (fr.container as unknown[])[at] : (fr.container as Record<string, unknown>)[fr.keys[at]!];
    const problem = enter(v);
    if (problem !== null) return problem;
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
