/**
 * Runs inside user-mode-linux (npm run test:uml -- test/lab/uml/kernel.uml.test.ts; test/lab/uml.test.ts
 * runs it from the host): the kernel lab/uml.ts boots has what the IPIP lab needs — it is the UML
 * kernel, ipip is loaded (every namespace gets tunl0), iptables-legacy matches ipsets, and two
 * namespaces joined by a veth reach each other through tunl0 with IPIP-encapsulated packets.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSh, inNs, type Argv } from '../../../lab/sh.js';
import { UML_MODULES_DIR } from '../../../lab/uml.js';

const sh = makeSh();
const tag = randomBytes(2).toString('hex');
const A = `cdu${tag}-a`;
const B = `cdu${tag}-b`;
const inA = (argv: Argv): Argv => inNs(A, argv);
const inB = (argv: Argv): Argv => inNs(B, argv);

/** Packet count of the INPUT rule of B whose iptables-legacy-save line has this comment. */
const counter = async (comment: string): Promise<number> => {
  const out = (await sh.must(inB(['iptables-legacy-save', '-c', '-t', 'filter']))).stdout;
  const line = out.split('\n').find((l) => l.includes(`--comment ${comment}`));
  const m = /^\[(\d+):\d+\]/.exec(line ?? '');
  if (!m) throw new Error(`no rule with comment ${comment} in:\n${out}`);
  return Number(m[1]);
};

describe('the user-mode-linux kernel', () => {
  beforeAll(async () => {
    await sh.must(['ip', 'netns', 'add', A]);
    await sh.must(['ip', 'netns', 'add', B]);
    await sh.must(['ip', 'link', 'add', 'a0', 'netns', A, 'type', 'veth', 'peer', 'name', 'b0', 'netns', B]);
    for (const [ns, dev, ip, tunIp, peerBlock, peerIp] of [
      [A, 'a0', '10.0.0.1/24', '192.168.1.1/32', '192.168.2.0/24', '10.0.0.2'],
      [B, 'b0', '10.0.0.2/24', '192.168.2.1/32', '192.168.1.0/24', '10.0.0.1'],
    ] as const) {
      await sh.must(inNs(ns, ['ip', 'addr', 'add', ip, 'dev', dev]));
      await sh.must(inNs(ns, ['ip', 'link', 'set', dev, 'up']));
      await sh.must(inNs(ns, ['ip', 'link', 'set', 'lo', 'up']));
      // ipip made tunl0 in the namespace; configured the way Calico does
      await sh.must(inNs(ns, ['ip', 'link', 'set', 'tunl0', 'up', 'mtu', '1480']));
      await sh.must(inNs(ns, ['ip', 'addr', 'add', tunIp, 'dev', 'tunl0']));
      await sh.must(inNs(ns, ['ip', 'route', 'add', peerBlock, 'via', peerIp, 'dev', 'tunl0', 'onlink']));
    }
    // B accepts IPIP only from the sources in its set (Calico's guarding set), counting both ways
    await sh.must(inB(['ipset', 'create', 'peers', 'hash:ip']));
    await sh.must(inB(['ipset', 'add', 'peers', '10.0.0.1']));
    await sh.must(inB(['iptables-legacy', '-A', 'INPUT', '-p', '4', '-m', 'set', '--match-set', 'peers', 'src', '-m', 'comment', '--comment', 'ipip-allowed', '-j', 'ACCEPT']));
    await sh.must(inB(['iptables-legacy', '-A', 'INPUT', '-p', '4', '-m', 'comment', '--comment', 'ipip-dropped', '-j', 'DROP']));
  });

  afterAll(async () => {
    await sh.try(['ip', 'netns', 'del', A]);
    await sh.try(['ip', 'netns', 'del', B]);
  });

  it('is the user-mode-linux release whose modules it loads', () => {
    const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    expect(release).toMatch(/^6\.1\./);
    expect(readdirSync(UML_MODULES_DIR)).toContain(release);
    expect(process.env.CALICO_DIAG_UML).toBe(release);
  });

  it('gives a new namespace the ipip fallback device tunl0', async () => {
    const link = JSON.parse((await sh.must(inA(['ip', '-j', '-d', 'link', 'show', 'tunl0']))).stdout) as { ifname: string; linkinfo?: { info_kind?: string } }[];
    expect(link[0]?.ifname).toBe('tunl0');
    expect(link[0]?.linkinfo?.info_kind).toBe('ipip');
  });

  it('carries a ping between two namespaces through tunl0 as IPIP that an ipset match accepts', async () => {
    const before = await counter('ipip-allowed');
    const ping = await sh.try(inA(['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '192.168.1.1', '192.168.2.1']), { timeoutMs: 30_000 });
    expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/3 received/);
    // the echo requests reached B as protocol 4 (IPIP) from A's uplink address, which is in the set
    expect((await counter('ipip-allowed')) - before).toBeGreaterThanOrEqual(3);
    const stats = JSON.parse((await sh.must(inB(['ip', '-j', '-s', 'link', 'show', 'tunl0']))).stdout) as { stats64: { rx: { packets: number } } }[];
    expect(stats[0]?.stats64.rx.packets).toBeGreaterThanOrEqual(3);
  });

  it('drops the IPIP of a source that is not in the set', async () => {
    await sh.must(inB(['ipset', 'del', 'peers', '10.0.0.1']));
    const before = await counter('ipip-dropped');
    const ping = await sh.try(inA(['ping', '-c', '2', '-i', '0.2', '-W', '1', '-I', '192.168.1.1', '192.168.2.1']), { timeoutMs: 30_000 });
    expect(ping.exitCode).not.toBe(0);
    expect((await counter('ipip-dropped')) - before).toBeGreaterThanOrEqual(2);
  });
});
