/**
 * The calico-diag version, from the package.json found upward from this module (in src and in
 * dist). Its own module, with no dependencies, so the CLI can print `--version`/`--help` without
 * loading the agent's config and zod (#17: cold start). Stateless.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageVersion = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'calico-diag' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  return '0.0.0-unknown';
};
