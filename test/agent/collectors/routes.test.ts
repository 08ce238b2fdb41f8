import { describe, expect, it } from 'vitest';
import { collectRoutes } from '../../../agent/collectors/routes.js';
import { Sections } from '../../../contract/snapshot.js';
import type { FakeAnswer } from '../../helpers/fake-runner.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

const V4 = 'ip -j -4 route show table all';
const V6 = 'ip -j -6 route show table all';
const v4ok: FakeAnswer = { stdout: fixture('ip/cdA-vxlan-node-ip-j-4-route-show-table-all.json') };
const v6ok: FakeAnswer = { stdout: fixture('ip/cdA-vxlan-node-ip-j-6-route-show-table-all.json') };

describe('collectRoutes', () => {
  it('reads both families, once each', async () => {
    const r = await collectRoutes(fakeHost({ commands: { [V4]: v4ok, [V6]: v6ok } }), config, context());
    expect(Sections.shape.routes.safeParse(r).success).toBe(true);
    if (r.status !== 'ok') throw new Error(r.detail);
    expect(r.data.filter((x) => x.dst === 'default').map((x) => x.family).sort()).toEqual(['inet', 'inet6']);
    expect(r.data.filter((x) => x.family === 'inet6').length).toBe(JSON.parse(v6ok.stdout).length);
  });

  for (const [name, answer] of [
    ['exits non-zero (IPv6 disabled)', { stdout: '', stderr: 'RTNETLINK answers: Address family not supported by protocol\n', exitCode: 2 }],
    ['times out', { error: 'timeout' }],
    ['prints invalid JSON', { stdout: '[{"dst":' }],
  ] as [string, FakeAnswer][]) {
    // issue #2
    it(`IPv6 failure alone keeps the IPv4 routes (v6 ${name})`, async () => {
      const r = await collectRoutes(fakeHost({ commands: { [V4]: v4ok, [V6]: answer } }), config, context());
      expect(r.status).toBe('ok');
      if (r.status === 'ok') {
        expect(r.data.length).toBe(JSON.parse(v4ok.stdout).length);
        expect(r.data.every((x) => x.family === 'inet')).toBe(true);
      }
    });
  }

  it('IPv4 failure makes the section unavailable even when IPv6 worked', async () => {
    const r = await collectRoutes(fakeHost({ commands: { [V4]: { error: 'permission-denied' }, [V6]: v6ok } }), config, context());
    expect(r).toMatchObject({ status: 'unavailable', reason: 'permission-denied' });
  });

  it('empty output (old iproute2, nothing to dump) is no routes', async () => {
    const r = await collectRoutes(fakeHost({ commands: { [V4]: v4ok, [V6]: { stdout: '' } } }), config, context());
    expect(r.status === 'ok' && r.data.every((x) => x.family === 'inet')).toBe(true);
  });
});
