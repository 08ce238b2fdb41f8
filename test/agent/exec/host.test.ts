import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGetCapped, readFileCapped, realHost, unixExchangeCapped } from '../../../agent/exec/host.js';
import { birdReplyComplete } from '../../../agent/parsers/bird.js';
import { fakeRunner } from '../../helpers/fake-runner.js';
import { fixture } from '../parsers/fixture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cdA-host-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('realHost files', () => {
  it('reads a file, and /proc files that report size 0', async () => {
    await writeFile(join(dir, 'f.txt'), 'hello\n');
    const host = realHost(fakeRunner({}));
    expect(await host.readFile(join(dir, 'f.txt'))).toEqual({ ok: true, text: 'hello\n' });
    const fwd = await host.readFile('/proc/sys/net/ipv4/ip_forward');
    expect(fwd.ok && /^[01]\n$/.test(fwd.text)).toBe(true);
  });

  it('caps the size: exactly the cap is fine, one byte more is too-large', async () => {
    await writeFile(join(dir, 'big'), 'x'.repeat(100_001));
    expect(await readFileCapped(join(dir, 'big'), 100_001)).toMatchObject({ ok: true });
    expect(await readFileCapped(join(dir, 'big'), 100_000)).toMatchObject({ ok: false, kind: 'too-large' });
  });

  it('types the errors', async () => {
    const host = realHost(fakeRunner({}));
    expect(await host.readFile(join(dir, 'nope'))).toMatchObject({ ok: false, kind: 'not-found' });
    await writeFile(join(dir, 'plain'), '');
    expect(await host.readFile(join(dir, 'plain', 'below'))).toMatchObject({ ok: false, kind: 'not-found' });
    expect(await host.readFile(dir)).toMatchObject({ ok: false, kind: 'error' });
  });

  it('lists a directory sorted', async () => {
    const d = join(dir, 'list');
    await mkdir(d);
    for (const n of ['cali2', 'all', 'cali1']) await writeFile(join(d, n), '');
    const host = realHost(fakeRunner({}));
    expect(await host.listDir(d)).toEqual({ ok: true, entries: ['all', 'cali1', 'cali2'] });
    expect(await host.listDir(join(dir, 'missing'))).toMatchObject({ ok: false, kind: 'not-found' });
  });

  it('passes commands to the runner it was given', async () => {
    const run = fakeRunner({ 'ip -V': { stdout: 'ip utility\n' } });
    expect(await realHost(run).run({ argv: ['ip', '-V'] })).toMatchObject({ ok: true, stdout: 'ip utility\n' });
  });
});

