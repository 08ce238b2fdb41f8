/**
 * Where the corpus suite (`npm run test:corpus`) finds the shared corpus of real command outputs:
 * CALICO_DIAG_CORPUS, or ../shared/corpus beside the repository (CI puts it there). Most of its files
 * carry no licence that allows copying them, so they are read in place and only by this suite; the
 * default suite (`npm test`) never reads them (#13). Without the corpus this suite fails with one
 * clear line instead of passing empty: .ci/run starts it only when the directory exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

export const corpusRoot = (env: NodeJS.ProcessEnv = process.env): string => resolve(repo, env.CALICO_DIAG_CORPUS ?? '../shared/corpus');

export const corpusDir = (kind: string): string => {
  const root = corpusRoot();
  if (!existsSync(join(root, 'SOURCES.md'))) {
    throw new Error(`the corpus suite needs the shared corpus at ${root} (set CALICO_DIAG_CORPUS); \`npm test\` runs without it`);
  }
  return join(root, kind);
};

/** The .txt files of one corpus directory, sorted. */
export const corpusFiles = (kind: string): string[] => readdirSync(corpusDir(kind)).filter((f) => f.endsWith('.txt')).sort();

export const corpusText = (kind: string, name: string): string => readFileSync(join(corpusDir(kind), name), 'utf8');
