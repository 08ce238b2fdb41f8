/**
 * HTTP pieces both services share: bearer-token auth and the coded error shape (house rule 6).
 * Stateless; the token is read through a function so a rotated token file takes effect.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import createError from '@fastify/error';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

export const Unauthorized = createError('UNAUTHORIZED', 'a valid bearer token is required', 401);
export const NotFound = createError('NOT_FOUND', '%s', 404);
export const Conflict = createError('CONFLICT', '%s', 409);
export const Busy = createError('BUSY', '%s', 429);
export const BadRequest = createError('BAD_REQUEST', '%s', 400);
export const Unprocessable = createError('UNPROCESSABLE', '%s', 422);
export const Internal = createError('INTERNAL', '%s', 500);

const digest = (s: string): Buffer => hash('sha256', s, 'buffer');

/**
 * The digest of the last expected token (issue #17: every request compares against the same one or
 * two tokens; a rotated token is a new string and gets its own digest).
 */
let expectedDigest: { token: string; digest: Buffer } | undefined;
const digestOfExpected = (expected: string): Buffer => {
  if (expectedDigest?.token !== expected) expectedDigest = { token: expected, digest: digest(expected) };
  return expectedDigest.digest;
};

/** Constant-time comparison of a presented token with the expected one. */
export const tokenMatches = (presented: string, expected: string): boolean =>
  expected.length > 0 && timingSafeEqual(digest(presented), digestOfExpected(expected));

/**
 * An onRequest hook that requires `Authorization: Bearer <token>` (one of the expected tokens), or, when `altHeader` is given,
 * the bare token in that header. The alternative exists for the Kubernetes API server's service
 * proxy, which authenticates the caller with its own Authorization header and drops it before
 * proxying (the kubectl plugin sends the aggregator token as X-Calico-Diag-Token).
 */
export const requireBearer =
  (expected: () => string | readonly string[], opts: { altHeader?: string } = {}) =>
  async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const alt = opts.altHeader === undefined ? undefined : request.headers[opts.altHeader.toLowerCase()];
    const presented = m?.[1] ?? (typeof alt === 'string' ? alt.trim() : undefined);
    const wanted = expected();
    if (!presented || !(typeof wanted === 'string' ? [wanted] : wanted).some((t) => tokenMatches(presented, t))) throw new Unauthorized();
  };

/** Fields a coded error adds to its body (e.g. `details`): attached with withExtra, sent for 4xx only. */
const EXTRA = Symbol('extra');

/** `err` carrying `extra` body fields (`details`, or a field clients read such as `sections`). */
export const withExtra = <E extends Error>(err: E, extra: Record<string, unknown>): E => Object.assign(err, { [EXTRA]: extra });

/** The one error body both services send: `{statusCode, code, error, message, ...extra}`. */
export const errorBody = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) => ({
  statusCode: status,
  code,
  error: httpErrorName(status),
  message,
  ...extra,
});

/**
 * Error handler giving every failure the body `{statusCode, code, error, message, details?}`:
 * zod validation issues → 400 with the issues, oversized bodies → 413, bad JSON → 400; a coded
 * error's extra fields (withExtra) join its body.
 */
export const installErrorHandler = (app: FastifyInstance): void => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.code(400).send(
        errorBody(400, 'INVALID_REQUEST', `request ${err.validationContext ?? 'body'} does not match the schema`, {
          details: err.validation.map((v) => ({ path: v.instancePath, message: v.message, keyword: v.keyword })),
        }),
      );
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const code =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'BODY_TOO_LARGE'
        : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code?.startsWith('FST_ERR_CTP')
          ? 'INVALID_BODY'
          : (err.code ?? 'INTERNAL');
    if (status >= 500) return reply.code(status).send(errorBody(status, code, 'internal error'));
    return reply.code(status).send(errorBody(status, code, err.message, (err as { [EXTRA]?: Record<string, unknown> })[EXTRA]));
  });
  app.setNotFoundHandler(async (request) => {
    throw new NotFound(`no route ${request.method} ${request.url.split('?')[0]}`);
  });
};

const httpErrorName = (status: number): string =>
  ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests' })[status] ??
  (status >= 500 ? 'Internal Server Error' : 'Error');
