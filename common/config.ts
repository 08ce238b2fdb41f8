/**
 * Configuration pieces both services and the CLI share: the listen address, the bearer-token file
 * (re-read by the daemons so a rotated token takes effect) and the calico-diag version.
 */
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

/** The bearer-token file reader: common/token-file.ts, its own module so the CLI reads the token without loading zod (#17). */
export { readTokenFile, type TokenResult } from './token-file.js';

/** The calico-diag version from package.json: common/version.ts, its own module so the CLI's help does not load zod (#17). */
export { packageVersion } from './version.js';
