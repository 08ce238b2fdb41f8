/**
 * Seeded mutation fuzzing of the iptables-save parser over the fixtures: it must never throw; it
 * returns either a dump whose every rule can be tokenized and derived, or a typed error with a line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iptablesTotals, parseIptablesSave, ruleMatches, tokenizeIptablesArgs } from '../../../agent/parsers/iptables-save.js';
import { mulberry32 as prng } from '../../../bench/prng.js';

const FIX = join(import.meta.dirname, '../../fixtures/iptables-save');
const seeds = readdirSync(FIX)
  .filter((f) => f.endsWith('.txt'))
  .map((f) => readFileSync(join(FIX, f), 'utf8'));


const NASTY = ['"', '\\', '!', ' ', '\n', '[', ']', ':', '-', '*', '#', '\r', '\t', 'COMMIT', '-A ', '-j', '-g', '--comment', '--match-set', '\u00e9', '\ud800'];

const mutate = (src: string, rnd: () => number): string => {
  const pos = () => Math.floor(rnd() * (src.length + 1));
  const op = Math.floor(rnd() * 6);
  if (op === 0) return src.slice(0, pos()); // truncation (like the corpus excerpts)
  if (op === 1) {
    const a = pos();
    return src.slice(0, a) + src.slice(a + 1 + Math.floor(rnd() * 20));
  }
  if (op === 2) {
    let s = src;
    for (let i = 0, n = 1 + Math.floor(rnd() * 5); i < n; i++) {
      const a = Math.floor(rnd() * (s.length + 1));
      s = s.slice(0, a) + (NASTY[Math.floor(rnd() * NASTY.length)] as string) + s.slice(a);
    }
    return s;
  }
  const lines = src.split('\n');
  const i = Math.floor(rnd() * lines.length);
  const j = Math.floor(rnd() * lines.length);
  if (op === 3) lines.splice(i, 0, lines[j] ?? ''); // duplicate a line
  else if (op === 4) [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? '']; // swap lines
  else lines.splice(i, 1); // drop a line
  return lines.join('\n');
};

describe('parseIptablesSave fuzz', () => {
  it('5000 mutated fixtures (some with CRLF line ends): a dump whose rules all tokenize, or a typed error naming its line and text; never a throw', () => {
    const rnd = prng(20261121);
    let oks = 0;
    let errs = 0;
    for (let n = 0; n < 5000; n++) {
      const seed = seeds[n % seeds.length] as string;
      let text = mutate(seed, rnd);
      if (rnd() < 0.3) text = mutate(text, rnd);
      if (rnd() < 0.2) text = text.replaceAll('\n', '\r\n');
      let r: ReturnType<typeof parseIptablesSave>;
      try {
        r = parseIptablesSave(text);
      } catch (e) {
        throw new Error(`case ${n} threw: ${String(e)}\n${JSON.stringify(text.slice(0, 400))}`, { cause: e });
      }
      if (r.ok) {
        oks++;
        for (const t of r.value.tables)
          for (const c of t.chains)
            for (const rule of c.rules) {
              expect(tokenizeIptablesArgs(rule.text)).not.toBeNull();
              expect(Array.isArray(rule.tokens)).toBe(true);
              ruleMatches(rule);
              JSON.stringify(rule);
            }
        expect(iptablesTotals(r.value).tables).toBe(r.value.tables.length);
      } else {
        errs++;
        expect(['empty', 'syntax', 'truncated', 'incompatible']).toContain(r.error.code);
        if (r.error.line !== undefined) {
          expect(r.error.line).toBeGreaterThan(0);
          expect(r.error.message.startsWith(`line ${r.error.line}: `)).toBe(true);
          // the text of the line named, as it is in the input (without its line end)
          expect(text.split('\n')[r.error.line - 1]?.replace(/\r$/, '')).toBe(r.error.text);
        } else {
          expect(r.error).toEqual({ code: 'empty', message: 'empty input' });
        }
      }
    }
    // the mutations exercise both outcomes
    expect(oks).toBeGreaterThan(100);
    expect(errs).toBeGreaterThan(100);
  });
});
