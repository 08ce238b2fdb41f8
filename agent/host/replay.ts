/**
 * `snapshot --from DIR`: a Host that answers from a bundle written by record.ts.
 *
 * Like the test fake, it answers only what was recorded: an unknown command is a missing binary,
 * an unknown file/dir is not-found, an unknown URL or socket unreachable. When the same request
 * was recorded several times, the answers are given in the recorded order and the last one
 * repeats. The bundle is untrusted input: the manifest is validated and its file names must be
 * plain names inside DIR.
 *
 * Older bundles: the nft tables probe was `nft -j list chains`, then `nft list chains`, now
 * `nft list flowtables` first (#17); a bundle that recorded only an older form answers the newer
 * commands with it (the probe reads every form), so an old bundle still shows its nft tables.
 *
 * Bounds (#16: a 5 MB bundle repeating its file references took the reader to 1.5 GiB, and links
 * were followed): every file is opened without following links and must be a regular file; each is
 * read once however often the manifest names it; the manifest and all the files together are
 * capped (`BUNDLE_LIMITS`).
 *
 * Design/concurrency: the whole bundle is loaded up front; the per-key answer queues are the only
 * state and belong to this one Host instance.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { RunResult } from '../exec/runner.js';
import type { DirRead, FileRead, Host, HttpRead, SocketRead } from '../collectors/types.js';
import { BUNDLE_VERSION, MANIFEST } from './record.js';
import { NFT_LIST_CHAINS_ARGV, NFT_LIST_TABLES_ARGV, NFT_LIST_TABLES_JSON_ARGV } from '../collectors/nftables.js';

const FileName = z.string().refine((s) => s !== '' && basename(s) === s && s !== '.' && s !== '..', 'must be a plain file name');
const Failed = <const K extends readonly [string, ...string[]]>(kinds: K) =>
  z.object({ ok: z.literal(false), kind: z.enum(kinds), message: z.string() });

const Entry = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('command'),
    argv: z.array(z.string()).min(1),
    input: z.string().optional(),
    result: z.union([
      z.object({ ok: z.literal(true), exitCode: z.number().int(), durationMs: z.number(), stdoutFile: FileName, stderrFile: FileName }),
      z.object({
        ok: z.literal(false),
        kind: z.enum(['missing-binary', 'timeout', 'output-too-large', 'permission-denied', 'spawn-failed', 'aborted']),
        message: z.string(),
        stderr: z.string(),
        durationMs: z.number(),
      }),
    ]),
  }),
  z.object({
    kind: z.literal('file'),
    path: z.string(),
    maxBytes: z.number().optional(),
    result: z.union([z.object({ ok: z.literal(true), file: FileName }), Failed(['not-found', 'permission-denied', 'too-large', 'error'])]),
  }),
  z.object({
    kind: z.literal('dir'),
    path: z.string(),
    result: z.union([z.object({ ok: z.literal(true), entries: z.array(z.string()) }), Failed(['not-found', 'permission-denied', 'error'])]),
  }),
  z.object({
    kind: z.literal('http'),
    url: z.string(),
    result: z.union([z.object({ ok: z.literal(true), status: z.number().int(), file: FileName }), Failed(['unreachable', 'timeout', 'too-large', 'error'])]),
  }),
  z.object({
    kind: z.literal('socket'),
    path: z.string(),
    request: z.string(),
    result: z.union([
      z.object({ ok: z.literal(true), file: FileName }),
      Failed(['not-found', 'unreachable', 'timeout', 'too-large', 'permission-denied', 'error']),
    ]),
  }),
]);

export const ManifestSchema = z.object({
  bundleVersion: z.literal(BUNDLE_VERSION),
  createdAt: z.string(),
  node: z.string(),
  entries: z.array(Entry),
});

export const BUNDLE_LIMITS = {
  manifestBytes: 8 * 1024 * 1024,
  /** all recorded outputs together (a 100k-rule node's bundle is ~40 MB) */
  totalBytes: 128 * 1024 * 1024,
  entries: 20_000,
};

