/**
 * What became of a capture device that could not be opened (#18): the last snapshot that showed the
 * name gives its interface index; the live links (`ip -j link show`, read when the capture fails)
 * give that index's name now. Another name: renamed since that snapshot; no such index: gone. The
 * decision is pure (`deviceFateOf`); `readLiveLinks` is the IO edge (structured argv, bounded, never
 * throws: null when the links cannot be read).
 */
import { z } from 'zod';
import type { CommandRunner } from '../exec/runner.js';
import type { DeviceFate } from './manager.js';

export interface LinkName {
  ifindex: number;
  name: string;
}

export interface SnapshotLinks {
  /** the snapshot's takenAt */
  at: string;
  links: readonly LinkName[];
}

/**
 * `snapshots` newest first. Null when no snapshot showed the name, or the name is still live (the
 * failure is something else), or its index carries the same name.
 */
export const deviceFateOf = (iface: string, snapshots: readonly SnapshotLinks[], live: readonly LinkName[]): DeviceFate | null => {
  if (live.some((l) => l.name === iface)) return null;
  for (const s of snapshots) {
    const was = s.links.find((l) => l.name === iface);
    if (!was) continue;
    const now = live.find((l) => l.ifindex === was.ifindex);
    if (now) return { state: 'renamed', renamedTo: now.name, snapshotAt: s.at, message: `renamed to ${now.name} since the snapshot at ${s.at} (ifindex ${was.ifindex})` };
    return { state: 'missing', snapshotAt: s.at, message: `gone since the snapshot at ${s.at} (ifindex ${was.ifindex} no longer exists)` };
  }
  return null;
};

const IpLink = z.array(z.object({ ifindex: z.number().int(), ifname: z.string() }).passthrough());

/** The node's links now; null when `ip` cannot be run or prints something else. */
export const readLiveLinks = async (runner: CommandRunner): Promise<LinkName[] | null> => {
  const r = await runner({ argv: ['ip', '-j', 'link', 'show'], timeoutMs: 2000, maxOutputBytes: 4 * 1024 * 1024 });
  if (!r.ok || r.exitCode !== 0) return null;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return null;
  }
  const p = IpLink.safeParse(json);
  return p.success ? p.data.map((l) => ({ ifindex: l.ifindex, name: l.ifname })) : null;
};
