/**
 * Timeouts for both services' HTTP servers, so a slow or silent client cannot hold a socket, a
 * report-ingest slot or memory (#16). Node enforces the request and header deadlines on a timer
 * that runs every `checkEveryMs`; idle sockets are closed after `idleMs` without traffic.
 * Stateless.
 */
export interface ServerTimeouts {
  /** the whole request, headers and body, must arrive within this */
  requestMs: number;
  /** the request headers must arrive within this (≤ requestMs) */
  headersMs: number;
  /** a socket with no traffic for this long is closed */
  idleMs: number;
  /** an idle kept-alive socket is closed after this */
  keepAliveMs: number;
  /** how often node checks the request and header deadlines */
  checkEveryMs: number;
}

/** A full 5000-node report (~2.3 MiB) arrives well within 30 s on any cluster network. */
export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  requestMs: 30_000,
  headersMs: 10_000,
  idleMs: 60_000,
  keepAliveMs: 5_000,
  checkEveryMs: 1_000,
};

/** The fastify constructor options that apply `t` (node's http server options included). */
export const serverTimeoutOptions = (t: ServerTimeouts = DEFAULT_SERVER_TIMEOUTS) => ({
  requestTimeout: t.requestMs,
  connectionTimeout: t.idleMs,
  keepAliveTimeout: t.keepAliveMs,
  http: {
    requestTimeout: t.requestMs,
    headersTimeout: Math.min(t.headersMs, t.requestMs),
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: t.checkEveryMs,
  },
});
