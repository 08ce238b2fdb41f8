/**
 * House rule 11 (docs/architecture.md, "Layers and what each may import"): contract/ and common/
 * import nothing of ours; agent/ and aggregator/ import contract/ and common/ but never each other;
 * cli/, lab/ and bench/ sit on top. Checked on every import and export-from specifier, type-only
 * ones included, and on dynamic imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));

const MAY_IMPORT: Record<string, readonly string[]> = {
  contract: ['contract'],
  common: ['common'],
  agent: ['agent', 'contract', 'common'],
  aggregator: ['aggregator', 'contract', 'common'],
};

const tsFiles = (dir: string): string[] =>
  readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });

/** Relative specifiers of static imports, export-from and dynamic imports. */
const specifiers = (source: string): string[] =>
  [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1] as string);

/** `a/b.js` as imported from `from` → the repository path of the TypeScript source. */
const target = (from: string, spec: string): string => relative(repo, resolve(repo, dirname(from), spec)).replace(/\.js$/, '.ts');

const crossings = (): string[] => {
  const out: string[] = [];
  for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
    for (const file of tsFiles(layer)) {
      for (const spec of specifiers(readFileSync(join(repo, file), 'utf8'))) {
        const to = target(file, spec);
        const toLayer = to.split('/')[0] ?? '';
        if (!allowed.includes(toLayer)) out.push(`${file} → ${to}`);
      }
    }
  }
  return out.sort();
};

describe('layer imports', () => {
  it('finds the imports of a file, static, type-only, export-from and dynamic', () => {
    const src = [
      "import { a } from '../x/a.js';",
      "import type { B } from '../../y/b.js';",
      "export { c } from './c.js';",
      "import './side-effect.js';",
      "const d = await import('../z/d.js');",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(specifiers(src)).toEqual(['../x/a.js', '../../y/b.js', './c.js', './side-effect.js', '../z/d.js']);
  });

  it('contract/ and common/ import nothing of ours; agent/ and aggregator/ only contract/, common/ and themselves', () => {
    expect(crossings()).toEqual([]);
  });
});
