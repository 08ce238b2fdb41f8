/**
 * Seeded mutation fuzzing of the iptables-save parser over the fixtures: it must never throw; it
 * returns either a dump whose every rule can be tokenized and derived, or a typed error with a line.
 * And differential: the WebAssembly scan and the JavaScript loop give the same dump or error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iptablesTotals, parseIptablesSave, ruleMatches, tokenizeIptablesArgs } from '../../../agent/parsers/iptables-save.js';
import { scanRules } from '../../../agent/parsers/iptables-scan.js';

const FIX = join(import.meta.dirname, '../../fixtures/iptables-save');
const seeds = readdirSync(FIX)
  .filter((f) => f.endsWith('.txt'))
  .map((f) => readFileSync(join(FIX, f), 'utf8'));

/** mulberry32: a small deterministic PRNG so every failure reproduces from its seed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

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
  it('5000 mutated fixtures: typed result only, never a throw', () => {
    const rnd = prng(20261121);
    let oks = 0;
    let errs = 0;
    for (let n = 0; n < 5000; n++) {
      const seed = seeds[n % seeds.length] as string;
      let text = mutate(seed, rnd);
      if (rnd() < 0.3) text = mutate(text, rnd);
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
        if (r.error.code !== 'empty') expect(r.error.line).toBeGreaterThan(0);
      }
    }
    // the mutations exercise both outcomes
    expect(oks).toBeGreaterThan(100);
    expect(errs).toBeGreaterThan(100);
  });

  // everything a consumer can read: tables, chains, rules with their derived fields, or the error
  const view = (r: ReturnType<typeof parseIptablesSave>): string => JSON.stringify(r.ok ? r.value : r.error);

  it('the WebAssembly scan and the JavaScript loop agree on 5000 mutated fixtures (dump or error, line)', () => {
    const rnd = prng(20261122);
    let scanned = 0;
    for (let n = 0; n < 5000; n++) {
      let text = mutate(seeds[n % seeds.length] as string, rnd);
      if (rnd() < 0.5) text = mutate(text, rnd);
      if (rnd() < 0.2) text = text.replaceAll('\n', '\r\n');
      if (scanRules(text) !== null) scanned++;
      const auto = view(parseIptablesSave(text));
      const js = view(parseIptablesSave(text, { scanner: 'js' }));
      if (auto !== js) throw new Error(`case ${n}: the scans disagree\n${JSON.stringify(text.slice(0, 600))}\nwasm: ${auto.slice(0, 300)}\njs:   ${js.slice(0, 300)}`);
    }
    // most mutations stay ASCII, so the WebAssembly path is what was compared
    expect(scanned).toBeGreaterThan(4000);
  });

  it('the scan in tiny chunks (1 to 300 characters: a line per chunk, lines split from their runs) agrees with the JavaScript loop on 3000 mutated fixtures', () => {
    const rnd = prng(20261121);
    let scanned = 0;
    for (let n = 0; n < 3000; n++) {
      let text = mutate(seeds[n % seeds.length] as string, rnd);
      if (rnd() < 0.2) text = text.replaceAll('\n', '\r\n');
      const chunk = [1, 7, 64, 300][n % 4] as number;
      if (scanRules(text, { chunk }) !== null) scanned++;
      const chunked = view(parseIptablesSave(text, { scanChunk: chunk }));
      const js = view(parseIptablesSave(text, { scanner: 'js' }));
      if (chunked !== js) throw new Error(`case ${n} (chunk ${chunk}): the scans disagree\n${JSON.stringify(text.slice(0, 600))}\nwasm: ${chunked.slice(0, 300)}\njs:   ${js.slice(0, 300)}`);
    }
    expect(scanned).toBeGreaterThan(2400);
  });
});
