/**
 * Configuration pieces both services and the CLI share: the listen address, the bearer-token file
 * (re-read by the daemons so a rotated token takes effect) and the calico-diag version.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const Listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/, 'must be HOST:PORT (e.g. 0.0.0.0:9477)')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    return { host, port: Number(s.slice(i + 1)) };
  })
  .refine((l) => l.port >= 1 && l.port <= 65535, 'port must be 1..65535');
export type Listen = z.output<typeof Listen>;

export type TokenResult = { ok: true; token: string } | { ok: false; message: string };

/** Reads the bearer token file (trimmed). Missing, unreadable or empty → an error message. */
export const readTokenFile = async (path: string): Promise<TokenResult> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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

/** The calico-diag version from package.json: common/version.ts, its own module so the CLI's help does not load zod (#17). */
export { packageVersion } from './version.js';
