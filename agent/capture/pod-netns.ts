/**
 * The network namespace of a pod on this node, found from its Calico veth (#18): the host side
 * `cali…` device names its peer's namespace by `link_netnsid`; `ip netns list-id` maps that id to
 * a named namespace (/var/run/netns: CNI plugins name pod namespaces there, the lab too). No exec
 * into the pod's image: the probe runs the agent's own ping inside that namespace with
 * `nsenter --net=/var/run/netns/<name>` (setns only: unlike `ip netns exec` it mounts nothing, which
 * a container runtime's default AppArmor profile would refuse).
 *
 * Not every runtime names the namespace. Then the namespace is reached through a process in it,
 * `/proc/<pid>/ns/net`: `lsns -t net` lists the network namespaces of the node's processes with
 * their nsid as seen from the agent's namespace (the kernel's RTM_GETNSID on each namespace file),
 * so the one whose nsid is the veth's `link_netnsid` is the pod's, exactly; the match is confirmed
 * inside it (`nsenter --net=/proc/<pid>/ns/net ip -j link show`: the veth's peer has the index the
 * host side links to and links back to the host side's index) and the probe runs there with
 * `nsenter --net=…`. The scan is lsns's, bounded by a timeout and an output cap. Needs the host's
 * PIDs (hostPID) and CAP_SYS_ADMIN/CAP_SYS_PTRACE (manifests/components/pod-probes). Parsers are
 * pure and never throw; the resolver goes through the runner (structured argv, never a shell).
 */
import type { CommandRunner } from '../exec/runner.js';

export type PodNetnsError = 'bad-device' | 'no-peer' | 'not-found' | 'unreadable';

/** a named namespace (/var/run/netns/<name>) or one held by a process (/proc/<pid>/ns/net) */
export type PodNetns = { ok: true; name: string; device: string } | { ok: true; pid: number; device: string } | { ok: false; code: PodNetnsError; message: string };

/** The argv prefix that runs a command inside the pod's namespace. */
export const enterArgv = (ns: { name: string } | { pid: number }): [string, ...string[]] =>
  ['nsenter', 'name' in ns ? `--net=/var/run/netns/${ns.name}` : `--net=/proc/${ns.pid}/ns/net`, '--'];

/** a named network namespace as ip(8) accepts it (file name under /var/run/netns) */
export const NETNS_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** `link_netnsid` of the only link in `ip -j -d link show dev X`, or null. Pure. */
export const parseLinkNetnsId = (json: string): number | null => {
  try {
    const v = JSON.parse(json) as unknown;
    const l = Array.isArray(v) ? (v[0] as { link_netnsid?: unknown } | undefined) : undefined;
    return typeof l?.link_netnsid === 'number' && Number.isInteger(l.link_netnsid) ? l.link_netnsid : null;
  } catch {
    return null;
  }
};

/** index, peer index (`link_index`) and peer nsid of the only link in `ip -j -d link show dev X`, or null. Pure. */
export const parseVethEnd = (json: string): { ifindex: number; linkIndex: number | null; netnsid: number | null } | null => {
  try {
    const v = JSON.parse(json) as unknown;
    const l = Array.isArray(v) ? (v[0] as { ifindex?: unknown; link_index?: unknown; link_netnsid?: unknown } | undefined) : undefined;
    if (typeof l?.ifindex !== 'number' || !Number.isInteger(l.ifindex)) return null;
    const int = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) ? x : null);
    return { ifindex: l.ifindex, linkIndex: int(l.link_index), netnsid: int(l.link_netnsid) };
  } catch {
    return null;
  }
};

/** pid of each network namespace of `lsns -t net -J -o NS,PID,NETNSID` by its nsid (unassigned ones left out). Pure. */
export const parseLsnsNetnsIds = (json: string): Map<number, number> => {
  const out = new Map<number, number>();
  try {
    const v = JSON.parse(json) as { namespaces?: unknown };
    if (!Array.isArray(v?.namespaces)) return out;
    for (const e of v.namespaces as Array<{ pid?: unknown; netnsid?: unknown }>) {
      // util-linux prints the nsid as a string ("0") or a number depending on the version
      const id = typeof e?.netnsid === 'number' ? e.netnsid : typeof e?.netnsid === 'string' && /^\d{1,10}$/.test(e.netnsid) ? Number(e.netnsid) : null;
      const pid = typeof e?.pid === 'number' && Number.isInteger(e.pid) && e.pid > 0 ? e.pid : null;
      if (id !== null && pid !== null && !out.has(id)) out.set(id, pid);
    }
  } catch {
    return out;
  }
  return out;
};

