import { describe, expect, it } from 'vitest';
import { findPodNetns, parseLinkNetnsId, parseNetnsListId } from '../../../agent/capture/pod-netns.js';
import { sendProbe } from '../../../agent/capture/probe.js';
import type { Identity } from '../../../contract/snapshot.js';
import { fakeRunner } from '../../helpers/fake-runner.js';

// iproute2 6.x output on this lab's kernel: a cali veth whose peer lives in a named namespace
const LINK = '[{"ifindex":2,"link_index":2,"ifname":"cali1a2b3c4d5e6","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450,"link_netnsid":0,"linkinfo":{"info_kind":"veth"}}]';
const LIST_ID = '[{"nsid":0,"name":"cdl1234-n1-p1"},{"nsid":1}]';

const identity: Identity = {
  nodeIPs: ['10.213.0.11'],
  uplinks: [{ name: 'eth0', mtu: 1500 }],
  tunnels: [{ device: 'vxlan.calico', kind: 'vxlan', family: 'inet', ip: '10.244.1.0', mac: '66:00:00:00:00:01', vni: 4096, port: 4789, mtu: 1450, operstate: 'UNKNOWN', local: '10.213.0.11' }],
  blocks: ['10.244.1.0/26'],
  workloads: [{ ip: '10.244.1.5', dev: 'cali1a2b3c4d5e6' }],
};
const source = { identity, addresses: ['10.213.0.11', '10.244.1.0'] };
const PING = '--- 10.244.2.5 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 402ms\n';

// #18: probes from a pod leave from its own namespace
describe('pod network namespace', () => {
  it('parses the peer nsid of a veth and the named namespaces by nsid; bad input gives nothing', () => {
    expect(parseLinkNetnsId(LINK)).toBe(0);
    expect(parseLinkNetnsId('[{"ifname":"eth0"}]')).toBeNull();
    expect(parseLinkNetnsId('not json')).toBeNull();
    expect([...parseNetnsListId(LIST_ID)]).toEqual([[0, 'cdl1234-n1-p1']]);
    expect([...parseNetnsListId('[{"nsid":0,"name":"../../etc"}]')]).toEqual([]);
    expect([...parseNetnsListId('{}')]).toEqual([]);
  });

  it('finds the named namespace behind a cali device, or says why not', async () => {
    const runner = fakeRunner({ 'ip -j -d link show dev cali1a2b3c4d5e6': { stdout: LINK }, 'ip -j netns list-id': { stdout: LIST_ID } });
    expect(await findPodNetns('cali1a2b3c4d5e6', runner)).toEqual({ ok: true, name: 'cdl1234-n1-p1', device: 'cali1a2b3c4d5e6' });
    const unnamed = fakeRunner({ 'ip -j -d link show dev cali1a2b3c4d5e6': { stdout: LINK.replace('"link_netnsid":0', '"link_netnsid":1') }, 'ip -j netns list-id': { stdout: LIST_ID } });
    expect(await findPodNetns('cali1a2b3c4d5e6', unnamed)).toMatchObject({ ok: false, message: expect.stringMatching(/nsid 1.*not a named one/) });
    expect(await findPodNetns('-x', runner)).toMatchObject({ ok: false });
  });

  it('a probe from a pod runs ping inside the pod\'s namespace with the pod\'s IP as source', async () => {
    const argv = 'ip netns exec cdl1234-n1-p1 ping -4 -n -c 3 -i 0.200 -W 1 -e 77 -I 10.244.1.5 10.244.2.5';
    const runner = fakeRunner({ 'ip -j -d link show dev cali1a2b3c4d5e6': { stdout: LINK }, 'ip -j netns list-id': { stdout: LIST_ID }, [argv]: { stdout: PING } });
    const out = await sendProbe({ target: '10.244.2.5', source: 'tunnel', pod: '10.244.1.5', count: 3, intervalMs: 200, id: 77 }, { runner, node: 'n1', now: () => 0, source: () => source });
    expect(out).toMatchObject({ ok: true, result: { source: '10.244.1.5', sent: 3, received: 3 } });
    const other = await sendProbe({ target: '10.244.2.5', source: 'tunnel', pod: '10.244.1.9', count: 3, intervalMs: 200, id: 77 }, { runner, node: 'n1', now: () => 0, source: () => source });
    expect(other).toEqual({ ok: false, code: 'bad-source', message: '10.244.1.9 is not a pod of this node' });
  });
});
