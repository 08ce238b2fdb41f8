import { describe, expect, it } from 'vitest';
import { parseIptablesSave, type IptablesDump } from '../../../agent/parsers/iptables-save.js';

// Finding a rule's chain (the previous rule line's, else by name in the open table), the quote check
// and the grouping of rules into chains and tables: the cases a faster parser got wrong or could
// have (#2), kept as behaviour tests of the parser.
const mustParse = (text: string): IptablesDump => {
  const r = parseIptablesSave(text);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
};

describe('parseIptablesSave: finding a rule\'s chain', () => {
  // "Aa" and "BB" have the same 31-polynomial hash (65*31+97 === 66*31+66)
  it('keeps chains whose names collide in the hash apart, interleaved in any order', () => {
    const d = mustParse('*filter\n:Aa - [0:0]\n:BB - [0:0]\n-A BB -j DROP\n-A Aa -j ACCEPT\n-A BB -j RETURN\n-A Aa -s 1.2.3.4 -j DROP\nCOMMIT\n');
    const [aa, bb] = d.tables[0]?.chains ?? [];
    expect(aa?.name).toBe('Aa');
    expect(aa?.rules.map((r) => r.target)).toEqual(['ACCEPT', 'DROP']);
    expect(bb?.rules.map((r) => r.target)).toEqual(['DROP', 'RETURN']);
  });

  it('reports a duplicate declaration even when another name collides in the hash', () => {
    const r = parseIptablesSave('*filter\n:Aa - [0:0]\n:BB - [0:0]\n:BB - [0:0]\nCOMMIT\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'syntax', line: 4 });
  });

  it('rejects a rule for an undeclared chain that collides with a declared one, and one that is a prefix of the previous chain', () => {
    for (const [text, line] of [
      ['*filter\n:Aa - [0:0]\n-A Aa -j DROP\n-A BB -j DROP\nCOMMIT\n', 4],
      ['*filter\n:cali-x - [0:0]\n-A cali-x -j DROP\n-A cali -j DROP\nCOMMIT\n', 4],
      ['*filter\n:cali - [0:0]\n-A cali -j DROP\n-A cali-x -j DROP\nCOMMIT\n', 4],
    ] as const) {
      const r = parseIptablesSave(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: 'syntax', line });
    }
  });

  it('tells apart declared chains of equal length and equal last character, in and out of declaration order', () => {
    const decl = ':cali-fw-cali1 - [0:0]\n:cali-tw-cali1 - [0:0]\n:cali-pi-cali1 - [0:0]\n';
    const d = mustParse(`*filter\n${decl}-A cali-tw-cali1 -j DROP\n-A cali-fw-cali1 -j ACCEPT\n-A cali-pi-cali1 -j RETURN\n-A cali-fw-cali1\nCOMMIT\n`);
    expect(d.tables[0]?.chains.map((c) => [c.name, c.rules.map((r) => r.line)])).toEqual([
      ['cali-fw-cali1', [6, 8]],
      ['cali-tw-cali1', [5]],
      ['cali-pi-cali1', [7]],
    ]);
    const bad = parseIptablesSave(`*filter\n${decl}-A cali-fw-cali1 -j DROP\n-A cali-xw-cali1 -j DROP\nCOMMIT\n`);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatchObject({ code: 'syntax', line: 6 });
  });

  it('finds implicit builtin chains and a chain name at the end of the line', () => {
    const d = mustParse('*nat\n:cali-a - [0:0]\n-A cali-a\n-A cali-a\n-A POSTROUTING -j cali-a\n-A PREROUTING -j cali-a\nCOMMIT\n');
    expect(d.tables[0]?.chains.map((c) => [c.name, c.ruleCount, c.builtin])).toEqual([
      ['cali-a', 2, false],
      ['POSTROUTING', 1, true],
      ['PREROUTING', 1, true],
    ]);
  });
});

describe('parseIptablesSave: quote check', () => {
  it('a quote on a later line does not close a quote left open; lines without quotes between quoted ones pass', () => {
    const open = parseIptablesSave('*filter\n:a - [0:0]\n-A a -m comment --comment "x -j DROP\n-A a -m comment --comment "y" -j DROP\nCOMMIT\n');
    expect(open).toMatchObject({ ok: false, error: { code: 'syntax', line: 3, message: 'line 3: unterminated quote' } });
    const plain = Array.from({ length: 500 }, () => '-A a -j ACCEPT').join('\n');
    const d = mustParse(`*filter\n:a - [0:0]\n-A a -m comment --comment "first"\n${plain}\n-A a -m comment --comment "last \\"one\\"" -j DROP\nCOMMIT\n`);
    const rules = d.tables[0]?.chains[0]?.rules ?? [];
    expect(rules).toHaveLength(502);
    expect([rules[0]?.comments, rules[501]?.comments, rules[250]?.comments]).toEqual([['first'], ['last "one"'], []]);
  });


  it('checks quotes on lines after the last quote of the input, and an escaped quote inside quotes', () => {
    const d = mustParse('*filter\n:a - [0:0]\n-A a -m comment --comment "x \\" y" -j DROP\n-A a -j DROP\n-A a -j ACCEPT\nCOMMIT\n');
    expect(d.tables[0]?.chains[0]?.rules.map((r) => r.comments)).toEqual([['x " y'], [], []]);
    const bad = parseIptablesSave('*filter\n:a - [0:0]\n-A a -m comment --comment "x" -j DROP\n-A a -j DROP\n-A a -m comment --comment "y -j DROP\nCOMMIT\n');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatchObject({ code: 'syntax', line: 5 });
  });
});