/** Reads a regular file of the bundle, never through a link, within `budget.left` bytes. */
const readBundleFile = async (path: string, budget: { left: number }): Promise<string> => {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ELOOP' ? `${basename(path)} is a symbolic link` : err.code === 'ENOENT' ? `${basename(path)} does not exist` : err.message);
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${basename(path)} is not a regular file`);
    if (st.size > budget.left) throw new Error(`the bundle is larger than ${BUNDLE_LIMITS.totalBytes} bytes`);
    budget.left -= st.size;
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
};

export type ReplayResult = { ok: true; host: Host; node: string; createdAt: string } | { ok: false; message: string };

/** Answers in recorded order; the last answer repeats. */
const queues = <T>() => {
  const m = new Map<string, T[]>();
  return {
    add: (key: string, v: T) => {
      const q = m.get(key);
      if (q) q.push(v);
      else m.set(key, [v]);
    },
    take: (key: string): T | undefined => {
      const q = m.get(key);
      if (!q) return undefined;
      return q.length > 1 ? q.shift() : q[0];
    },
  };
};

export const loadBundle = async (dir: string): Promise<ReplayResult> => {
  let raw: string;
  try {
    raw = await readBundleFile(join(dir, MANIFEST), { left: BUNDLE_LIMITS.manifestBytes });
  } catch (err) {
    const m = (err as Error).message;
    return { ok: false, message: `cannot read bundle ${dir}: ${m === `${MANIFEST} does not exist` ? `no ${MANIFEST}` : m}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, message: `bundle ${dir}: ${MANIFEST} is not valid JSON` };
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { ok: false, message: `bundle ${dir}: ${MANIFEST} is invalid at ${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  if (parsed.data.entries.length > BUNDLE_LIMITS.entries) return { ok: false, message: `bundle ${dir}: more than ${BUNDLE_LIMITS.entries} entries` };
  const budget = { left: BUNDLE_LIMITS.totalBytes };
  const read = new Map<string, Promise<string>>();
  /** each file once: a name the manifest repeats costs its size one time */
  const text = (name: string): Promise<string> => {
    let t = read.get(name);
    if (t === undefined) read.set(name, (t = readBundleFile(join(dir, name), budget)));
    return t;
  };

  const commands = queues<RunResult>();
  const files = queues<FileRead>();
  const dirs = queues<DirRead>();
  const urls = queues<HttpRead>();
  const sockets = queues<SocketRead>();
  try {
    for (const e of parsed.data.entries) {
      switch (e.kind) {
        case 'command': {
          const key = JSON.stringify([e.argv, e.input ?? null]);
          const r = e.result;
          commands.add(
            key,
            r.ok
              ? { ok: true, stdout: await text(r.stdoutFile), stderr: await text(r.stderrFile), exitCode: r.exitCode, durationMs: r.durationMs }
              : { ok: false, kind: r.kind, message: r.message, argv: e.argv, stderr: r.stderr, durationMs: r.durationMs },
          );
          break;
        }
        case 'file':
          files.add(e.path, e.result.ok ? { ok: true, text: await text(e.result.file) } : e.result);
          break;
        case 'dir':
          dirs.add(e.path, e.result);
          break;
        case 'http':
          urls.add(e.url, e.result.ok ? { ok: true, status: e.result.status, body: await text(e.result.file) } : e.result);
          break;
        case 'socket':
          sockets.add(JSON.stringify([e.path, e.request]), e.result.ok ? { ok: true, text: await text(e.result.file) } : e.result);
          break;
      }
    }
  } catch (err) {
    return { ok: false, message: `bundle ${dir}: cannot read a recorded output: ${(err as Error).message}` };
  }

  /** the commands older agents recorded instead of a newer agent's, newest first (see above) */
  const key = (argv: readonly string[]): string => JSON.stringify([[...argv], null]);
  const LEGACY = new Map([
    [key(NFT_LIST_TABLES_ARGV), [key(NFT_LIST_CHAINS_ARGV), key(NFT_LIST_TABLES_JSON_ARGV)]],
    [key(NFT_LIST_CHAINS_ARGV), [key(NFT_LIST_TABLES_JSON_ARGV)]],
  ]);
  const takeCommand = (k: string): RunResult | undefined => {
    const r = commands.take(k);
    if (r !== undefined) return r;
    for (const old of LEGACY.get(k) ?? []) {
      const o = commands.take(old);
      if (o !== undefined) return o;
    }
    return undefined;
  };

  const host: Host = {
    run: async (req) =>
      takeCommand(JSON.stringify([[...req.argv], req.input ?? null])) ?? {
        ok: false,
        kind: 'missing-binary',
        message: `${req.argv[0]}: not recorded in bundle (${req.argv.join(' ')})`,
        argv: req.argv,
        stderr: '',
        durationMs: 0,
      },
    readFile: async (path) => files.take(path) ?? { ok: false, kind: 'not-found', message: `${path}: not recorded in bundle` },
    listDir: async (path) => dirs.take(path) ?? { ok: false, kind: 'not-found', message: `${path}: not recorded in bundle` },
    httpGet: async (url) => urls.take(url) ?? { ok: false, kind: 'unreachable', message: `${url}: not recorded in bundle` },
    unixExchange: async (path, request) =>
      sockets.take(JSON.stringify([path, request])) ?? { ok: false, kind: 'not-found', message: `${path}: not recorded in bundle` },
  };
  return { ok: true, host, node: parsed.data.node, createdAt: parsed.data.createdAt };
};
