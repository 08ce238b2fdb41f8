import { describe, expect, it } from 'vitest';
import { parseNftListChains, parseNftListFlowtables } from '../../../agent/parsers/nft-chains-text.js';
import { parseNftTableNames } from '../../../agent/parsers/nft-json.js';
import { fixture } from './fixture.js';

// #17: the tables probe reads `nft list chains` (text) instead of `nft -j list chains`
const names = (r: ReturnType<typeof parseNftListChains>) => (r.ok ? { ok: true, value: r.value.map((t) => `${t.family} ${t.name}`) } : r);

const CASES = ['calico-lab', 'iptables-nft'] as const;
const text = (c: (typeof CASES)[number]) => fixture(`nft/list-chains/${c}.txt`);

describe('parseNftListChains', () => {
  it('names the tables the JSON listing of the same kernel state names, in the same order', () => {
    for (const c of CASES) {
      const fromJson = parseNftTableNames(fixture(`nft/list-chains/${c}.json`));
      expect(fromJson.ok).toBe(true);
      expect(parseNftListChains(text(c)), c).toEqual(fromJson);
    }
    expect(names(parseNftListChains(text('calico-lab')))).toEqual({ ok: true, value: ['ip calico'] });
    // the recorded iptables-nft node also holds an empty `table inet empty`: printed by the text form, not a table with chains
    expect(text('iptables-nft')).toContain('table inet empty {\n}\n');
    expect(names(parseNftListChains(text('iptables-nft')))).toEqual({ ok: true, value: ['ip raw', 'ip filter', 'ip6 filter', 'ip mangle'] });
  });

  it('reads no output as no tables, quoted names unquoted, a table listed twice once, table attribute lines, blank lines', () => {
    expect(parseNftListChains('')).toEqual({ ok: true, value: [] });
    const blank = text('iptables-nft').replaceAll('}\n', '}\n\n');
    expect(blank).not.toBe(text('iptables-nft'));
    expect(parseNftListChains(blank)).toEqual(parseNftListChains(text('iptables-nft')));
    const t = 'table ip "my table" {\n\tflags dormant\n\tchain "a b" {\n\t}\n}\ntable ip6 calico {\n\tchain c {\n\t}\n}\ntable ip "my table" {\n\tchain d {\n\t}\n}\n';
    expect(names(parseNftListChains(t))).toEqual({ ok: true, value: ['ip my table', 'ip6 calico'] });
  });

  it('refuses malformed, truncated, control-character and oversized output with a typed error', () => {
    const good = text('iptables-nft');
    const truncatedAt = [good.length - 1, good.indexOf('\tchain') + 3, good.indexOf('\t}') + 3, good.indexOf('table ip6 filter {\n') + 19];
    for (const at of truncatedAt) {
      const r = parseNftListChains(good.slice(0, at));
      expect(r, JSON.stringify(good.slice(at - 20, at))).toMatchObject({ ok: false, error: { code: 'truncated' } });
    }
    const mutations: [string, string][] = [
      ['table ip filter {', 'table ip filter'],
      ['table ip filter {', 'tabel ip filter {'],
      ['table ip filter {', 'table ip {'],
      ['table ip filter {', 'table IP filter {'],
      ['\tchain INPUT {', '\tchain INPUT'],
      ['\tchain INPUT {', '    chain INPUT {'],
      ['\tchain INPUT {', '\tchain  {'],
      ['\tchain INPUT {', '\tset INPUT {'],
      ['\tchain INPUT {', '\tchain IN\rPUT {'],
      ['\tchain INPUT {', '\tchain IN\u0000PUT {'],
      ['\tchain INPUT {', '\tchain "INPUT {'],
      ['\t\ttype filter hook input', '\ttype filter hook input'],
      ['\t\ttype filter hook input', '\t\t\u001b[31mtype filter hook input'],
      ['\t}\n}\ntable ip6', '\t}\n\t}\n}\ntable ip6'],
      ['\tchain cali-FORWARD {\n\t}\n', '\tchain cali-FORWARD {\n\t}\n\tchain cali-FORWARD {\n\t}\n'],
    ];
    for (const [from, to] of mutations) {
      expect(good).toContain(from);
      const r = parseNftListChains(good.replace(from, to));
      expect(r.ok, JSON.stringify(to)).toBe(false);
      if (!r.ok) {
        expect(['syntax', 'invalid-shape', 'truncated']).toContain(r.error.code);
        expect(r.error.line).toBeGreaterThan(0);
      }
    }
    expect(parseNftListChains(good.replace('\tchain cali-FORWARD {\n\t}\n', '\tchain cali-FORWARD {\n\t}\n\tchain cali-FORWARD {\n\t}\n'))).toMatchObject({
      ok: false,
      error: { code: 'invalid-shape', message: expect.stringMatching(/chain cali-FORWARD of table ip filter listed twice/) },
    });
    expect(parseNftListChains(`table ip ${'x'.repeat(4097)} {\n\tchain c {\n\t}\n}\n`)).toMatchObject({ ok: false, error: { code: 'syntax' } });
    expect(parseNftListChains(good, { maxChars: good.length - 1 })).toMatchObject({ ok: false, error: { code: 'too-large' } });
    expect(parseNftListChains(good, { maxChars: good.length }).ok).toBe(true);
  });
});

