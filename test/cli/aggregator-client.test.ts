/**
 * The aggregator requests of the CLI (cli/aggregator-client.ts): a plain http:// aggregator is asked
 * through node:http instead of fetch (#17: cold start); what reaches the server and every answer and
 * failure must be what fetch gives.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregatorError, requestAggregator, type AggregatorTarget } from '../../cli/aggregator-client.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let srv: Server;
let base: string;
const seen: Seen[] = [];

beforeAll(async () => {
  srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (req.url === '/moved') return void res.writeHead(307, { location: '/v1/echo' }).end();
      if (req.url === '/broken') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"store\\u001b[31m failed"}');
      if (req.url === '/plain-error') return void res.writeHead(502).end('bad gateway');
      if (req.url === '/auth') return void res.writeHead(401).end('{}');
      if (req.url === '/silent') return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: req.url, ünïcode: 'ß' }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
});

afterAll(() => {
  srv.closeAllConnections();
  srv.close();
});

const target = (path: string, extra: Partial<AggregatorTarget> = {}): AggregatorTarget => ({ url: new URL(path, base), headers: { accept: 'application/json', authorization: 'Bearer t0k' }, tokenFile: 'f', ...extra });

/** the same request through node:http (no fetch given) and through the global fetch */
const both = async (path: string, init: Omit<Parameters<typeof requestAggregator>[1], 'headers'> = {}) => {
  const out: { text?: string; error?: string; status?: number | undefined }[] = [];
  for (const doFetch of [undefined, fetch]) {
    const t = target(path);
    try {
      out.push({ text: await requestAggregator(t, { headers: t.headers, ...init }, doFetch) });
    } catch (err) {
      expect(err).toBeInstanceOf(AggregatorError);
      out.push({ error: (err as Error).message, status: (err as AggregatorError).status });
    }
  }
  return out;
};

describe('aggregator requests over node:http', () => {
  it('send the method, headers and body fetch sends and answer the same text', async () => {
    seen.length = 0;
    const [viaHttp, viaFetch] = await both('/v1/echo?node=a', { method: 'POST', body: JSON.stringify({ from: 'a', to: 'b', note: 'ü' }) });
    expect(viaHttp).toEqual({ text: '{"got":"/v1/echo?node=a","ünïcode":"ß"}' });
    expect(viaFetch).toEqual(viaHttp);
    const [h, f] = seen;
    expect(h).toMatchObject({ method: 'POST', url: '/v1/echo?node=a', body: '{"from":"a","to":"b","note":"ü"}' });
    expect(h!.headers).toMatchObject({ accept: 'application/json', authorization: 'Bearer t0k', 'content-length': String(Buffer.byteLength(h!.body)) });
    expect({ method: f!.method, url: f!.url, body: f!.body }).toEqual({ method: h!.method, url: h!.url, body: h!.body });
  });

  it('follow a redirect as fetch does', async () => {
    seen.length = 0;
    const [viaHttp, viaFetch] = await both('/moved');
    expect(viaHttp).toEqual({ text: '{"got":"/v1/echo","ünïcode":"ß"}' });
    expect(viaFetch).toEqual(viaHttp);
    expect(seen.map((s) => s.url)).toEqual(['/moved', '/moved', '/v1/echo', '/moved', '/v1/echo']);
  });

  it('fail with the same one-line errors as fetch: error answers, 401, unreachable, timeout', async () => {
    const broken = await both('/broken');
    expect(broken[0]).toEqual({ error: 'the aggregator answered 500: store\\x1b[31m failed', status: 500 });
    expect(broken[1]).toEqual(broken[0]);
    const plain = await both('/plain-error');
    expect(plain[0]).toEqual({ error: 'the aggregator answered 502: bad gateway', status: 502 });
    expect(plain[1]).toEqual(plain[0]);
    const auth = await both('/auth');
    expect(auth[0]).toEqual({ error: 'the aggregator refused the request (401): wrong token', status: 401 });
    expect(auth[1]).toEqual(auth[0]);
    const slow = await both('/silent', { signal: AbortSignal.timeout(300) });
    expect(slow[0]?.error).toBe(`cannot reach the aggregator at ${base}: The operation was aborted due to timeout`);
    expect(slow[1]).toEqual(slow[0]);
    // a port nothing listens on (not one of the ports fetch refuses outright, such as 1: "bad port")
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down: string[] = [];
    for (const doFetch of [undefined, fetch]) {
      const t = { ...target('/v1/findings'), url: new URL(`http://127.0.0.1:${port}/v1/findings`) };
      down.push(await requestAggregator(t, { headers: t.headers }, doFetch).then(() => 'answered', (e: Error) => e.message));
    }
    expect(down[0]).toBe(`cannot reach the aggregator at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(down[1]).toBe(down[0]);
  });
});
