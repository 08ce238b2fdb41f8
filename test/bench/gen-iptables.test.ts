import { describe, expect, it } from 'vitest';
import { generateIptablesSave } from '../../bench/gen-iptables.js';
import { iptablesTotals, parseIptablesSave } from '../../agent/parsers/iptables-save.js';

describe('bench/gen-iptables', () => {
  it('a 100k-rule dump (~15 MB) parses with exactly 100000 rules and Calico features', () => {
    const text = generateIptablesSave({ rules: 100_000 });
    expect(text.length).toBeGreaterThan(12_000_000);
    expect(text.length).toBeLessThan(20_000_000);
    const r = parseIptablesSave(text);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const t = iptablesTotals(r.value);
    expect(t.rules).toBe(100_000);
    expect(r.value.hasCounters).toBe(true);
    const rules = r.value.tables.flatMap((x) => x.chains.flatMap((c) => c.rules));
    expect(rules.some((x) => x.targetKind === 'goto' && x.chain === 'cali-to-wl-dispatch')).toBe(true);
    expect(rules.some((x) => x.matchSets.some((m) => m.negated))).toBe(true);
    expect(rules.some((x) => x.comments.includes('Drop if no profiles matched'))).toBe(true);
    expect(rules.some((x) => x.comments.includes('it\'s a "quoted" word'))).toBe(true);
    expect(r.value.tables.find((x) => x.name === 'filter')?.chains.filter((c) => c.name.startsWith('cali-tw-')).length).toBeGreaterThan(3000);
  });

  it('is deterministic and exact for small counts', () => {
    expect(generateIptablesSave({ rules: 500, seed: 7 })).toBe(generateIptablesSave({ rules: 500, seed: 7 }));
    expect(generateIptablesSave({ rules: 500, seed: 7 })).not.toBe(generateIptablesSave({ rules: 500, seed: 8 }));
    for (const n of [0, 1, 5, 37, 1000]) {
      const r = parseIptablesSave(generateIptablesSave({ rules: n }));
      if (!r.ok) throw new Error(`${n}: ${JSON.stringify(r.error)}`);
      expect(iptablesTotals(r.value).rules).toBe(n);
    }
    const plain = parseIptablesSave(generateIptablesSave({ rules: 100, counters: false }));
    expect(plain.ok && plain.value.hasCounters).toBe(false);
  });
});