// #17: the tables probe lists every table with `nft list flowtables`, which costs nft next to nothing
describe('parseNftListFlowtables', () => {
  const flow = (c: string) => fixture(`nft/list-flowtables/${c}.txt`);

  it('names every table of the recorded listings, empty ones included, in order', () => {
    expect(names(parseNftListFlowtables(flow('iptables-nft')))).toEqual({ ok: true, value: ['ip raw', 'ip filter', 'ip6 filter', 'ip mangle', 'inet empty'] });
    expect(names(parseNftListFlowtables(flow('calico-lab')))).toEqual({ ok: true, value: ['ip calico'] });
    expect(names(parseNftListFlowtables(flow('empty-calico')))).toEqual({ ok: true, value: ['inet t1', 'ip calico'] });
    expect(parseNftListFlowtables('')).toEqual({ ok: true, value: [] });
  });

  it('reads flowtable blocks, and a chain listing of the same state as the same tables (an older bundle answers with one)', () => {
    const withFlowtable = 'table inet t1 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { eth0, eth1 }\n\t}\n}\ntable ip filter {\n}\n';
    expect(names(parseNftListFlowtables(withFlowtable))).toEqual({ ok: true, value: ['inet t1', 'ip filter'] });
    expect(parseNftListFlowtables(text('iptables-nft'))).toEqual(parseNftListFlowtables(flow('iptables-nft')));
    expect(parseNftListFlowtables(fixture('nft/list-chains/empty-calico.txt'))).toEqual(parseNftListFlowtables(flow('empty-calico')));
    // `list chains` keeps to the tables with chains
    expect(names(parseNftListChains(fixture('nft/list-chains/empty-calico.txt')))).toEqual({ ok: true, value: ['inet t1'] });
  });

  it('refuses a truncated flowtable, one listed twice, and lines of neither block', () => {
    const listing = 'table inet t1 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t}\n}\n';
    expect(parseNftListFlowtables(listing.slice(0, listing.indexOf('\t}')))).toMatchObject({ ok: false, error: { code: 'truncated', message: expect.stringContaining('inside a flowtable') } });
    const twice = listing.replace('\t}\n', '\t}\n\tflowtable ft {\n\t}\n');
    expect(parseNftListFlowtables(twice)).toMatchObject({ ok: false, error: { code: 'invalid-shape', message: expect.stringContaining('flowtable ft of table inet t1 listed twice') } });
    expect(parseNftListFlowtables(listing.replace('\tflowtable ft {', '\tset s {'))).toMatchObject({ ok: false, error: { code: 'syntax', line: 2 } });
    // a chain listing refuses flowtables: it is what `list chains` prints
    expect(parseNftListChains(listing)).toMatchObject({ ok: false, error: { code: 'syntax', line: 2 } });
  });
});
