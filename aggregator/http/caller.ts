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

/** An onRequest hook: `Authorization: Bearer <credential>`, verified by `auth`. */
export const authenticate =
  (auth: Authenticator) =>
  async (request: FastifyRequest): Promise<void> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!m?.[1]) throw new Unauthorized();
    let caller: Caller | null;
    try {
      caller = await auth.authenticate(m[1]);
    } catch (err) {
      throw new AuthUnavailable(err instanceof Error ? err.message : String(err));
    }
    if (!caller) throw new Unauthorized();
    callers.set(request, caller);
  };
