import { describe, expect, it } from 'vitest';
import { collectSysctls } from '../../../agent/collectors/sysctls.js';
import { Sections } from '../../../contract/snapshot.js';
import { config, context, fakeHost } from './fake-host.js';

const C = '/proc/sys/net/ipv4/conf';
const iface = (name: string, rp: string, fwd: string, parp: string) => ({
  [`${C}/${name}/rp_filter`]: rp,
  [`${C}/${name}/forwarding`]: fwd,
  [`${C}/${name}/proxy_arp`]: parp,
});

describe('collectSysctls', () => {
  const files = {
    '/proc/sys/net/ipv4/ip_forward': '1\n',
    '/proc/sys/net/ipv6/conf/all/forwarding': '0\n',
    '/proc/sys/net/netfilter/nf_conntrack_count': '42\n',
    '/proc/sys/net/netfilter/nf_conntrack_max': '262144\n',
    ...iface('all', '0\n', '1\n', '0\n'),
    ...iface('default', '2\n', '1\n', '0\n'),
    ...iface('eth0', '1\n', '1\n', '0\n'),
    ...iface('vxlan.calico', '0\n', '1\n', '0\n'),
    ...iface('cali1', '1\n', '1\n', '1\n'),
    ...iface('cali2', '1\n', '1\n', '0\n'),
    ...iface('cali3', '2\n', '0\n', '1\n'),
  };
  const dirs = { [C]: ['all', 'cali1', 'cali2', 'cali3', 'default', 'eth0', 'lo', 'vxlan.calico'] };

  it('reads forwarding, the uplink and tunnel devices (absent ones skipped), cali* summary and conntrack', async () => {
    const r = await collectSysctls(fakeHost({ files, dirs }), config, context({ uplinks: ['eth0'] }));
    expect(Sections.shape.sysctls.safeParse(r).success).toBe(true);
    expect(r).toEqual({
      status: 'ok',
      data: {
        ipv4Forward: 1,
        ipv6Forwarding: 0,
        interfaces: [
          { scope: 'all', rpFilter: 0, forwarding: 1, proxyArp: 0 },
          { scope: 'default', rpFilter: 2, forwarding: 1, proxyArp: 0 },
          { scope: 'eth0', rpFilter: 1, forwarding: 1, proxyArp: 0 },
          { scope: 'vxlan.calico', rpFilter: 0, forwarding: 1, proxyArp: 0 },
        ],
        workloadDevices: { count: 3, rpFilter: { '1': 2, '2': 1 }, proxyArpOff: ['cali2'], forwardingOff: ['cali3'] },
        conntrack: { count: 42, max: 262144 },
      },
    });
  });

  it('no IPv6, no conntrack module, no cali* devices: nulls and zero, still ok', async () => {
    const r = await collectSysctls(
      fakeHost({ files: { '/proc/sys/net/ipv4/ip_forward': '0\n', ...iface('all', '1\n', '0\n', '0\n') }, dirs: { [C]: ['all', 'lo'] } }),
      config,
      context(),
    );
    expect(r).toMatchObject({
      status: 'ok',
      data: { ipv4Forward: 0, ipv6Forwarding: null, conntrack: null, workloadDevices: { count: 0, rpFilter: {}, proxyArpOff: [], forwardingOff: [] } },
    });
  });

  // issue #2
  it('unreadable ip_forward → unavailable with the file error as reason', async () => {
    const denied = { ok: false as const, kind: 'permission-denied' as const, message: 'EACCES' };
    expect(await collectSysctls(fakeHost({ files: { '/proc/sys/net/ipv4/ip_forward': denied } }), config, context())).toMatchObject({
      status: 'unavailable',
      reason: 'permission-denied',
    });
    expect(await collectSysctls(fakeHost({}), config, context())).toMatchObject({ status: 'unavailable', reason: 'not-present' });
  });
});
