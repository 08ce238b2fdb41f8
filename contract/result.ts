import { z } from 'zod';

/**
 * Why a collector could not deliver its data. A small fixed set: it is a metric label
 * (house rule 7) and what responders filter on.
 */
export const UnavailableReason = z.enum([
  'missing-binary', // the command is not installed
  'timeout', // the command or request did not finish in time and was killed
  'permission-denied', // EPERM/EACCES, or the tool said so
  'invalid-output', // output we could not parse (truncated, invalid JSON, unknown format)
  'output-too-large', // the output cap was hit
  'command-failed', // non-zero exit for another reason
  'incompatible', // e.g. iptables-nft: "Table `x' is incompatible, use 'nft' tool."
  'not-present', // the source does not exist on this node (no BIRD socket, no ipset module)
  'unreachable', // a local endpoint refused or did not answer
]);
export type UnavailableReason = z.infer<typeof UnavailableReason>;

export interface Ok<T> {
  status: 'ok';
  data: T;
}
export interface Unavailable {
  status: 'unavailable';
  reason: UnavailableReason;
  detail: string;
}
export type Collected<T> = Ok<T> | Unavailable;

export const ok = <T>(data: T): Ok<T> => ({ status: 'ok', data });
export const unavailable = (reason: UnavailableReason, detail: string): Unavailable => ({
  status: 'unavailable',
  reason,
  detail,
});

export const UnavailableSchema = z.object({
  status: z.literal('unavailable'),
  reason: UnavailableReason,
  detail: z.string(),
});

/** zod schema of `Collected<T>` for a given data schema. */
export const collected = <T extends z.ZodType>(data: T) =>
  z.discriminatedUnion('status', [z.object({ status: z.literal('ok'), data }), UnavailableSchema]);

/** A pure parser's result: the value, or a typed error that names where the input went wrong. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ParseError };
export interface ParseError {
  code: 'empty' | 'invalid-json' | 'invalid-shape' | 'syntax' | 'truncated' | 'incompatible';
  message: string;
  /** 1-based line number where the problem was found, when the format is line-based. */
  line?: number;
}
export const parsed = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const parseError = (code: ParseError['code'], message: string, line?: number): Parsed<never> => ({
  ok: false,
  error: line === undefined ? { code, message } : { code, message, line },
});
