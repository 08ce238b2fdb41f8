/**
 * `snapshot --save DIR`: a Host that passes every call to the real one and records the exchange.
 *
 * Bundle layout (readable by humans, replayed by replay.ts):
 *   DIR/manifest.json  — { bundleVersion, createdAt, node, entries[] }: one entry per call, in call
 *                        order, with the request (argv / path / url / socket request) and the result
 *                        metadata (exit code, error kind and message); raw outputs live in files:
 *   DIR/<name>.stdout, .stderr   — command output, e.g. `ip_-j_-d_-s_link_show.stdout`
 *   DIR/file_<path>.txt          — a file read, e.g. `file_proc_sys_net_ipv4_ip_forward.txt`
 *   DIR/http_<url>.body          — an HTTP body
 *   DIR/socket_<path>.reply      — a unix-socket reply
 * Directory listings are small and live in the manifest itself.
 *
 * Design/concurrency: collectors run concurrently, so entries are appended to an in-memory list
 * (single-threaded JS: the push is atomic) with a unique file name reserved at call time; `save()`
 * writes everything once the snapshot is done. Nothing is written while the host is being read.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stdoutText, type RunRequest, type RunResult } from '../exec/runner.js';
import type { DirRead, FileRead, Host, HttpRead, SocketRead } from '../collectors/types.js';

export const BUNDLE_VERSION = 1;
export const MANIFEST = 'manifest.json';

export type BundleEntry =
  | {
      kind: 'command';
      argv: string[];
      input?: string;
      result:
        | { ok: true; exitCode: number; durationMs: number; stdoutFile: string; stderrFile: string }
        | { ok: false; kind: string; message: string; stderr: string; durationMs: number };
    }
  | { kind: 'file'; path: string; maxBytes?: number; result: ({ ok: true; file: string }) | Extract<FileRead, { ok: false }> }
  | { kind: 'dir'; path: string; result: DirRead }
  | { kind: 'http'; url: string; result: ({ ok: true; status: number; file: string }) | Extract<HttpRead, { ok: false }> }
  | {
      kind: 'socket';
      path: string;
      request: string;
      result: ({ ok: true; file: string }) | Extract<SocketRead, { ok: false }>;
    };

export interface Manifest {
  bundleVersion: number;
  createdAt: string;
  node: string;
  entries: BundleEntry[];
}

/** A file-name-safe, readable rendering of an argv / path / URL. */
export const safeName = (s: string, max = 120): string => {
  const n = s
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+$/, '');
  return (n || 'x').slice(0, max);
};

export interface RecordingHost {
  host: Host;
  /** Writes the manifest and every raw output into `dir` (created if needed). */
  save(dir: string, meta: { node: string; createdAt: string }): Promise<void>;
  entries(): readonly BundleEntry[];
}

export const recordingHost = (inner: Host): RecordingHost => {
  const entries: BundleEntry[] = [];
  const files = new Map<string, string>();
  const reserve = (base: string, ext: string): string => {
    let name = `${base}.${ext}`;
    for (let i = 2; files.has(name); i++) name = `${base}.${i}.${ext}`;
    files.set(name, '');
    return name;
  };
  const put = (name: string, text: string) => files.set(name, text);

  const host: Host = {
    run: async (req: RunRequest): Promise<RunResult> => {
      const res = await inner.run(req);
      const argv = [...req.argv];
      const base = safeName(argv.join(' '));
      const input = req.input === undefined ? {} : { input: req.input };
      if (res.ok) {
        const stdoutFile = reserve(base, 'stdout');
        const stderrFile = reserve(base, 'stderr');
        put(stdoutFile, stdoutText(res));
        put(stderrFile, res.stderr);
        entries.push({ kind: 'command', argv, ...input, result: { ok: true, exitCode: res.exitCode, durationMs: res.durationMs, stdoutFile, stderrFile } });
      } else {
        entries.push({ kind: 'command', argv, ...input, result: { ok: false, kind: res.kind, message: res.message, stderr: res.stderr, durationMs: res.durationMs } });
      }
      return res;
    },
    readFile: async (path, maxBytes) => {
      const res = await inner.readFile(path, maxBytes);
      const mb = maxBytes === undefined ? {} : { maxBytes };
      if (res.ok) {
        const file = reserve(`file_${safeName(path)}`, 'txt');
        put(file, res.text);
        entries.push({ kind: 'file', path, ...mb, result: { ok: true, file } });
      } else entries.push({ kind: 'file', path, ...mb, result: res });
      return res;
    },
    listDir: async (path) => {
      const res = await inner.listDir(path);
      entries.push({ kind: 'dir', path, result: res });
      return res;
    },
    httpGet: async (url, timeoutMs) => {
      const res = await inner.httpGet(url, timeoutMs);
      if (res.ok) {
        const file = reserve(`http_${safeName(url)}`, 'body');
        put(file, res.body);
        entries.push({ kind: 'http', url, result: { ok: true, status: res.status, file } });
      } else entries.push({ kind: 'http', url, result: res });
      return res;
    },
    unixExchange: async (path, request, isComplete, timeoutMs) => {
      const res = await inner.unixExchange(path, request, isComplete, timeoutMs);
      if (res.ok) {
        const file = reserve(`socket_${safeName(path)}_${safeName(request, 60)}`, 'reply');
        put(file, res.text);
        entries.push({ kind: 'socket', path, request, result: { ok: true, file } });
      } else entries.push({ kind: 'socket', path, request, result: res });
      return res;
    },
  };

  return {
    host,
    entries: () => entries,
    save: async (dir, meta) => {
      await mkdir(dir, { recursive: true });
      const manifest: Manifest = { bundleVersion: BUNDLE_VERSION, createdAt: meta.createdAt, node: meta.node, entries };
      for (const [name, text] of files) await writeFile(join(dir, name), text);
      await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    },
  };
};
