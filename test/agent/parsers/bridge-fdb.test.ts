import { describe, expect, it } from 'vitest';
import { parseBridgeFdbJson, parseBridgeFdbText } from '../../../agent/parsers/bridge-fdb.js';
import { FdbEntry } from '../../../contract/snapshot.js';
import { fixture } from './fixture.js';

const must = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(`parse failed: ${JSON.stringify(p.error)}`);
  return p.value;
};

const vtep = { mac: '66:aa:bb:cc:dd:02', dev: 'vxlan.calico', dst: '10.99.0.1', flags: ['self'], state: 'permanent', vni: null, port: null };

describe('parseBridgeFdbJson', () => {
  it('reads `bridge -j fdb show` (recorded)', () => {
    const e = must(parseBridgeFdbJson(fixture('bridge/cdA-vxlan-node-bridge-j-fdb-show.json')));
    expect(e).toHaveLength(12);
    for (const x of e) expect(FdbEntry.safeParse(x).success).toBe(true);
    expect(e).toContainEqual(vtep);
    expect(e).toContainEqual({ ...vtep, mac: '66:aa:bb:cc:dd:03', dev: 'vxlan-v6.calico', dst: 'fd00:99::1' });
  });

  it('takes the device from the dev filter, which iproute2 leaves out of the entries', () => {
    const text = fixture('bridge/cdA-vxlan-node-bridge-j-fdb-show-dev-vxlan-calico.json');
    expect(must(parseBridgeFdbJson(text, 'vxlan.calico'))).toEqual([vtep]);
    expect(parseBridgeFdbJson(text)).toMatchObject({ ok: false, error: { code: 'invalid-shape' } });
  });

  it('reads vni/port and an empty (dynamic) state', () => {
    const e = must(parseBridgeFdbJson('[{"mac":"00:00:00:00:00:00","ifname":"vx0","dst":"10.0.0.2","vni":4096,"port":4789,"flags":["self"],"state":""}]'));
    expect(e[0]).toMatchObject({ vni: 4096, port: 4789, state: null });
  });

  it('returns typed errors', () => {
    expect(parseBridgeFdbJson('')).toMatchObject({ ok: false, error: { code: 'empty' } });
    expect(parseBridgeFdbJson('[{"ifname":"x"}]')).toMatchObject({ ok: false, error: { code: 'invalid-shape' } });
    expect(parseBridgeFdbJson('[{"mac":"66:')).toMatchObject({ ok: false, error: { code: 'truncated' } });
  });
});

describe('parseBridgeFdbText', () => {
  it('reads `bridge fdb show` and agrees with the JSON form of the same table', () => {
    const text = must(parseBridgeFdbText(fixture('bridge/cdA-vxlan-node-bridge-fdb-show.txt')));
    const json = must(parseBridgeFdbJson(fixture('bridge/cdA-vxlan-node-bridge-j-fdb-show.json')));
    expect(text).toEqual(json);
  });

  it('reads `bridge fdb show dev vxlan.calico` with the filtered device', () => {
    expect(must(parseBridgeFdbText(fixture('bridge/cdA-vxlan-node-bridge-fdb-show-dev-vxlan-calico.txt'), 'vxlan.calico'))).toEqual([vtep]);
  });

  it('reads bridge entries with vlan, master <bridge>, vni, port and -s timers', () => {
    const e = must(
      parseBridgeFdbText(
        [
          '02:42:ba:ae:65:54 dev docker0 vlan 1 master docker0 permanent',
          '02:b2:ca:68:10:ec dev veth1 master docker0',
          '00:00:00:00:00:00 dev vx0 dst 10.0.0.2 port 4789 vni 42 via eth0 self permanent',
          '66:aa:bb:cc:dd:02 dev vxlan.calico dst 10.99.0.1 used 3/3 self permanent',
        ].join('\n'),
      ),
    );
    expect(e[0]).toMatchObject({ dev: 'docker0', flags: [], state: 'permanent' });
    expect(e[1]).toMatchObject({ dev: 'veth1', state: null });
    expect(e[2]).toMatchObject({ dst: '10.0.0.2', port: 4789, vni: 42, flags: ['self'] });
    expect(e[3]).toMatchObject({ dst: '10.99.0.1', state: 'permanent' });
  });

  it('names the line of a bad entry', () => {
    expect(parseBridgeFdbText('66:aa:bb:cc:dd:02 dev x self\n$ bridge fdb show dev vtep\n')).toMatchObject({
      ok: false,
      error: { code: 'syntax', line: 2 },
    });
    expect(parseBridgeFdbText('66:aa:bb:cc:dd:02 dev x vni abc\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
    expect(parseBridgeFdbText('66:aa:bb:cc:dd:02 self permanent\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
  });
});
