import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { localChecks } from '../../agent/checks/index.js';
import { correlateRules } from '../../aggregator/correlate/index.js';
import {
  ARCHITECTURE_DOC,
  CATALOGUE_BEGIN,
  CATALOGUE_END,
  catalogueSection,
  correlationCatalogue,
  localCatalogue,
  renderRuleCatalogue,
  withCatalogue,
} from '../../scripts/rule-catalogue.js';

const doc = readFileSync(ARCHITECTURE_DOC, 'utf8');
const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The rule ids listed in the table that follows `heading` inside the catalogue section. */
const listedAfter = (section: string, heading: string): string[] => {
  const start = section.indexOf(heading);
  if (start < 0) return [];
  const rest = section.slice(start + heading.length);
  const next = rest.indexOf('**', 1);
  const block = next < 0 ? rest : rest.slice(0, next);
  return [...block.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1] as string);
};

describe('docs/architecture.md rule catalogue', () => {
  const section = catalogueSection(doc);

  it('has the generated catalogue between its markers', () => {
    expect(section, `${ARCHITECTURE_DOC} must contain ${CATALOGUE_BEGIN} … ${CATALOGUE_END}`).not.toBeNull();
  });

  it('lists exactly the registered local checks and correlation rules, in registry order', () => {
    expect(listedAfter(section ?? '', '**Local checks**')).toEqual(localChecks.map((c) => c.rule));
    expect(listedAfter(section ?? '', '**Correlation rules**')).toEqual(correlateRules.map((r) => r.id));
  });

  it('matches what the registries render, descriptions included (run `npm run docs:rules` to regenerate)', () => {
    expect(section).toBe(renderRuleCatalogue());
  });

  it('names a source file that exists for every rule', () => {
    for (const e of [...localCatalogue(), ...correlationCatalogue()]) expect(existsSync(`${repo}${e.file}`), e.file).toBe(true);
  });
});

describe('docs/architecture.md paths', () => {
  it('names only files that exist (from the repository root, or inside agent/ or aggregator/ where a paragraph is about one of them)', () => {
    const paths = [...new Set([...doc.matchAll(/`([a-z][a-zA-Z0-9._-]*\/[a-zA-Z0-9._/-]*[a-zA-Z0-9])`/g)].map((m) => m[1] as string))];
    expect(paths.length).toBeGreaterThan(20);
    const missing = paths.filter((p) => !['', 'agent/', 'aggregator/'].some((base) => existsSync(`${repo}${base}${p}`)));
    expect(missing).toEqual([]);
  });
});

describe('rule catalogue rendering', () => {
  it('replaces only the text between the markers, and refuses a document without them', () => {
    const before = `# t\n\n${CATALOGUE_BEGIN}\nold | table\n${CATALOGUE_END}\n\nafter\n`;
    expect(withCatalogue(before, `${CATALOGUE_BEGIN}\nnew\n${CATALOGUE_END}`)).toBe(`# t\n\n${CATALOGUE_BEGIN}\nnew\n${CATALOGUE_END}\n\nafter\n`);
    expect(withCatalogue('# no markers\n', 'x')).toBeNull();
    expect(catalogueSection(`${CATALOGUE_END}\n${CATALOGUE_BEGIN}`)).toBeNull();
  });

  it('keeps every description on one table row, pipes escaped', () => {
    const rendered = renderRuleCatalogue();
    const rows = rendered.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(localChecks.length + correlateRules.length);
    for (const row of rows) expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(5);
  });
});
