import { describe, expect, it } from 'vitest';
import { findPodNetns, holdsPeer, parseLinkNetnsId, parseLsnsNetnsIds, parseNetnsListId, parseVethEnd } from '../../../agent/capture/pod-netns.js';
import { sendProbe } from '../../../agent/capture/probe.js';
import type { Identity } from '../../../contract/snapshot.js';
import { fakeRunner } from '../../helpers/fake-runner.js';

// iproute2 6.x output on this lab's kernel: a cali veth whose peer lives in a named namespace
const LINK = '[{"ifindex":2,"link_index":2,"ifname":"cali1a2b3c4d5e6","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450,"link_netnsid":0,"linkinfo":{"info_kind":"veth"}}]';
const LIST_ID = '[{"nsid":0,"name":"cdl1234-n1-p1"},{"nsid":1}]';
// util-linux 2.38 `lsns -t net -J -o NS,PID,NETNSID` run in the node's namespace (the nsid is a string)
const LSNS = '{"namespaces": [{"ns": 4026531833, "pid": 1, "netnsid": "unassigned"}, {"ns": 4026532712, "pid": 4242, "netnsid": "1"}]}';
// `ip -j link show` inside the pod's namespace: eth0 is the veth peer (its index 2 is the host side's
// link_index, its link_index 2 the host side's index: indexes are per namespace)
const INSIDE = '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"]},{"ifindex":2,"link_index":2,"ifname":"eth0","flags":["BROADCAST","UP"],"link_netnsid":0}]';

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
    const unnamed = fakeRunner({
      'ip -j -d link show dev cali1a2b3c4d5e6': { stdout: LINK.replace('"link_netnsid":0', '"link_netnsid":1') },
      'ip -j netns list-id': { stdout: LIST_ID },
      'lsns -t net -J -o NS,PID,NETNSID': { stdout: LSNS.replace('"netnsid": "1"', '"netnsid": "unassigned"') },
    });
    expect(await findPodNetns('cali1a2b3c4d5e6', unnamed)).toMatchObject({ ok: false, code: 'not-found', message: expect.stringMatching(/nsid 1.*not a named one.*no process of this node is in it/) });
    expect(await findPodNetns('-x', runner)).toMatchObject({ ok: false, code: 'bad-device' });
  });

  // #18: runtimes that do not name pod namespaces under /var/run/netns
  it('an unnamed namespace is found through the process lsns gives its nsid, confirmed by the veth peer inside it', async () => {
    const base = { 'ip -j -d link show dev cali1a2b3c4d5e6': { stdout: LINK.replace('"link_netnsid":0', '"link_netnsid":1') }, 'ip -j netns list-id': { stdout: LIST_ID }, 'lsns -t net -J -o NS,PID,NETNSID': { stdout: LSNS } };
    const runner = fakeRunner({ ...base, 'nsenter --net=/proc/4242/ns/net -- ip -j link show': { stdout: INSIDE } });
    expect(await findPodNetns('cali1a2b3c4d5e6', runner)).toEqual({ ok: true, pid: 4242, device: 'cali1a2b3c4d5e6' });
    // the process left and another namespace has the index now: not that one
    const moved = fakeRunner({ ...base, 'nsenter --net=/proc/4242/ns/net -- ip -j link show': { stdout: INSIDE.replace('"link_index":2', '"link_index":9') } });
    expect(await findPodNetns('cali1a2b3c4d5e6', moved)).toMatchObject({ ok: false, code: 'not-found', message: expect.stringMatching(/does not hold the peer/) });
    // no lsns (or no permission): a typed error that says so
    const noLsns = fakeRunner({ ...base, 'lsns -t net -J -o NS,PID,NETNSID': { error: 'missing-binary' } });
    expect(await findPodNetns('cali1a2b3c4d5e6', noLsns)).toMatchObject({ ok: false, code: 'unreadable', message: expect.stringMatching(/cannot be listed \(lsns: lsns: missing-binary\)/) });
  });

  it('parses veth ends, lsns nsids and peers; bad input gives nothing', () => {
    expect(parseVethEnd(LINK)).toEqual({ ifindex: 2, linkIndex: 2, netnsid: 0 });
    expect(parseVethEnd('[{"ifname":"x"}]')).toBeNull();
    expect([...parseLsnsNetnsIds(LSNS)]).toEqual([[1, 4242]]);
    expect([...parseLsnsNetnsIds('{"namespaces":[{"pid":7,"netnsid":3},{"pid":"x","netnsid":"4"},{"pid":8,"netnsid":"1; rm"}]}')]).toEqual([[3, 7]]);
    expect([...parseLsnsNetnsIds('nope')]).toEqual([]);
    expect(holdsPeer(INSIDE, { ifindex: 2, linkIndex: 2 })).toBe(true);
    expect(holdsPeer(INSIDE, { ifindex: 5, linkIndex: 2 })).toBe(false);
    expect(holdsPeer('{}', { ifindex: 2, linkIndex: 2 })).toBe(false);
  });

  it('a probe from a pod runs ping inside the pod\'s namespace with the pod\'s IP as source', async () => {
    const argv = 'nsenter --net=/var/run/netns/cdl1234-n1-p1 -- ping -4 -n -c 3 -i 0.200 -W 1 -e 77 -I 10.244.1.5 10.244.2.5';
    const runner = fakeRunner({ 'ip -j -d link show dev cali1a2b3c4d5e6': { stdout: LINK }, 'ip -j netns list-id': { stdout: LIST_ID }, [argv]: { stdout: PING } });
    const out = await sendProbe({ target: '10.244.2.5', source: 'tunnel', pod: '10.244.1.5', count: 3, intervalMs: 200, id: 77 }, { runner, node: 'n1', now: () => 0, source: () => source });
    expect(out).toMatchObject({ ok: true, result: { source: '10.244.1.5', sent: 3, received: 3 } });
    // #18: an unnamed namespace is entered with nsenter through the process holding it
    const viaPid = 'nsenter --net=/proc/4242/ns/net -- ping -4 -n -c 3 -i 0.200 -W 1 -e 77 -I 10.244.1.5 10.244.2.5';
    const unnamed = fakeRunner({
      'ip -j -d link show dev cali1a2b3c4d5e6': { stdout: LINK.replace('"link_netnsid":0', '"link_netnsid":1') },
      'ip -j netns list-id': { stdout: LIST_ID },
      'lsns -t net -J -o NS,PID,NETNSID': { stdout: LSNS },
      'nsenter --net=/proc/4242/ns/net -- ip -j link show': { stdout: INSIDE },
      [viaPid]: { stdout: PING },
    });
    const fromPid = await sendProbe({ target: '10.244.2.5', source: 'tunnel', pod: '10.244.1.5', count: 3, intervalMs: 200, id: 77 }, { runner: unnamed, node: 'n1', now: () => 0, source: () => source });
    expect(fromPid).toMatchObject({ ok: true, result: { source: '10.244.1.5', sent: 3, received: 3 } });
    expect(unnamed.calls.at(-1)?.argv.join(' ')).toBe(viaPid);
    const other = await sendProbe({ target: '10.244.2.5', source: 'tunnel', pod: '10.244.1.9', count: 3, intervalMs: 200, id: 77 }, { runner, node: 'n1', now: () => 0, source: () => source });
    expect(other).toEqual({ ok: false, code: 'bad-source', message: '10.244.1.9 is not a pod of this node' });
  });
});
