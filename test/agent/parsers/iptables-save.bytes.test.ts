/**
 * The dump read in place from the bytes a save command printed (#17: no string of the whole dump)
 * is the dump read from those bytes decoded: same tables, chains, rules, rule texts and tokens,
 * same errors with the same 1-based lines and texts, for every fixture and for mutations of them
 * with multi-byte characters and invalid UTF-8. And giving back the input past a point leaves the
 * rules before it readable.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave, parseIptablesSaveBytes, type IptablesParsed } from '../../../agent/parsers/iptables-save.js';
import { mulberry32 as prng } from '../../../bench/prng.js';

const FIX = join(import.meta.dirname, '../../fixtures/iptables-save');
const fixtures = readdirSync(FIX)
  .filter((f) => f.endsWith('.txt'))
  .map((f) => readFileSync(join(FIX, f)));

/** a rule's counters as `ruleCountersAt` gives them (its offsets are the parse's own) */
const counters = (c: { packets: number; bytes: number } | null) => (c === null ? null : { packets: c.packets, bytes: c.bytes });

/** everything a reader can see of a parse, fingerprints included (seeded alike) */
const seen = (p: IptablesParsed, withFingerprints: boolean): unknown =>
  p.ok
    ? {
        ...JSON.parse(JSON.stringify(p.value)),
        perChain: p.value.tables.flatMap((t) =>
          t.chains.map((c) => ({
            count: c.ruleCount,
            counters: c.ruleCounters(),
            at: Array.from({ length: c.ruleCount }, (_, i) => [c.ruleTextAt(i), counters(c.ruleCountersAt(i)), c.ruleAt(i).tokens]),
            ...(withFingerprints ? { fingerprint: c.fingerprint(7) } : {}),
          })),
        ),
      }
    : p.error;

/** byte-level mutations: multi-byte characters, invalid UTF-8, cut multi-byte sequences, CRLF */
const NASTY = ['é', '€', '☃', '\u{1f600}', '\xff', '\xc3', '\xe2\x82', '"', '\\', '\n', '\r\n', ' ', '-A ', '[1:2] ', 'COMMIT\n'];
const mutate = (src: Buffer, rnd: () => number): Buffer => {
  let b = src;
  for (let i = 0, n = 1 + Math.floor(rnd() * 6); i < n; i++) {
    const at = Math.floor(rnd() * (b.length + 1));
    const piece = NASTY[Math.floor(rnd() * NASTY.length)] as string;
    // '\xff'-style pieces are raw bytes, the others UTF-8 text
    const bytes = /^[\x80-\xff]+$/.test(piece) ? Buffer.from(piece, 'latin1') : Buffer.from(piece, 'utf8');
    b = Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
  }
  return rnd() < 0.3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
};

