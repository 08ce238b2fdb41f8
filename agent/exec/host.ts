/**
 * The real `Host`: commands through the given runner, files and directories from the local
 * filesystem, HTTP GET with node:http, and unix-socket exchanges (BIRD's control socket).
 * Every read is bounded (size cap and, for network reads, a timeout) and every failure is a typed
 * result, never an exception.
 * Design/concurrency: stateless; each call owns its file handle / request / socket and releases
 * it before resolving.
 */
import { open, readdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import type { CommandRunner } from './runner.js';
import type { DirRead, FileRead, Host, HttpRead, SocketRead } from '../collectors/types.js';

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_HTTP_BYTES = 1024 * 1024;
export const DEFAULT_MAX_SOCKET_BYTES = 4 * 1024 * 1024;

const errno = (err: unknown): string => (err as NodeJS.ErrnoException | undefined)?.code ?? '';
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const fsKind = (err: unknown): 'not-found' | 'permission-denied' | 'error' => {
  const c = errno(err);
  if (c === 'ENOENT' || c === 'ENOTDIR') return 'not-found';
  if (c === 'EACCES' || c === 'EPERM') return 'permission-denied';
  return 'error';
};

export const readFileCapped = async (path: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<FileRead> => {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    return { ok: false, kind: fsKind(err), message: message(err) };
  }
  try {
    // /proc files report size 0: read until EOF, one byte past the cap to detect overflow.
    const buf = Buffer.alloc(Math.min(maxBytes + 1, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, maxBytes + 1 - total), null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
      total += bytesRead;
      if (total > maxBytes) return { ok: false, kind: 'too-large', message: `${path} is larger than ${maxBytes} bytes` };
    }
    return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    const kind = fsKind(err);
    return { ok: false, kind: kind === 'not-found' ? 'error' : kind, message: message(err) };
  } finally {
    await fh.close().catch(() => undefined);
  }
};

export const listDirectory = async (path: string): Promise<DirRead> => {
  try {
    return { ok: true, entries: (await readdir(path)).sort() };
  } catch (err) {
    return { ok: false, kind: fsKind(err), message: message(err) };
  }
};

/** Connection errors that mean nobody answers at that address. */
const UNREACHABLE = ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];

/**
 * GET with node:http (node:https for an https URL, loaded then): not the global fetch, whose
 * implementation (undici) costs the one-shot snapshot ~15 ms to load (#17). Redirects are not
 * followed (a 3xx is a status like any other); the timeout covers the whole exchange; one
 * connection per request, closed after it.
 */
export const httpGetCapped = async (url: string, timeoutMs: number, maxBytes = DEFAULT_MAX_HTTP_BYTES): Promise<HttpRead> => {
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    return { ok: false, kind: 'error', message: `${url}: ${message(err)}` };
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return { ok: false, kind: 'error', message: `${url}: unsupported protocol ${target.protocol}` };
  // getBuiltinModule, not import(): an ES module namespace of node:http reads all its exports,
  // among them the lazy ones that load undici
  const { request } = target.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  return new Promise<HttpRead>((resolve) => {
    let settled = false;
    const finish = (r: HttpRead): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, kind: 'timeout', message: `${url}: no answer within ${timeoutMs} ms` }), timeoutMs);
    let req: ReturnType<typeof request>;
    try {
      req = request(target, { method: 'GET', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > maxBytes) return finish({ ok: false, kind: 'too-large', message: `${url}: body larger than ${maxBytes} bytes` });
          chunks.push(chunk);
        });
        res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => finish({ ok: false, kind: 'error', message: `${url}: ${message(err)}` }));
      });
    } catch (err) {
      clearTimeout(timer);
      return resolve({ ok: false, kind: 'error', message: `${url}: ${message(err)}` });
    }
    req.on('error', (err) => {
      const code = errno(err);
      finish(UNREACHABLE.includes(code) ? { ok: false, kind: 'unreachable', message: `${url}: ${code}` } : { ok: false, kind: 'error', message: `${url}: ${message(err)}` });
    });
    req.end();
  });
};

/**
 * Connects to a unix stream socket, waits for the greeting line, writes `request`, and reads until
 * `isComplete(received)` (received = greeting + reply), the cap or the timeout. A peer that closes
 * after the request was written yields what was received (the parser reports it truncated).
 */
export const unixExchangeCapped = (
  path: string,
  request: string,
  isComplete: (received: string) => boolean,
  timeoutMs: number,
  maxBytes = DEFAULT_MAX_SOCKET_BYTES,
): Promise<SocketRead> =>
  new Promise((resolve) => {
    let received = '';
    let bytes = 0;
    let sent = false;
    let settled = false;
    const sock = createConnection({ path });
    const finish = (r: SocketRead): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, kind: 'timeout', message: `${path}: no complete reply within ${timeoutMs} ms` }), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      bytes += Buffer.byteLength(chunk);
      if (bytes > maxBytes) return finish({ ok: false, kind: 'too-large', message: `${path}: reply larger than ${maxBytes} bytes` });
      received += chunk;
      if (!sent) {
        if (!received.includes('\n')) return;
        sent = true;
        sock.write(request);
        return;
      }
      if (isComplete(received)) finish({ ok: true, text: received });
    });
    sock.on('error', (err) => {
      const c = errno(err);
      const kind = c === 'ENOENT' ? 'not-found' : c === 'EACCES' || c === 'EPERM' ? 'permission-denied' : c === 'ECONNREFUSED' || c === 'ENOTSOCK' ? 'unreachable' : 'error';
      finish({ ok: false, kind, message: `${path}: ${c || message(err)}` });
    });
    sock.on('close', () => {
      if (sent) finish({ ok: true, text: received });
      else finish({ ok: false, kind: 'unreachable', message: `${path}: closed before the greeting` });
    });
  });

/** The production Host. */
export const realHost = (run: CommandRunner): Host => ({
  run,
  readFile: (path, maxBytes) => readFileCapped(path, maxBytes),
  listDir: (path) => listDirectory(path),
  httpGet: (url, timeoutMs) => httpGetCapped(url, timeoutMs),
  unixExchange: (path, request, isComplete, timeoutMs) => unixExchangeCapped(path, request, isComplete, timeoutMs),
});
