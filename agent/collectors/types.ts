/**
 * What a collector gets to read the host with, and its signature. Collectors are the IO edge:
 * each reads one source through `Host` (never directly) and returns ok(data) | unavailable(reason).
 * `Host` is swapped in tests (fakes), for `snapshot --save DIR` (recording) and `--from DIR` (replay).
 */
import type { CommandRunner } from '../exec/runner.js';
import type { SectionName, Sections } from '../../contract/snapshot.js';

export type FileRead =
  | { ok: true; text: string }
  | { ok: false; kind: 'not-found' | 'permission-denied' | 'too-large' | 'error'; message: string };

export type DirRead = { ok: true; entries: string[] } | { ok: false; kind: 'not-found' | 'permission-denied' | 'error'; message: string };

export type HttpRead =
  | { ok: true; status: number; body: string }
  | { ok: false; kind: 'unreachable' | 'timeout' | 'too-large' | 'error'; message: string };

export type SocketRead =
  | { ok: true; text: string }
  | { ok: false; kind: 'not-found' | 'unreachable' | 'timeout' | 'too-large' | 'permission-denied' | 'error'; message: string };

export interface Host {
  run: CommandRunner;
  /** Reads a (small) file, e.g. under /proc/sys. Bounded by maxBytes (default 1 MiB). */
  readFile(path: string, maxBytes?: number): Promise<FileRead>;
  listDir(path: string): Promise<DirRead>;
  /** GET with a timeout and a body cap (default 1 MiB). */
  httpGet(url: string, timeoutMs: number): Promise<HttpRead>;
  /**
   * Connects to a unix stream socket, reads the greeting, writes `request`, reads until `isComplete`
   * says the reply is whole (or the timeout / size cap hits). Used for BIRD's control socket.
   */
  unixExchange(path: string, request: string, isComplete: (received: string) => boolean, timeoutMs: number): Promise<SocketRead>;
}

export interface CollectorConfig {
  /** per-command timeout */
  timeoutMs: number;
  felixHealthUrl: string;
  birdSocket: string;
}

/** Facts one collector may need from another's result (e.g. which devices are uplinks). */
export interface CollectContext {
  /** names of all links, when the links collector succeeded */
  linkNames: string[] | null;
  /** uplink device names (carrying the default route / node IP), when known */
  uplinks: string[];
}

export type Collector<K extends SectionName> = (host: Host, config: CollectorConfig, context: CollectContext) => Promise<Sections[K]>;
