/**
 * #18 on this machine's kernel: a pod namespace that has no name under /var/run/netns (a runtime
 * that does not name it; here `unshare --net` holding it) is found from the node's cali veth through
 * the process in it, and a command runs inside it. The node is a throw-away named namespace
 * (prefix cdl…), the agent's commands run in it; both are removed in afterAll, also on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRunner, type CommandRunner } from '../../../agent/exec/runner.js';
import { enterArgv, findPodNetns } from '../../../agent/capture/pod-netns.js';

const NODE = `cdl${randomBytes(3).toString('hex')}-pn`;
const DEV = `cali${randomBytes(4).toString('hex')}`;
let holder: ChildProcess | undefined;

const sh = async (...argv: [string, ...string[]]) => {
  const r = await execRunner({ argv });
  if (!r.ok || r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${r.ok ? r.stderr : r.message}`);
  return r.stdout;
};
/** the agent's runner as it runs on the node: every command inside the node's namespace */
const inNode: CommandRunner = (req) => execRunner({ ...req, argv: ['ip', 'netns', 'exec', NODE, ...req.argv] });

beforeAll(async () => {
  await sh('ip', 'netns', 'add', NODE);
  // the pod: a network namespace held only by a process, never named
  holder = spawn('unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' });
  const pid = holder.pid;
  if (pid === undefined) throw new Error('unshare did not start');
  // wait until the process runs in its own namespace
  for (let i = 0; i < 50; i++) {
    const mine = await sh('readlink', '/proc/self/ns/net');
    const its = await sh('readlink', `/proc/${pid}/ns/net`).catch(() => mine);
    if (its !== mine) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await sh('ip', '-n', NODE, 'link', 'add', DEV, 'type', 'veth', 'peer', 'name', 'eth0p');
  await sh('ip', '-n', NODE, 'link', 'set', 'eth0p', 'netns', String(pid));
  await sh('ip', '-n', NODE, 'addr', 'add', '10.99.0.1/24', 'dev', DEV);
  await sh('ip', '-n', NODE, 'link', 'set', DEV, 'up');
  await sh('nsenter', `--net=/proc/${pid}/ns/net`, '--', 'ip', 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0p');
  await sh('nsenter', `--net=/proc/${pid}/ns/net`, '--', 'ip', 'link', 'set', 'eth0p', 'up');
}, 30_000);

afterAll(async () => {
  holder?.kill('SIGKILL');
  await execRunner({ argv: ['ip', 'netns', 'del', NODE] });
});

describe('pod namespace without a name (real kernel)', () => {
  it('is not named, and is found through the process holding it; a command runs inside it', async () => {
    // no name for it on the node: the named lookup alone would fail
    const ids = JSON.parse(await sh('ip', 'netns', 'exec', NODE, 'ip', '-j', 'netns', 'list-id')) as Array<{ nsid: number; name?: string }>;
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((e) => e.name === undefined)).toBe(true);

    const found = await findPodNetns(DEV, inNode);
    expect(found).toEqual({ ok: true, pid: holder!.pid, device: DEV });
    if (!found.ok || !('pid' in found)) return;
    // the agent's own ping, inside the pod's namespace, reaches the node side of the veth
    const ping = await inNode({ argv: [...enterArgv(found), 'ping', '-4', '-n', '-c', '1', '-W', '2', '10.99.0.1'], timeoutMs: 5000 });
    expect(ping.ok && ping.exitCode, ping.ok ? ping.stdout + ping.stderr : ping.message).toBe(0);
  });

  it('a veth whose peer is in the node itself has no pod namespace: a typed error', async () => {
    const local = `cali${randomBytes(4).toString('hex')}`;
    await sh('ip', '-n', NODE, 'link', 'add', local, 'type', 'veth', 'peer', 'name', `${local.slice(0, 11)}p`);
    expect(await findPodNetns(local, inNode)).toMatchObject({ ok: false, code: 'no-peer' });
  });
});
