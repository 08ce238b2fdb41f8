/**
 * The authenticated caller of a /v1 request, set by the scope's onRequest hook (app.ts) and read by
 * the routes that care (reports: a node may report only for itself). Per-request state in a
 * WeakMap: gone with the request.
 */
import createError from '@fastify/error';
import type { FastifyRequest } from 'fastify';
import { Unauthorized } from '../../common/http.js';
import type { Authenticator, Caller } from '../auth/identity.js';

export const AuthUnavailable = createError('AUTH_UNAVAILABLE', 'cannot verify the credential now: %s', 503);

const callers = new WeakMap<FastifyRequest, Caller>();

export const callerOf = (request: FastifyRequest): Caller | undefined => callers.get(request);

/**
 * An onRequest hook: `Authorization: Bearer <credential>`, verified by `auth`; or the bare
 * credential in `altHeader` (the API server's service proxy drops Authorization, see common/http.ts).
 */
export const authenticate =
  (auth: Authenticator, opts: { altHeader?: string } = {}) =>
  async (request: FastifyRequest): Promise<void> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const alt = opts.altHeader === undefined ? undefined : request.headers[opts.altHeader.toLowerCase()];
    const presented = m?.[1] ?? (typeof alt === 'string' ? alt.trim() : undefined);
    if (!presented) throw new Unauthorized();
    let caller: Caller | null;
    try {
      caller = await auth.authenticate(presented);
    } catch (err) {
      throw new AuthUnavailable(err instanceof Error ? err.message : String(err));
    }
    if (!caller) throw new Unauthorized();
    callers.set(request, caller);
  };