describe('realHost httpGet (local server on 127.0.0.1)', () => {
  let server: HttpServer;
  let base: string;
  const hanging: Set<import('node:http').ServerResponse> = new Set();
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      if (req.url === '/readiness') res.writeHead(200).end('ok');
      else if (req.url === '/liveness') res.writeHead(503).end('not live');
      else if (req.url === '/big') res.writeHead(200).end('y'.repeat(2 * 1024 * 1024));
      else if (req.url === '/slow') hanging.add(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('returns status and body for any status', async () => {
    const host = realHost(fakeRunner({}));
    expect(await host.httpGet(`${base}/readiness`, 2000)).toEqual({ ok: true, status: 200, body: 'ok' });
    expect(await host.httpGet(`${base}/liveness`, 2000)).toEqual({ ok: true, status: 503, body: 'not live' });
  });

  it('times out a server that does not answer', async () => {
    expect(await httpGetCapped(`${base}/slow`, 200)).toMatchObject({ ok: false, kind: 'timeout' });
  });

  it('caps the body', async () => {
    expect(await httpGetCapped(`${base}/big`, 5000, 1024 * 1024)).toMatchObject({ ok: false, kind: 'too-large' });
    expect(await httpGetCapped(`${base}/big`, 5000, 3 * 1024 * 1024)).toMatchObject({ ok: true, status: 200 });
  });

  it('a URL that is not http(s) or not a URL is an error, not an exception', async () => {
    expect(await httpGetCapped('ftp://127.0.0.1/readiness', 2000)).toMatchObject({ ok: false, kind: 'error', message: expect.stringContaining('unsupported protocol ftp:') });
    expect(await httpGetCapped('not a url', 2000)).toMatchObject({ ok: false, kind: 'error' });
  });

  it('a closed port is unreachable', async () => {
    const s = createNetServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    expect(await httpGetCapped(`http://127.0.0.1:${port}/readiness`, 2000)).toMatchObject({ ok: false, kind: 'unreachable' });
  });
});

describe('realHost unixExchange (local BIRD-like socket server)', () => {
  const servers: NetServer[] = [];
  const sockets: Socket[] = [];
  const serve = async (name: string, onConn: (s: Socket) => void): Promise<string> => {
    const path = join(dir, name);
    const server = createNetServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
      onConn(s);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(path, r));
    return path;
  };
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  const reply = fixture('bird/bird1-show-protocols.txt');
  const [greeting, ...rest] = reply.split('\n');
  const body = rest.join('\n');

  it('reads the greeting, sends the request only then, and reads a reply that arrives in pieces', async () => {
    const requests: { data: string; afterGreeting: boolean }[] = [];
    const path = await serve('bird.ctl', (s) => {
      let greeted = false;
      s.on('data', (d) => {
        requests.push({ data: d.toString(), afterGreeting: greeted });
        // answer in three pieces, split mid-line
        s.write(body.slice(0, 30));
        setTimeout(() => s.write(body.slice(30, 120)), 10);
        setTimeout(() => s.write(body.slice(120)), 20);
      });
      setTimeout(() => {
        greeted = true;
        s.write(`${greeting}\n`);
      }, 30);
    });
    const host = realHost(fakeRunner({}));
    const r = await host.unixExchange(path, 'show protocols\n', birdReplyComplete, 2000);
    expect(r).toEqual({ ok: true, text: reply });
    expect(requests).toEqual([{ data: 'show protocols\n', afterGreeting: true }]);
  });

  it('types the errors: missing socket, not a socket, timeout, cap', async () => {
    expect(await unixExchangeCapped(join(dir, 'absent.ctl'), 'x\n', () => true, 1000)).toMatchObject({ ok: false, kind: 'not-found' });
    await writeFile(join(dir, 'regular'), '');
    expect(await unixExchangeCapped(join(dir, 'regular'), 'x\n', () => true, 1000)).toMatchObject({ ok: false, kind: 'unreachable' });
    const silent = await serve('silent.ctl', () => undefined);
    expect(await unixExchangeCapped(silent, 'x\n', () => true, 200)).toMatchObject({ ok: false, kind: 'timeout' });
    const chatty = await serve('chatty.ctl', (s) => {
      s.write('0001 BIRD ready.\n');
      s.on('data', () => s.write('1002-x\n'.repeat(10_000)));
    });
    expect(await unixExchangeCapped(chatty, 'show protocols\n', birdReplyComplete, 2000, 16 * 1024)).toMatchObject({ ok: false, kind: 'too-large' });
  });

  it('a peer that closes after the request yields what arrived (the parser calls it truncated)', async () => {
    const path = await serve('closing.ctl', (s) => {
      s.write('0001 BIRD ready.\n');
      s.on('data', () => s.end('2002-name proto\n'));
    });
    expect(await unixExchangeCapped(path, 'show protocols\n', birdReplyComplete, 2000)).toEqual({ ok: true, text: '0001 BIRD ready.\n2002-name proto\n' });
    const early = await serve('early.ctl', (s) => s.end());
    expect(await unixExchangeCapped(early, 'show protocols\n', birdReplyComplete, 2000)).toMatchObject({ ok: false, kind: 'unreachable' });
  });
});