/** Whether `ip -j link show` of a namespace holds the veth peer of the host side `host`. Pure. */
export const holdsPeer = (json: string, host: { ifindex: number; linkIndex: number }): boolean => {
  try {
    const v = JSON.parse(json) as unknown;
    if (!Array.isArray(v)) return false;
    return (v as Array<{ ifindex?: unknown; link_index?: unknown }>).some((l) => l?.ifindex === host.linkIndex && l.link_index === host.ifindex);
  } catch {
    return false;
  }
};

/** nsid → name from `ip -j netns list-id` (entries without a name are left out). Pure. */
export const parseNetnsListId = (json: string): Map<number, string> => {
  const out = new Map<number, string>();
  try {
    const v = JSON.parse(json) as unknown;
    if (!Array.isArray(v)) return out;
    for (const e of v as Array<{ nsid?: unknown; name?: unknown }>) {
      if (typeof e?.nsid === 'number' && typeof e.name === 'string' && NETNS_NAME.test(e.name)) out.set(e.nsid, e.name);
    }
  } catch {
    return out;
  }
  return out;
};

/** Finds the namespace behind a pod's cali device: named, else through a process in it. */
export const findPodNetns = async (device: string, runner: CommandRunner): Promise<PodNetns> => {
  if (!/^[a-zA-Z0-9._@-]{1,15}$/.test(device) || device.startsWith('-')) return { ok: false, code: 'bad-device', message: 'bad workload device name' };
  const link = await runner({ argv: ['ip', '-j', '-d', 'link', 'show', 'dev', device], timeoutMs: 5000, maxOutputBytes: 64 * 1024 });
  if (!link.ok || link.exitCode !== 0) return { ok: false, code: 'unreadable', message: `${device}: ${link.ok ? link.stderr.trim().slice(0, 200) : link.message}` };
  const end = parseVethEnd(link.stdout);
  const nsid = end?.netnsid ?? null;
  if (end === null || nsid === null) return { ok: false, code: 'no-peer', message: `${device} has no peer in another network namespace (no link-netnsid)` };
  const ids = await runner({ argv: ['ip', '-j', 'netns', 'list-id'], timeoutMs: 5000, maxOutputBytes: 256 * 1024 });
  const name = ids.ok && ids.exitCode === 0 ? parseNetnsListId(ids.stdout).get(nsid) : undefined;
  if (name) return { ok: true, name, device };
  const named = ids.ok && ids.exitCode === 0 ? `not a named one under /var/run/netns` : `not named (ip netns list-id: ${ids.ok ? ids.stderr.trim().slice(0, 120) : ids.message})`;
  // #18: no name: the process holding it, by the nsid the kernel gives its namespace file
  const ns = await runner({ argv: ['lsns', '-t', 'net', '-J', '-o', 'NS,PID,NETNSID'], timeoutMs: LSNS_TIMEOUT_MS, maxOutputBytes: LSNS_MAX_BYTES });
  if (!ns.ok || ns.exitCode !== 0) {
    return { ok: false, code: 'unreadable', message: `the namespace of ${device} (nsid ${nsid}) is ${named}, and the processes' namespaces cannot be listed (lsns: ${ns.ok ? ns.stderr.trim().slice(0, 120) : ns.message})` };
  }
  const pid = parseLsnsNetnsIds(ns.stdout).get(nsid);
  if (pid === undefined) return { ok: false, code: 'not-found', message: `the namespace of ${device} (nsid ${nsid}) is ${named}, and no process of this node is in it (lsns; the agent needs the host's PIDs)` };
  if (end.linkIndex === null) return { ok: false, code: 'no-peer', message: `${device} names no peer index (link_index)` };
  const inside = await runner({ argv: [...enterArgv({ pid }), 'ip', '-j', 'link', 'show'], timeoutMs: 5000, maxOutputBytes: 1024 * 1024 });
  if (!inside.ok || inside.exitCode !== 0) return { ok: false, code: 'unreadable', message: `cannot enter /proc/${pid}/ns/net: ${inside.ok ? inside.stderr.trim().slice(0, 200) : inside.message}` };
  if (!holdsPeer(inside.stdout, { ifindex: end.ifindex, linkIndex: end.linkIndex })) {
    return { ok: false, code: 'not-found', message: `the namespace of process ${pid} (nsid ${nsid}) does not hold the peer of ${device} (it changed while looking)` };
  }
  return { ok: true, pid, device };
};

const LSNS_TIMEOUT_MS = 5000;
const LSNS_MAX_BYTES = 4 * 1024 * 1024;
