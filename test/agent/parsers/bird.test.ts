import { describe, expect, it } from 'vitest';
import { birdReplyComplete, parseBirdProtocols } from '../../../agent/parsers/bird.js';
import { BgpProtocol } from '../../../contract/snapshot.js';
import { fixture } from './fixture.js';

const must = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(`parse failed: ${JSON.stringify(p.error)}`);
  return p.value;
};

const bird1 = [
  { name: 'device1', proto: 'Device', table: 'master', state: 'up', since: '14:59:10', info: '' },
  { name: 'kernel1', proto: 'Kernel', table: 'master', state: 'up', since: '14:59:10', info: '' },
  { name: 'static1', proto: 'Static', table: 'master', state: 'up', since: '14:59:10', info: '' },
  { name: 'Mesh_10_88_0_2', proto: 'BGP', table: 'master', state: 'up', since: '14:59:14', info: 'Established' },
  { name: 'Node_10_88_0_99', proto: 'BGP', table: 'master', state: 'start', since: '14:59:10', info: 'Connect' },
];

describe('parseBirdProtocols (real BIRD socket exchanges)', () => {
  it('reads BIRD 1.6 `show protocols` (continuation rows start with a space)', () => {
    const p = must(parseBirdProtocols(fixture('bird/bird1-show-protocols.txt')));
    expect(p).toEqual(bird1);
    for (const x of p) expect(BgpProtocol.safeParse(x).success).toBe(true);
  });

  it('reads BIRD 1.6 `show protocols all` (1006 detail blocks skipped)', () => {
    expect(must(parseBirdProtocols(fixture('bird/bird1-show-protocols-all.txt')))).toEqual(bird1);
  });

  it('reads BIRD 2 (table ---, milliseconds in Since)', () => {
    const p = must(parseBirdProtocols(fixture('bird/bird2-show-protocols.txt')));
    expect(p.map((x) => x.name)).toEqual(['device1', 'kernel1', 'static1', 'Mesh_10_88_0_2', 'Node_10_88_0_99']);
    expect(p[0]).toMatchObject({ table: null, since: '14:58:52.547', info: '' });
    expect(p[3]).toMatchObject({ proto: 'BGP', state: 'up', info: 'Established' });
    expect(must(parseBirdProtocols(fixture('bird/bird2-show-protocols-all.txt')))).toEqual(p);
  });

  it('keeps a two-word Since (iso long) and the whole Info', () => {
    const text = '0001 BIRD 2.14 ready.\n2002-Name Proto Table State Since Info\n1002-bgp4 BGP --- start 2024-03-08 15:13:49 Active Socket: Connection refused\n0000 \n';
    expect(must(parseBirdProtocols(text))[0]).toEqual({
      name: 'bgp4',
      proto: 'BGP',
      table: null,
      state: 'start',
      since: '2024-03-08 15:13:49',
      info: 'Active Socket: Connection refused',
    });
  });

  it('reports BIRD errors, truncation and junk as typed errors', () => {
    expect(parseBirdProtocols(fixture('bird/bird1-syntax-error.txt'))).toMatchObject({ ok: false, error: { code: 'incompatible', line: 2 } });
    expect(parseBirdProtocols(fixture('bird/bird2-syntax-error.txt'))).toMatchObject({ ok: false, error: { code: 'incompatible' } });
    const cut = fixture('bird/bird1-show-protocols.txt').split('\n').slice(0, 4).join('\n');
    expect(parseBirdProtocols(cut)).toMatchObject({ ok: false, error: { code: 'truncated' } });
    expect(parseBirdProtocols('')).toMatchObject({ ok: false, error: { code: 'empty' } });
    expect(parseBirdProtocols('0001 BIRD ready.\nhello\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 2 } });
    expect(parseBirdProtocols('0001 BIRD ready.\n2002-h\n1002-a b c\n0000\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 3 } });
  });
});

describe('birdReplyComplete', () => {
  it('is false for the greeting alone and partial replies, true once a final line arrives', () => {
    expect(birdReplyComplete('0001 BIRD 1.6.8 ready.\n')).toBe(false);
    expect(birdReplyComplete('0001 BIRD 1.6.8 ready.\n2002-name proto\n1002-device1 Device master up 1:2:3\n')).toBe(false);
    expect(birdReplyComplete('0001 BIRD 1.6.8 ready.\n2002-name proto\n0000')).toBe(false);
    expect(birdReplyComplete(fixture('bird/bird1-show-protocols.txt'))).toBe(true);
    expect(birdReplyComplete(fixture('bird/bird2-show-protocols.txt'))).toBe(true);
    expect(birdReplyComplete(fixture('bird/bird1-syntax-error.txt'))).toBe(true);
  });
});
