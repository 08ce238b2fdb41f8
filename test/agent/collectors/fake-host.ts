/**
 * A fake Host for collector tests: commands through fakeRunner (fails on unexpected commands),
 * files / directories / URLs / sockets from maps. Anything not in a map is not-found/unreachable.
 */
import type { DirRead, FileRead, Host, HttpRead, SocketRead } from '../../../agent/collectors/types.js';
import type { CollectContext, CollectorConfig } from '../../../agent/collectors/types.js';
import { fakeRunner, type FakeAnswer, type FakeRunner } from '../../helpers/fake-runner.js';

export interface FakeHostSpec {
  commands?: Record<string, FakeAnswer>;
  files?: Record<string, string | Extract<FileRead, { ok: false }>>;
  dirs?: Record<string, string[] | Extract<DirRead, { ok: false }>>;
  http?: Record<string, HttpRead>;
  sockets?: Record<string, SocketRead>;
}

export interface FakeHost extends Host {
  run: FakeRunner;
  socketRequests: string[];
  fileReads: string[];
}

export const fakeHost = (spec: FakeHostSpec): FakeHost => {
  const socketRequests: string[] = [];
  const fileReads: string[] = [];
  return {
    run: fakeRunner(spec.commands ?? {}),
    socketRequests,
    fileReads,
    readFile: async (path) => {
      fileReads.push(path);
      const f = spec.files?.[path];
      if (f === undefined) return { ok: false, kind: 'not-found', message: `ENOENT: ${path}` };
      return typeof f === 'string' ? { ok: true, text: f } : f;
    },
    listDir: async (path) => {
      const d = spec.dirs?.[path];
      if (d === undefined) return { ok: false, kind: 'not-found', message: `ENOENT: ${path}` };
      return Array.isArray(d) ? { ok: true, entries: d } : d;
    },
    httpGet: async (url) => spec.http?.[url] ?? { ok: false, kind: 'unreachable', message: `${url}: ECONNREFUSED` },
    unixExchange: async (path, request) => {
      socketRequests.push(request);
      return spec.sockets?.[path] ?? { ok: false, kind: 'not-found', message: `${path}: ENOENT` };
    },
  };
};

export const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
export const context = (over: Partial<CollectContext> = {}): CollectContext => ({ linkNames: null, uplinks: [], ...over });