describe('parseIptablesSave: chains per table', () => {
  it('finds chains whose rules come far from declaration order, and takes a declaration after rules (as iptables-restore does)', () => {
    const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const body = ['c9', 'c0', 'c5', 'c5', 'c1', 'c8', 'c0'].map((c, i) => `[${i}:${i}] -A ${c} -j DROP`).join('\n');
    const d = mustParse(`*filter\n${names.map((c) => `:${c} - [0:0]`).join('\n')}\n${body}\n:late - [1:2]\n-A late -j c0\nCOMMIT\n`);
    const counts = Object.fromEntries((d.tables[0]?.chains ?? []).map((c) => [c.name, c.rules.map((r) => r.packets)]));
    expect(counts).toEqual({ c0: [1, 6], c1: [4], c2: [], c3: [], c4: [], c5: [2, 3], c6: [], c7: [], c8: [5], c9: [0], late: [null] });
  });

  it('keeps the rules it made: `rules` gives the same objects each time, and `ruleAt` after it', () => {
    const chain = mustParse('*filter\n:a - [0:0]\n[3:4] -A a -j DROP\nCOMMIT\n').tables[0]?.chains[0];
    const fresh = chain?.ruleAt(0);
    expect(fresh).toMatchObject({ line: 3, index: 1, packets: 3, bytes: 4, text: '-A a -j DROP', target: 'DROP' });
    expect(chain?.rules).toBe(chain?.rules);
    expect(chain?.ruleAt(0)).toBe(chain?.rules[0]);
    expect(chain?.ruleTextAt(0)).toBe('-A a -j DROP');
    // past its rules: an error, not another chain's rule
    expect(() => chain?.ruleAt(1)).toThrow(RangeError);
    expect(() => chain?.ruleTextAt(-1)).toThrow(RangeError);
  });


  it('gives each table its own chains when many chains span several tables, and serialises them', () => {
    const names = Array.from({ length: 700 }, (_, i) => `cali-tw-cali${String(i).padStart(11, '0')}`);
    const filter = `*filter\n:FORWARD DROP [5:50]\n${names.map((n) => `:${n} - [0:0]`).join('\n')}\n${names.map((n, i) => `[${i}:1] -A ${n} -j DROP`).join('\n')}\nCOMMIT\n`;
    const d = mustParse(`*raw\n:PREROUTING ACCEPT [1:2]\n-A PREROUTING -j ACCEPT\nCOMMIT\n${filter}*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n`);
    const [raw, f, nat] = d.tables;
    expect(raw?.chains.map((c) => c.name)).toEqual(['PREROUTING']);
    expect(f?.chains).toHaveLength(701);
    expect(f?.chains[700]).toMatchObject({ name: names[699], policy: null, builtin: false, line: 706 });
    expect(f?.chains[700]?.ruleCount).toBe(1);
    expect(f?.chains[700]?.ruleAt(0)).toMatchObject({ packets: 699, chain: names[699], index: 1, line: 1406 });
    expect(f?.chains[0]).toMatchObject({ name: 'FORWARD', policy: 'DROP', packets: 5, bytes: 50 });
    expect(f?.chains[0]?.ruleCount).toBe(0);
    expect(nat?.chains.map((c) => [c.name, c.policy, c.line, c.builtin])).toEqual([['POSTROUTING', null, null, true]]);
    const json = JSON.parse(JSON.stringify(raw)) as unknown;
    expect(json).toEqual({
      name: 'raw',
      line: 1,
      chains: [expect.objectContaining({ name: 'PREROUTING', policy: 'ACCEPT', packets: 1, bytes: 2, rules: [expect.objectContaining({ text: '-A PREROUTING -j ACCEPT', target: 'ACCEPT' })] })],
    });
  });

  it('a chain whose rules come back after another chain keeps them in order', () => {
    const d = mustParse('*filter\n:a - [0:0]\n:b - [0:0]\n:c - [0:0]\n-A a -j RETURN\n-A b -j ACCEPT\n-A c -j DROP\n-A a -j DROP\n-A c -j ACCEPT\nCOMMIT\n');
    const [a, b, c] = d.tables[0]?.chains ?? [];
    expect([a, b, c].map((x) => x?.rules.map((r) => `${r.index}:${r.target}@${r.line}`))).toEqual([['1:RETURN@5', '2:DROP@8'], ['1:ACCEPT@6'], ['1:DROP@7', '2:ACCEPT@9']]);
    expect(c?.ruleTextAt(1)).toBe('-A c -j ACCEPT');
  });
});

describe('IptablesChain.ruleTextAt', () => {
  it('starts at -A after the counters and the spaces after them, ends before the line end, and equals the rule\'s text', () => {
    const d = mustParse('*filter\n:cali-X - [0:0]\n[1:2] -A cali-X -j ACCEPT\n[30:40]   -A cali-X -m comment --comment "cali:d" -j DROP\r\n-A cali-X -j RETURN\nCOMMIT\n');
    const c = d.tables[0]?.chains[0];
    if (c === undefined) throw new Error('no chain');
    expect([0, 1, 2].map((i) => c.ruleTextAt(i))).toEqual(['-A cali-X -j ACCEPT', '-A cali-X -m comment --comment "cali:d" -j DROP', '-A cali-X -j RETURN']);
    expect([0, 1, 2].map((i) => c.ruleTextAt(i))).toEqual(c.rules.map((r) => r.text));
  });
});
