/**
 * A private tracefs mount for the lab's agents (kernel drop reasons, #18): mounted on a fresh
 * temporary directory and unmounted again, so the host's /sys/kernel/tracing is never mounted or
 * changed by the lab. tracefs is one kernel-wide instance whatever the mount point; the agents
 * create and remove their own instances under it.
 */
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execRunner } from '../agent/exec/runner.js';

export interface PrivateTracefs {
  dir: string;
  unmount(): Promise<void>;
}

export const mountPrivateTracefs = async (): Promise<PrivateTracefs> => {
  const dir = mkdtempSync(join(tmpdir(), 'cdl-tracefs-'));
  const r = await execRunner({ argv: ['mount', '-t', 'tracefs', 'nodev', dir], timeoutMs: 5000 });
  if (!r.ok || r.exitCode !== 0) {
    rmdirSync(dir);
    throw new Error(`cannot mount tracefs on ${dir}: ${r.ok ? r.stderr.trim() : r.message}`);
  }
  return {
    dir,
    unmount: async () => {
      await execRunner({ argv: ['umount', dir], timeoutMs: 5000 });
      rmdirSync(dir);
    },
  };
};
