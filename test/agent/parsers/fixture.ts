/** Reads a fixture under test/fixtures/. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixture = (rel: string): string => readFileSync(fileURLToPath(new URL(`../../fixtures/${rel}`, import.meta.url)), 'utf8');
