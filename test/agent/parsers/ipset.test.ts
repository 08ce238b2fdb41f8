import { describe, expect, it } from 'vitest';
import { parseIpsetList, parseIpsetSave } from '../../../agent/parsers/ipset.js';
import { fixture } from './fixture.js';

const must = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(`parse failed: ${JSON.stringify(p.error)}`);
  return p.value;
};

const expected = [
  { name: 'cali40all-hosts-net', type: 'hash:net', family: 'inet', members: ['10.98.0.0/16', '10.99.0.1', '10.99.0.2'] },
  { name: 'cali60all-hosts-net', type: 'hash:net', family: 'inet6', members: ['fd00:99::1'] },
  { name: 'cali40masq-ipam-pools', type: 'hash:net', family: 'inet', members: ['10.244.0.0/16'] },
  { name: 'cali40this-host', type: 'hash:ip', family: 'inet', members: ['10.99.0.2'] },
];

/** Element order follows the kernel's hash order, which changes between recordings. */
const sorted = (sets: { members: string[] }[]) => sets.map((s) => ({ ...s, members: [...s.members].sort() }));

describe('ipset parsers (recorded from a cdA namespace)', () => {
  it('parseIpsetSave reads create/add lines', () => {
    expect(sorted(must(parseIpsetSave(fixture('ipset/cdA-vxlan-node-ipset-save.txt'))))).toEqual(expected);
  });

  it('parseIpsetList reads Name/Type/Header/Members blocks, same sets as save', () => {
    expect(sorted(must(parseIpsetList(fixture('ipset/cdA-vxlan-node-ipset-list.txt'))))).toEqual(expected);
  });

  it('keeps the element and drops per-element options; list:set has no family', () => {
    const s = must(parseIpsetSave('create s hash:net,port family inet timeout 60 counters\nadd s 10.0.0.0/8,tcp:80 timeout 59 packets 0 bytes 0\ncreate l list:set size 8\nadd l s\n'));
    expect(s).toEqual([
      { name: 's', type: 'hash:net,port', family: 'inet', members: ['10.0.0.0/8,tcp:80'] },
      { name: 'l', type: 'list:set', family: null, members: ['s'] },
    ]);
    const l = must(parseIpsetList('Name: e\nType: hash:ip\nHeader: family inet hashsize 1024\nMembers:\n'));
    expect(l).toEqual([{ name: 'e', type: 'hash:ip', family: 'inet', members: [] }]);
  });

  it('splits words on any whitespace run and finds `family` anywhere after the type', () => {
    const s = must(
      parseIpsetSave(
        [
          'create  a\thash:ip \u00a0family\tinet6  hashsize 1024',
          '  # a comment',
          'create b hash:net comment family inet family inet6',
          'create c hash:ip family',
          'create d family inet',
          'create e hash:ip xfamily inet familyx inet6',
          'create f hash:ip family inet4',
          'add\ta   fd00::1\ttimeout 5\r',
          '',
          'add b 10.0.0.0/8 comment "x y"',
        ].join('\n'),
      ),
    );
    expect(s).toEqual([
      { name: 'a', type: 'hash:ip', family: 'inet6', members: ['fd00::1'] },
      { name: 'b', type: 'hash:net', family: 'inet', members: ['10.0.0.0/8'] },
      { name: 'c', type: 'hash:ip', family: null, members: [] },
      { name: 'd', type: 'family', family: null, members: [] },
      { name: 'e', type: 'hash:ip', family: null, members: [] },
      { name: 'f', type: 'hash:ip', family: null, members: [] },
    ]);
    expect(parseIpsetSave('create a\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
    expect(parseIpsetSave('create a hash:ip\n\nadd a\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 3 } });
    expect(parseIpsetSave('create a hash:ip\n  destroy\ta')).toMatchObject({ ok: false, error: { code: 'syntax', line: 2, message: 'unknown command "destroy"' } });
  });

  it('returns typed errors with the line', () => {
    expect(parseIpsetSave('add nope 1.2.3.4\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
    expect(parseIpsetSave('create a hash:ip\ncreate a hash:ip\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 2 } });
    expect(parseIpsetSave('create a hash:ip\nflush a\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 2 } });
    expect(parseIpsetList('Type: hash:ip\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
    expect(parseIpsetList('Name: a\nType: hash:ip\nHeader: family inet\n')).toMatchObject({ ok: false, error: { code: 'truncated' } });
  });
});
