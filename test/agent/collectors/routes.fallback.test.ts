/** issue #2: routes from `ip route show table all` text when iproute2 has no -j, per family. */
import { describe, expect, it } from 'vitest';
import { collectRoutes } from '../../../agent/collectors/routes.js';
import { Sections } from '../../../contract/snapshot.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from './fake-host.js';

const NO_J = { stdout: '', stderr: 'Option "-j" is unknown, try "ip -help".\n', exitCode: 255 };

describe('collectRoutes text fallback', () => {
  it('-j unknown → `ip -4/-6 route show table all` text, same routes as the JSON path of the same namespace', async () => {
    const old = fakeHost({
      commands: {
        'ip -j -4 route show table all': NO_J,
        'ip -j -6 route show table all': NO_J,
        'ip -4 route show table all': { stdout: fixture('ip-text/cdT-node-ip-4-route-show-table-all.txt') },
        'ip -6 route show table all': { stdout: fixture('ip-text/cdT-node-ip-6-route-show-table-all.txt') },
      },
    });
    const current = fakeHost({
      commands: {
        'ip -j -4 route show table all': { stdout: fixture('ip-text/cdT-node-ip-j-4-route-show-table-all.json') },
        'ip -j -6 route show table all': { stdout: fixture('ip-text/cdT-node-ip-j-6-route-show-table-all.json') },
      },
    });
    const r = await collectRoutes(old, config, context());
    expect(Sections.shape.routes.safeParse(r).success).toBe(true);
    expect(r).toEqual(await collectRoutes(current, config, context()));
    expect(r.status === 'ok' && r.data.filter((x) => x.type === 'blackhole').map((x) => x.dst)).toEqual(['10.246.1.0/26', 'fd00:246:1::/122']);
    expect(old.run.calls).toHaveLength(4);
  });

  it('iproute2 4.15: plain text printed for -j on IPv4 only → only IPv4 re-read as text; IPv6 text failing keeps IPv4', async () => {
    const v4text = fixture('ip-text/cdT-node-ip-4-route-show-table-all.txt');
    const host = fakeHost({
      commands: {
        'ip -j -4 route show table all': { stdout: v4text },
        'ip -4 route show table all': { stdout: v4text },
        'ip -j -6 route show table all': NO_J,
        'ip -6 route show table all': { stdout: '', stderr: 'RTNETLINK answers: Address family not supported by protocol\n', exitCode: 2 },
      },
    });
    const r = await collectRoutes(host, config, context());
    expect(r.status === 'ok' && r.data.every((x) => x.family === 'inet')).toBe(true);
    expect(r.status === 'ok' && r.data.find((x) => x.dst === '10.246.4.0/26')?.nexthops).toHaveLength(2);
  });
});
