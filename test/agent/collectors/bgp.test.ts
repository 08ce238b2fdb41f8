import { describe, expect, it } from 'vitest';
import { collectBgp } from '../../../agent/collectors/bgp.js';
import { Sections } from '../../../contract/snapshot.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

const SOCK = '/var/run/calico/bird.ctl';

describe('collectBgp', () => {
  it('sends "show protocols" and parses the reply', async () => {
    const host = fakeHost({ sockets: { [SOCK]: { ok: true, text: fixture('bird/bird1-show-protocols.txt') } } });
    const r = await collectBgp(host, config, context());
    expect(Sections.shape.bgp.safeParse(r).success).toBe(true);
    expect(host.socketRequests).toEqual(['show protocols\n']);
    expect(r.status === 'ok' && r.data.socket).toBe(SOCK);
    expect(r.status === 'ok' && r.data.protocols.filter((p) => p.proto === 'BGP').map((p) => [p.name, p.info])).toEqual([
      ['Mesh_10_88_0_2', 'Established'],
      ['Node_10_88_0_99', 'Connect'],
    ]);
  });

  // issue #2
  it('no socket → not-present; refused → unreachable; timeout; permission', async () => {
    expect(await collectBgp(fakeHost({}), config, context())).toMatchObject({ status: 'unavailable', reason: 'not-present' });
    for (const [kind, reason] of [
      ['unreachable', 'unreachable'],
      ['timeout', 'timeout'],
      ['permission-denied', 'permission-denied'],
      ['too-large', 'output-too-large'],
    ] as const) {
      const host = fakeHost({ sockets: { [SOCK]: { ok: false, kind, message: kind } } });
      expect(await collectBgp(host, config, context())).toMatchObject({ status: 'unavailable', reason });
    }
  });

  it('a BIRD error reply → incompatible; a cut reply → invalid-output', async () => {
    const err = fakeHost({ sockets: { [SOCK]: { ok: true, text: fixture('bird/bird1-syntax-error.txt') } } });
    expect(await collectBgp(err, config, context())).toMatchObject({ status: 'unavailable', reason: 'incompatible', detail: expect.stringContaining('9001') });
    const cut = fakeHost({ sockets: { [SOCK]: { ok: true, text: '0001 BIRD 1.6.8 ready.\n2002-name proto\n' } } });
    expect(await collectBgp(cut, config, context())).toMatchObject({ status: 'unavailable', reason: 'invalid-output', detail: expect.stringContaining('truncated') });
  });
});
