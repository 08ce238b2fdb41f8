/**
 * The bearer-token file (trimmed; one token without whitespace), read by the CLI and re-read by the
 * daemons so a rotated token takes effect. Its own module with no dependencies, so the CLI's
 * aggregator requests do not load zod with common/config.ts (#17: cold start). Stateless.
 */
import { readFile, readFileSync } from 'node:fs';

// node:fs's callback form: node:fs/promises would load readline and the fs watchers with it (~2 ms)
const readText = (path: string): Promise<string> => new Promise((resolve, reject) => readFile(path, 'utf8', (err, text) => (err ? reject(err) : resolve(text))));

export type TokenResult = { ok: true; token: string } | { ok: false; message: string };

/** The file's text (or the error reading it) as a TokenResult. */
const tokenOf = (path: string, read: { text: string } | { err: unknown }): TokenResult => {
  if ('err' in read) {
    const code = (read.err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : (read.err as Error).message;
    return { ok: false, message: `token file ${path} ${why}` };
  }
  const token = read.text.trim();
  if (token === '') return { ok: false, message: `token file ${path} is empty` };
  if (/\s/.test(token)) return { ok: false, message: `token file ${path} must hold one token without whitespace` };
  return { ok: true, token };
};

/** Reads the bearer token file (trimmed). Missing, unreadable or empty → an error message. */
export const readTokenFile = async (path: string): Promise<TokenResult> => {
  let read: { text: string } | { err: unknown };
  try {
    read = { text: await readText(path) };
  } catch (err) {
    read = { err };
  }
  return tokenOf(path, read);
};

/**
 * `readTokenFile` in one blocking read, for a CLI command that reads it once before its request:
 * Node's first asynchronous file read starts libuv's thread pool (its threads are created then,
 * ~1 ms of a short command's start, #17), which a command that asks an aggregator by IP address
 * needs for nothing else.
 */
export const readTokenFileSync = (path: string): TokenResult => {
  let read: { text: string } | { err: unknown };
  try {
    read = { text: readFileSync(path, 'utf8') };
  } catch (err) {
    read = { err };
  }
  return tokenOf(path, read);
};
