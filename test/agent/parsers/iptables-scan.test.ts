/**
 * The WebAssembly rule scan (agent/parsers/iptables-scan.ts, source agent/parsers/wasm/): the
 * embedded module is the source's, it answers for ASCII text and steps aside (null) when it cannot,
 * and the parse gives the same dump through it as through the JavaScript loop.
 * Differential fuzzing over mutated fixtures is in iptables-save.fuzz.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIptablesSave } from '../../../bench/gen-iptables.js';
import { iptablesTotals, parseIptablesSave } from '../../../agent/parsers/iptables-save.js';
import { EV, EV_RUN, scanRules } from '../../../agent/parsers/iptables-scan.js';

const ROOT = join(import.meta.dirname, '../../..');
const view = (r: ReturnType<typeof parseIptablesSave>): string => JSON.stringify(r.ok ? r.value : r.error);

describe('iptables-scan', () => {
  it('the embedded module is what agent/parsers/wasm/iptables-scan.ts compiles to', () => {
    const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('scans a generated Calico dump: a record per rule, an event per declaration and per run', () => {
    const text = generateIptablesSave({ rules: 3000, seed: 7 });
    const scan = scanRules(text);
    expect(scan).not.toBeNull();
    if (scan === null) return;
    const dump = parseIptablesSave(text, { scanner: 'js' });
    expect(dump.ok).toBe(true);
    if (!dump.ok) return;
    const totals = iptablesTotals(dump.value);
    expect(scan.n).toBe(3000);
    expect(scan.errKind).toBe(0);
    expect(scan.decls).toBe(text.split('\n').filter((l) => l.startsWith(':')).length);
    let runs = 0;
    for (let b = 0; b < scan.ev.length; b += EV) if (scan.ev[b + 4] === EV_RUN) runs++;
    // every chain with rules is one run (iptables-save prints a chain's rules together)
    expect(runs).toBe(dump.value.tables.reduce((k, t) => k + t.chains.filter((c) => c.ruleCount > 0).length, 0));
    // counters as the JavaScript loop reads them
    let packets = 0;
    for (let r = 0; r < scan.n; r++) packets += scan.ctr[r * 2] as number;
    expect(packets).toBe(totals.packets);
  });

  it.each([
    ['with counters', { rules: 2000, seed: 1 }],
    ['without counters', { rules: 2000, seed: 2, counters: false }],
  ])('the parse through the scan equals the JavaScript loop on a generated dump %s', (_name, opts) => {
    const text = generateIptablesSave(opts);
    expect(scanRules(text)).not.toBeNull();
    expect(view(parseIptablesSave(text))).toBe(view(parseIptablesSave(text, { scanner: 'js' })));
    const crlf = text.replaceAll('\n', '\r\n');
    expect(view(parseIptablesSave(crlf))).toBe(view(parseIptablesSave(crlf, { scanner: 'js' })));
  });

  it('scans in chunks cut at line ends: the same records and parse as in one piece, runs split at the cuts', () => {
    const text = generateIptablesSave({ rules: 3000, seed: 9 }).replaceAll('\n', '\r\n');
    const whole = scanRules(text, { chunk: text.length });
    const runsOf = (s: NonNullable<typeof whole>) => {
      let runs = 0;
      for (let b = 0; b < s.ev.length; b += EV) if (s.ev[b + 4] === EV_RUN) runs++;
      return runs;
    };
    expect(whole).not.toBeNull();
    if (whole === null) return;
    const wholeRuns = runsOf(whole);
    const rec = whole.rec.slice();
    const ctr = whole.ctr.slice();
    for (const chunk of [4096, 200, 1]) {
      const s = scanRules(text, { chunk });
      expect(s).not.toBeNull();
      if (s === null) return;
      expect([s.n, s.decls, s.lines, s.errKind]).toEqual([whole.n, whole.decls, whole.lines, 0]);
      expect(s.rec).toEqual(rec);
      expect(s.ctr).toEqual(ctr);
      // a chunk of one character holds one line: every rule line starts a run
      expect(runsOf(s)).toBe(chunk === 1 ? s.n : Math.max(runsOf(s), wholeRuns));
      expect(view(parseIptablesSave(text, { scanChunk: chunk }))).toBe(view(parseIptablesSave(text, { scanner: 'js' })));
    }
    expect(runsOf(scanRules(text, { chunk: 4096 }) as NonNullable<typeof whole>)).toBeGreaterThan(wholeRuns);
    // a line longer than the chunk is a chunk of its own; the last line may lack its newline
    const long = `*filter\n:A - [0:0]\n-A A -m comment --comment "${'x'.repeat(500)}" -j ACCEPT\n-A A -j DROP\nCOMMIT`;
    expect(view(parseIptablesSave(long, { scanChunk: 64 }))).toBe(view(parseIptablesSave(long, { scanner: 'js' })));
    // an error in a later chunk names its line, with the text of the whole input
    const bad = `${generateIptablesSave({ rules: 200, seed: 3 }).replace(/COMMIT\n$/, '')}[1:x] -A INPUT -j DROP\nCOMMIT\n`;
    const r = parseIptablesSave(bad, { scanChunk: 512 });
    expect(r.ok ? 'ok' : r.error.message).toMatch(/^line \d+: malformed counters "\[1:x\] -A INPUT -j DROP"$/);
    expect(view(r)).toBe(view(parseIptablesSave(bad, { scanner: 'js' })));
  });

  it('reads counters of any length as the JavaScript loop does (u64 maximum, past 2^53, one digit)', () => {
    const text = [
      '*filter',
      ':A - [0:0]',
      '[18446744073709551615:99999999999999999999] -A A -j ACCEPT',
      '[9007199254740993:123456789012345] -A A -j ACCEPT',
      '[7:0] -A A -j DROP',
      'COMMIT',
      '',
    ].join('\n');
    expect(scanRules(text)).not.toBeNull();
    const r = parseIptablesSave(text);
    expect(view(r)).toBe(view(parseIptablesSave(text, { scanner: 'js' })));
    const rules = r.ok ? (r.value.tables[0]?.chains[0]?.rules ?? []) : [];
    // digit by digit in doubles: past 2^53 the value is rounded at each step, as it always was
    expect(rules.map((x) => [x.packets, x.bytes])).toEqual([
      [18446744073709552000, 100000000000000020000],
      [9007199254740992, 123456789012345],
      [7, 0],
    ]);
  });

  it('steps aside for non-ASCII text; the JavaScript loop parses it', () => {
    const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "Grüße: \\"é\\"" -j ACCEPT\nCOMMIT\n';
    expect(scanRules(text)).toBeNull();
    const r = parseIptablesSave(text);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.tables[0]?.chains[0]?.rules[0]?.comments).toEqual(['Grüße: "é"']);
  });

  it('steps aside when the input has more lines than it made room for (a record per 32 characters)', () => {
    const text = `*filter\n:X - [0:0]\n${'-A X\n'.repeat(20_000)}COMMIT\n`;
    expect(scanRules(text)).toBeNull();
    const r = parseIptablesSave(text);
    expect(r.ok && iptablesTotals(r.value).rules).toBe(20_000);
  });

  it('stops at the first malformed rule line; earlier lines are judged first', () => {
    const good = '*filter\n:A - [0:0]\n[1:2] -A A -j ACCEPT\n';
    for (const [text, message] of [
      [`${good}[1:x] -A A -j DROP\nCOMMIT\n`, 'line 4: malformed counters "[1:x] -A A -j DROP"'],
      [`${good}[1:2] -A A -m comment --comment "open -j DROP\nCOMMIT\n`, 'line 4: unterminated quote'],
      [`${good}[1:2] -A B -m comment --comment "open\nCOMMIT\n`, 'line 4: rule for undeclared chain "B" in table filter'],
      [`${good}[1:2] --- x\nCOMMIT\n`, 'line 4: expected "-A CHAIN", got "--- x"'],
      [`:A - [0:0]\n${good}`, 'line 1: chain declaration before any *table line'],
    ] as const) {
      const r = parseIptablesSave(text);
      expect(r.ok ? 'ok' : r.error.message).toBe(message);
      expect(view(r)).toBe(view(parseIptablesSave(text, { scanner: 'js' })));
    }
  });
});
