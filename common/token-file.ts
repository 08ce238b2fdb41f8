/**
 * The bearer-token file (trimmed; one token without whitespace), read by the CLI and re-read by the
 * daemons so a rotated token takes effect. Its own module with no dependencies, so the CLI's
 * aggregator requests do not load zod with common/config.ts (#17: cold start). Stateless.
 */
import { readFile } from 'node:fs';

// node:fs's callback form: node:fs/promises would load readline and the fs watchers with it (~2 ms)
const readText = (path: string): Promise<string> => new Promise((resolve, reject) => readFile(path, 'utf8', (err, text) => (err ? reject(err) : resolve(text))));

export type TokenResult = { ok: true; token: string } | { ok: false; message: string };

/** Reads the bearer token file (trimmed). Missing, unreadable or empty → an error message. */
export const readTokenFile = async (path: string): Promise<TokenResult> => {
  let text: string;
  try {
    text = await readText(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : (err as Error).message;
    return { ok: false, message: `token file ${path} ${why}` };
  }
  const token = text.trim();
  if (token === '') return { ok: false, message: `token file ${path} is empty` };
  if (/\s/.test(token)) return { ok: false, message: `token file ${path} must hold one token without whitespace` };
  return { ok: true, token };
};
