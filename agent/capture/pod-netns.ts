/**
 * The network namespace of a pod on this node, found from its Calico veth (#18): the host side
 * `cali…` device names its peer's namespace by `link_netnsid`; `ip netns list-id` maps that id to
 * a named namespace (/var/run/netns: CNI plugins name pod namespaces there, the lab too). No exec
 * into the pod's image: the probe runs the agent's own ping inside that namespace with
 * `ip netns exec <name>`. Parsers are pure and never throw; the resolver goes through the runner.
 */
import type { CommandRunner } from '../exec/runner.js';

export type PodNetns = { ok: true; name: string; device: string } | { ok: false; message: string };

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

/** Finds the named namespace behind a pod's cali device. */
export const findPodNetns = async (device: string, runner: CommandRunner): Promise<PodNetns> => {
  if (!/^[a-zA-Z0-9._@-]{1,15}$/.test(device) || device.startsWith('-')) return { ok: false, message: 'bad workload device name' };
  const link = await runner({ argv: ['ip', '-j', '-d', 'link', 'show', 'dev', device], timeoutMs: 5000, maxOutputBytes: 64 * 1024 });
  if (!link.ok || link.exitCode !== 0) return { ok: false, message: `${device}: ${link.ok ? link.stderr.trim().slice(0, 200) : link.message}` };
  const nsid = parseLinkNetnsId(link.stdout);
  if (nsid === null) return { ok: false, message: `${device} has no peer in another network namespace (no link-netnsid)` };
  const ids = await runner({ argv: ['ip', '-j', 'netns', 'list-id'], timeoutMs: 5000, maxOutputBytes: 256 * 1024 });
  if (!ids.ok || ids.exitCode !== 0) return { ok: false, message: `ip netns list-id: ${ids.ok ? ids.stderr.trim().slice(0, 200) : ids.message}` };
  const name = parseNetnsListId(ids.stdout).get(nsid);
  if (!name) return { ok: false, message: `the namespace of ${device} (nsid ${nsid}) is not a named one under /var/run/netns on this node` };
  return { ok: true, name, device };
};