describe('parseIptablesSaveBytes', () => {
  it('gives for every fixture what parseIptablesSave gives for its text, fingerprints included', () => {
    for (const bytes of fixtures) {
      const ascii = !bytes.some((c) => c > 0x7f);
      expect(seen(parseIptablesSaveBytes(bytes), ascii)).toEqual(seen(parseIptablesSave(bytes.toString('utf8')), ascii));
    }
  });

  it('gives what parseIptablesSave gives for the decoded text of 3000 byte mutations (multi-byte characters, invalid UTF-8, CRLF)', () => {
    const rnd = prng(20261207);
    let oks = 0;
    let errs = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes = mutate(fixtures[n % fixtures.length] as Buffer, rnd);
      const fromBytes = parseIptablesSaveBytes(bytes);
      expect(seen(fromBytes, false), `case ${n}`).toEqual(seen(parseIptablesSave(bytes.toString('utf8')), false));
      if (fromBytes.ok) oks++;
      else errs++;
    }
    // both outcomes are exercised
    expect(oks).toBeGreaterThan(100);
    expect(errs).toBeGreaterThan(100);
  });

  it('reads a rule whose chain name and arguments hold multi-byte characters', () => {
    const text = '*filter\n:cali-é€ - [0:0]\n[3:4] -A cali-é€ -m comment --comment "dröp ☃" -j DROP\nCOMMIT\n';
    const p = parseIptablesSaveBytes(Buffer.from(text, 'utf8'));
    if (!p.ok) throw new Error(p.error.message);
    const rule = p.value.tables[0]?.chains[0]?.ruleAt(0);
    expect(rule?.chain).toBe('cali-é€');
    expect(rule?.text).toBe('-A cali-é€ -m comment --comment "dröp ☃" -j DROP');
    expect(rule?.tokens).toEqual(['-m', 'comment', '--comment', 'dröp ☃', '-j', 'DROP']);
    expect([rule?.packets, rule?.bytes, rule?.target]).toEqual([3, 4, 'DROP']);
  });

  // #17: rule lines are hashed four bytes a step from words of the input when it starts at a 4-byte
  // boundary; the fingerprint must not depend on where the rules are nor on which way they were read
  it('gives the same fingerprint for the same rules wherever they are in the input, read as words or byte by byte', () => {
    const chain = ':cali-x - [0:0]\n[1:60] -A cali-x -s 10.0.0.1/32 -j DROP\n[7:420] -A cali-x -m comment --comment "cali:abcdefg" -j ACCEPT\n[0:0] -A cali-x -j RETURN\n';
    const fingerprints = new Set<string>();
    for (let pad = 0; pad < 8; pad++) {
      // a chain before it moves the rule lines by `pad` bytes; counters of other widths too
      const text = `*filter\n:a${'b'.repeat(pad)} - [0:0]\n${chain.replace('[7:420]', `[${'7'.repeat(pad + 1)}:420]`)}COMMIT\n`;
      const encoded = Buffer.from(text, 'utf8');
      for (const offset of [0, 1, 2, 3]) {
        const bytes = new Uint8Array(new ArrayBuffer(encoded.length + offset), offset, encoded.length);
        bytes.set(encoded);
        const p = parseIptablesSaveBytes(bytes);
        if (!p.ok) throw new Error(p.error.message);
        fingerprints.add(p.value.tables[0]?.chains.find((c) => c.name === 'cali-x')?.fingerprint(9) ?? 'missing');
      }
      const t = parseIptablesSave(text);
      if (!t.ok) throw new Error(t.error.message);
      fingerprints.add(t.value.tables[0]?.chains.find((c) => c.name === 'cali-x')?.fingerprint(9) ?? 'missing');
    }
    expect([...fingerprints]).toHaveLength(1);
  });

  it('changes the fingerprint for a change of any one byte of a rule, at any place in a word', () => {
    const rule = '-A cali-x -m comment --comment "cali:abcdefgh" -j ACCEPT';
    const fp = (r: string, pad: number): string => {
      const encoded = Buffer.from(`*filter\n:a${'b'.repeat(pad)} - [0:0]\n:cali-x - [0:0]\n[0:0] ${r}\nCOMMIT\n`, 'utf8');
      const bytes = new Uint8Array(new ArrayBuffer(encoded.length));
      bytes.set(encoded);
      const p = parseIptablesSaveBytes(bytes);
      if (!p.ok) throw new Error(p.error.message);
      return p.value.tables[0]?.chains.find((c) => c.name === 'cali-x')?.fingerprint(3) ?? 'missing';
    };
    const at = rule.indexOf('abcdefgh');
    for (let pad = 0; pad < 4; pad++) {
      const seen = new Set([fp(rule, pad)]);
      // each of 8 adjacent bytes (two whole words, whatever the alignment) changed to another letter
      for (let k = 0; k < 8; k++) seen.add(fp(rule.slice(0, at + k) + 'z' + rule.slice(at + k + 1), pad));
      expect(seen.size).toBe(9);
    }
  });

  it('keeps the rules before the input given back readable, refuses to read one after it, and ignores a give-back for text input', () => {
    const text = '*filter\n:a - [0:0]\n:b - [0:0]\n[1:1] -A a -j DROP\n[2:2] -A a -j ACCEPT\n[3:3] -A b -j DROP\nCOMMIT\n';
    const buf = new ArrayBuffer(0, { maxByteLength: 1024 });
    const encoded = Buffer.from(text, 'utf8');
    buf.resize(encoded.length);
    new Uint8Array(buf).set(encoded);
    const p = parseIptablesSaveBytes(Buffer.from(buf, 0, encoded.length));
    if (!p.ok) throw new Error(p.error.message);
    const [a, b] = p.value.tables[0]?.chains ?? [];
    if (a === undefined || b === undefined) throw new Error('chains missing');
    const before = [a.fingerprint(1), a.ruleTextAt(1), counters(a.ruleCountersAt(1))];
    b.releaseInputFrom(a.inputEnd);
    expect(buf.byteLength).toBe(a.inputEnd);
    expect([a.fingerprint(1), a.ruleTextAt(1), counters(a.ruleCountersAt(1))]).toEqual(before);
    expect(a.ruleAt(0).target).toBe('DROP');
    expect(() => b.ruleAt(0)).toThrow(RangeError);
    expect(() => b.ruleCountersAt(0)).toThrow(RangeError);

    const t = parseIptablesSave(text);
    if (!t.ok) throw new Error(t.error.message);
    const [ta, tb] = t.value.tables[0]?.chains ?? [];
    tb?.releaseInputFrom(ta?.inputEnd ?? 0);
    expect(tb?.ruleAt(0).target).toBe('DROP');
  });
});
