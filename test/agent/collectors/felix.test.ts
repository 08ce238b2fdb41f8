import { describe, expect, it } from 'vitest';
import { collectFelix } from '../../../agent/collectors/felix.js';
import { Sections } from '../../../contract/snapshot.js';
import { config, context, fakeHost } from './fake-host.js';

const R = 'http://127.0.0.1:9099/readiness';
const L = 'http://127.0.0.1:9099/liveness';

describe('collectFelix', () => {
  it('200 → ready', async () => {
    const r = await collectFelix(fakeHost({ http: { [R]: { ok: true, status: 200, body: '' }, [L]: { ok: true, status: 200, body: '' } } }), config, context());
    expect(Sections.shape.felix.safeParse(r).success).toBe(true);
    expect(r).toMatchObject({ status: 'ok', data: { url: 'http://127.0.0.1:9099', readiness: 'ready', liveness: 'ready' } });
  });

  it('other status → not-ready, with the body in the detail', async () => {
    const http = { [R]: { ok: true as const, status: 503, body: '+-----------+\n| not ready |\n' }, [L]: { ok: true as const, status: 200, body: '' } };
    const r = await collectFelix(fakeHost({ http }), config, context());
    expect(r).toMatchObject({ status: 'ok', data: { readiness: 'not-ready', liveness: 'ready' } });
    expect(r.status === 'ok' && r.data.detail).toContain('readiness: HTTP 503 +-----------+ | not ready |');
  });

  it('connection error or timeout → unreachable', async () => {
    const http = { [L]: { ok: false as const, kind: 'timeout' as const, message: 'no answer' } };
    const r = await collectFelix(fakeHost({ http }), { ...config, felixHealthUrl: 'http://127.0.0.1:9099/' }, context());
    expect(r).toMatchObject({ status: 'ok', data: { readiness: 'unreachable', liveness: 'unreachable' } });
    expect(r.status === 'ok' && r.data.detail).toMatch(/readiness: unreachable: .*; liveness: timeout: no answer/);
  });
});
