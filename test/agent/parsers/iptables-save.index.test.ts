import { describe, expect, it } from 'vitest';
import { parseIptablesSave, type IptablesDump } from '../../../agent/parsers/iptables-save.js';

// The parse pass finds chains by a hash of the name computed while scanning it (no name string per
// rule line) and tracks the next quote across lines; these guard the cases that shortcut could get wrong.
const mustParse = (text: string): IptablesDump => {
  const r = parseIptablesSave(text);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
};

describe('parseIptablesSave: chain lookup by in-place name hash', () => {
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

  it('finds implicit builtin chains and a chain name at the end of the line', () => {
    const d = mustParse('*nat\n:cali-a - [0:0]\n-A cali-a\n-A cali-a\n-A POSTROUTING -j cali-a\n-A PREROUTING -j cali-a\nCOMMIT\n');
    expect(d.tables[0]?.chains.map((c) => [c.name, c.ruleCount, c.builtin])).toEqual([
      ['cali-a', 2, false],
      ['POSTROUTING', 1, true],
      ['PREROUTING', 1, true],
    ]);
  });
});

describe('parseIptablesSave: quote check across lines', () => {
  it('checks quotes on lines after the last quote of the input, and an escaped quote inside quotes', () => {
    const d = mustParse('*filter\n:a - [0:0]\n-A a -m comment --comment "x \\" y" -j DROP\n-A a -j DROP\n-A a -j ACCEPT\nCOMMIT\n');
    expect(d.tables[0]?.chains[0]?.rules.map((r) => r.comments)).toEqual([['x " y'], [], []]);
    const bad = parseIptablesSave('*filter\n:a - [0:0]\n-A a -m comment --comment "x" -j DROP\n-A a -j DROP\n-A a -m comment --comment "y -j DROP\nCOMMIT\n');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatchObject({ code: 'syntax', line: 5 });
  });
});
