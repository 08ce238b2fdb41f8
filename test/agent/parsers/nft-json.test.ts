import { describe, expect, it } from 'vitest';
import { parseNftJson, parseNftTableNames, splitCaliComment, type NftRuleset } from '../../../agent/parsers/nft-json.js';
import { fixture } from './fixture.js';

const must = (text: string): NftRuleset => {
  const r = parseNftJson(text);
  if (!r.ok) throw new Error(`parse failed: ${JSON.stringify(r.error)}`);
  return r.value;
};
const chain = (rs: NftRuleset, name: string) => {
  const c = rs.chains.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no chain ${name}`);
  return c;
};

describe('parseNftJson on Felix nftables mode (FV dump loaded with nft -f, listed with nft -j)', () => {
  const rs = must(fixture('nft/calico-felix-fv-cali-nftables-dump.json'));

  it('reads the metainfo, the one table, its sets with their elements and its verdict maps', () => {
    expect(rs.metainfo).toEqual({ version: '1.0.6', jsonSchemaVersion: 1 });
    expect(rs.tables).toEqual([{ family: 'ip', name: 'calico', handle: 1 }]);
    expect(rs.sets.map((s) => s.name)).toEqual(['cali40this-host', 'cali40network-ip-pools', 'cali40masq-ipam-pools', 'cali40all-vxlan-net']);
    expect(rs.sets.find((s) => s.name === 'cali40all-vxlan-net')).toEqual({
      family: 'ip',
      table: 'calico',
      name: 'cali40all-vxlan-net',
      type: 'ipv4_addr',
      flags: ['interval'],
      elements: ['10.128.0.208', '10.128.0.211', '10.128.0.213'],
      map: null,
    });
    expect(rs.sets.find((s) => s.name === 'cali40network-ip-pools')?.elements).toEqual(['192.168.0.0/16']);
    expect(rs.maps.map((m) => [m.name, m.type, m.map, m.elements])).toEqual([
      ['filter-cali-from-wl-dispatch', 'ifname', 'verdict', []],
      ['filter-cali-to-wl-dispatch', 'ifname', 'verdict', []],
    ]);
    expect(rs.other).toEqual({});
  });

  it('keeps base chains with hook, priority and policy, and every chain of the text dump', () => {
    expect(rs.chains.map((c) => c.name).sort()).toEqual([...fixture('nft/calico-felix-fv-cali-nftables-dump.txt').matchAll(/^\s*chain (\S+) {/gm)].map((m) => m[1]).sort());
    expect(rs.chains).toHaveLength(40);
    expect(chain(rs, 'filter-INPUT')).toMatchObject({ hook: 'input', type: 'filter', prio: 0, policy: 'accept' });
    expect(chain(rs, 'filter-cali-INPUT')).toMatchObject({ hook: null, type: null, policy: null });
    expect(chain(rs, 'filter-cali-INPUT').rules).toHaveLength(7);
  });

  it('reads the VXLAN guard: matches, counters, verdicts, comments and a text close to nft list', () => {
    const [accept, drop] = chain(rs, 'filter-cali-INPUT').rules;
    expect(accept).toMatchObject({
      index: 1,
      handle: 91,
      comment: 'cali:Gtn781KKHXqD1ZWy; Allow IPv4 VXLAN packets from allowed hosts',
      counter: { packets: 69, bytes: 14902 },
      verdict: { kind: 'accept' },
      matches: [
        { op: '==', left: 'udp dport', fields: ['udp dport'], right: 4789 },
        { op: '==', left: 'ip saddr', fields: ['ip saddr'], right: '@cali40all-vxlan-net' },
        { op: '==', left: 'fib daddr type', fields: [], right: 'local' },
      ],
    });
    expect(accept?.text).toBe(
      'udp dport 4789 ip saddr @cali40all-vxlan-net fib daddr type local counter packets 69 bytes 14902 accept comment "cali:Gtn781KKHXqD1ZWy; Allow IPv4 VXLAN packets from allowed hosts"',
    );
    expect(drop).toMatchObject({ index: 2, counter: { packets: 0, bytes: 0 }, verdict: { kind: 'drop' } });
  });

  it('reads jump and goto targets, verdict-map dispatch, and rules with no verdict', () => {
    const input = chain(rs, 'filter-cali-INPUT').rules;
    expect(input[2]?.verdict).toEqual({ kind: 'goto', target: 'filter-cali-wl-to-host' });
    expect(input[4]?.verdict).toBeNull(); // counter + meta mark set
    expect(input[4]?.text).toBe('counter packets 12383 bytes 162849053 meta mark set meta mark & 4293197823 comment "cali:g94iaS8uaXhlEYN1;"');
    const dispatch = chain(rs, 'filter-cali-from-wl-dispatch').rules;
    expect(dispatch[0]).toMatchObject({ verdict: null, vmaps: ['filter-cali-from-wl-dispatch'] });
    expect(dispatch[1]).toMatchObject({ verdict: { kind: 'drop' }, comment: 'cali:KMISEjprqaGFiicp; Unknown interface' });
  });
});

describe('parseNftJson on the shapes Felix does not print (shapes.nft)', () => {
  const rs = must(fixture('nft/shapes.json'));
  const c = chain(rs, 'c');

  it('negated set match, ipencap, reject with, anonymous sets, concatenations, ranges, return', () => {
    expect(c.policy).toBe('drop');
    expect(c.rules[0]?.matches).toEqual([
      { op: '==', left: 'ip protocol', fields: ['ip protocol'], right: 'ipencap' },
      { op: '!=', left: 'ip saddr', fields: ['ip saddr'], right: '@s' },
    ]);
    expect(c.rules[1]?.verdict).toEqual({ kind: 'reject', with: 'icmp host-unreachable' });
    expect(c.rules[1]?.text).toBe('udp dport { 4789, 8472 } reject with icmp host-unreachable');
    expect(c.rules[2]?.matches[0]).toMatchObject({ left: 'ip saddr . udp dport', fields: ['ip saddr', 'udp dport'] });
    expect(c.rules[2]?.text).toBe('ip saddr . udp dport { 10.0.0.1 . 53 } accept');
    expect(c.rules[3]?.text).toBe('ct state established,related accept');
    expect(c.rules[4]?.text).toBe('tcp dport 1-100 return');
    expect(c.rules[5]?.vmaps).toEqual(['m']);
  });

  it('set elements as nft prints them: address, prefix, range; map keys', () => {
    expect(rs.sets.find((s) => s.name === 's')?.elements).toEqual(['10.0.0.1', '10.1.0.0/16', '10.2.0.1-10.2.0.9']);
    expect(rs.maps.find((m) => m.name === 'm')).toMatchObject({ type: 'ipv4_addr', map: 'verdict', elements: ['10.0.0.1'] });
    expect(rs.sets.find((s) => s.name === 's6')).toMatchObject({ family: 'ip6', elements: ['fd00::1'] });
  });

  it('an ip6 table and a negated fib type', () => {
    expect(chain(rs, 'c') === c).toBe(true);
    const c6 = rs.chains.find((x) => x.family === 'ip6');
    expect(c6?.rules[0]?.matches[2]).toEqual({ op: '!=', left: 'fib daddr type', fields: [], right: 'local' });
  });
});

describe('parseNftJson errors: typed, with a position', () => {
  it('empty output', () => {
    expect(parseNftJson('  \n')).toEqual({ ok: false, error: { code: 'empty', message: 'no output' } });
  });

  it('refuses input over the size cap before parsing it', () => {
    const r = parseNftJson('{"nftables":[]}', { maxChars: 10 });
    expect(r).toMatchObject({ ok: false, error: { code: 'too-large' } });
  });

  it('a JSON syntax error names the offset, line and column', () => {
    const r = parseNftJson('{"nftables": [\n  {"table": {"family": "ip" "name": "x"}}\n]}');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ code: 'invalid-json', line: 2, column: 29, offset: 43 });
    expect(r.error.message).toContain('line 2, column 29');
  });

  it('JSON cut short is truncated, with the position of its end', () => {
    const text = fixture('nft/calico-felix-fv-cali-nftables-dump.json').slice(0, 5000);
    const r = parseNftJson(text);
    expect(r).toMatchObject({ ok: false, error: { code: 'truncated', offset: 5000 } });
  });

  it('a shape error names the JSON path of the bad value', () => {
    const doc = JSON.parse(fixture('nft/calico-felix-fv-cali-nftables-dump.json')) as { nftables: Array<Record<string, { expr?: unknown[] }>> };
    const i = doc.nftables.findIndex((o) => o.rule !== undefined);
    (doc.nftables[i]!.rule!.expr as unknown[])[0] = { counter: { packets: -1, bytes: 0 } };
    const r = parseNftJson(JSON.stringify(doc));
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-shape', path: `nftables[${i}].rule.expr[0]` } });
    const noChain = parseNftJson('{"nftables":[{"rule":{"family":"ip","table":"t","chain":"c","expr":[]}}]}');
    expect(noChain).toMatchObject({ ok: false, error: { code: 'invalid-shape', path: 'nftables[0].rule.chain' } });
    const badTable = parseNftJson('{"nftables":[{"metainfo":{}},{"table":{"family":"ip"}}]}');
    expect(badTable).toMatchObject({ ok: false, error: { code: 'invalid-shape', path: 'nftables[1].table.name' } });
    expect(parseNftJson('{"tables":[]}')).toMatchObject({ ok: false, error: { code: 'invalid-shape', path: 'nftables' } });
    expect(parseNftJson('[1]')).toMatchObject({ ok: false, error: { code: 'invalid-shape', path: '$' } });
    expect(parseNftJson('{"nftables":[{"metainfo":{}}, 7]}')).toMatchObject({ ok: false, error: { code: 'invalid-shape', path: 'nftables[1]' } });
    const chainC = '{"chain":{"family":"ip","table":"t","name":"c"}}';
    expect(parseNftJson(`{"nftables":[${chainC},{"rule":{"family":"ip","table":"t","chain":"c"}}]}`)).toMatchObject({
      ok: false,
      error: { code: 'invalid-shape', path: 'nftables[1].rule.expr' },
    });
    expect(parseNftJson(`{"nftables":[${chainC},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"accept":null,"drop":null}]}}]}`)).toMatchObject({
      ok: false,
      error: { code: 'invalid-shape', path: 'nftables[1].rule.expr[0]' },
    });
    expect(parseNftJson(`{"nftables":[${chainC},{"rule":{"family":"ip","table":"t","chain":"c","handle":1.5,"expr":[]}}]}`)).toMatchObject({
      ok: false,
      error: { code: 'invalid-shape', path: 'nftables[1].rule.handle' },
    });
  });

  it('objects of kinds it does not model are counted, not refused', () => {
    const r = parseNftJson('{"nftables":[{"flowtable":{"family":"ip","name":"f","table":"t"}},{"ct helper":{}}]}');
    expect(r).toMatchObject({ ok: true, value: { other: { flowtable: 1, 'ct helper': 1 } } });
  });
});

describe('splitCaliComment', () => {
  it('separates the cali: id from the free text parts', () => {
    expect(splitCaliComment('cali:Gtn781KKHXqD1ZWy; Allow IPv4 VXLAN packets from allowed hosts')).toEqual({
      caliId: 'Gtn781KKHXqD1ZWy',
      comments: ['Allow IPv4 VXLAN packets from allowed hosts'],
    });
    expect(splitCaliComment('cali:jmRVmI9bNZO24-SX;')).toEqual({ caliId: 'jmRVmI9bNZO24-SX', comments: [] });
    expect(splitCaliComment('not felix')).toEqual({ caliId: null, comments: ['not felix'] });
    expect(splitCaliComment(null)).toEqual({ caliId: null, comments: [] });
  });
});

describe('parseNftTableNames (the probe: table names only)', () => {
  /** the names parseNftJson gives: its tables, then its chains' tables, each once */
  const namesOf = (text: string) => {
    const r = parseNftJson(text);
    if (!r.ok) return r;
    const all = [...r.value.tables.map((t) => `${t.family} ${t.name}`), ...r.value.chains.map((c) => `${c.family} ${c.table}`)];
    return { ok: true, value: [...new Set(all)] };
  };
  const names = (text: string) => {
    const r = parseNftTableNames(text);
    return r.ok ? { ok: true, value: r.value.map((t) => `${t.family} ${t.name}`) } : r;
  };
  const chains = (n: number, extra = '') =>
    `{"nftables":[{"metainfo":{"version":"1.0.6","release_name":"x","json_schema_version":1}},{"table":{"family":"ip","name":"filter","handle":1}},${Array.from(
      { length: n },
      (_, i) => `{"chain":{"family":"${i % 2 === 0 ? 'ip' : 'ip6'}","table":"${i % 3 === 0 ? 'calico' : 'filter'}","name":"c${i}","handle":${i + 2}${i === 0 ? ',"type":"filter","hook":"input","prio":0,"policy":"accept"' : ''}}}`,
    ).join(',')}${extra}]}`;

  it('names the tables parseNftJson names, in the same order, on listings and on a whole ruleset', () => {
    for (const text of [chains(7), chains(0), '{"nftables":[]}', fixture('nft/calico-felix-fv-cali-nftables-dump.json')]) {
      expect(names(text)).toEqual(namesOf(text));
    }
    expect(names(chains(4))).toEqual({ ok: true, value: ['ip filter', 'ip calico', 'ip6 filter', 'ip6 calico'] });
  });

  it('refuses what parseNftJson refuses, with its typed error', () => {
    const bad = [
      '',
      '{"nftables": [',
      '[1,2]',
      '{"nftables":[{"chain":{"family":"ip","table":"t"}}]}',
      '{"nftables":[{"chain":{"family":"ip","table":"t","name":"c","handle":-1}}]}',
      '{"nftables":[{"chain":{"family":"ip","table":"t","name":"c","prio":"high"}}]}',
      '{"nftables":[{"table":{"family":"ip"}}]}',
      '{"nftables":[{"metainfo":{"json_schema_version":1.5}}]}',
      '{"nftables":[{"table":{"family":"ip","name":"t"},"chain":{}}]}',
      chains(3, ',{"chain":{"family":"ip","table":"calico","name":"c0"}}'),
    ];
    for (const text of bad) {
      const r = parseNftTableNames(text);
      expect(r.ok, text).toBe(false);
      expect(r).toEqual(parseNftJson(text));
    }
    expect(parseNftTableNames(chains(3), { maxChars: 10 })).toMatchObject({ ok: false, error: { code: 'too-large' } });
  });
});
