/**
 * A stand-in for Felix's health endpoint (Felix serves /liveness and /readiness on
 * localhost:9099). Run inside a lab node namespace:
 *   node felix-standin.js --control <file> [--host 127.0.0.1] [--port 9099]
 * The control file is read on every request (no caching, no state): JSON
 * `{"live": true|false, "ready": true|false}`; a missing or unreadable file means healthy, so the
 * lab fault "Felix health failing" is just a write of that file, and its removal a delete.
 * Answers 200 when the component is healthy, 503 when not, 404 on other paths, like Felix.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

export interface FelixControl {
  live: boolean;
  ready: boolean;
}

export const readControl = (file: string): FelixControl => {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<FelixControl>;
    return { live: raw.live !== false, ready: raw.ready !== false };
  } catch {
    return { live: true, ready: true };
  }
};

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
};

const main = (): void => {
  const control = arg('--control', '/nonexistent');
  const host = arg('--host', '127.0.0.1');
  const port = Number(arg('--port', '9099'));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const state = readControl(control);
    let healthy: boolean;
    if (path === '/liveness') healthy = state.live;
    else if (path === '/readiness') healthy = state.ready;
    else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' }).end('');
  });
  server.listen(port, host, () => {
    process.stdout.write(`felix-standin listening on ${host}:${port}, control ${control}\n`);
  });
  const close = (): void => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
};

if (process.argv[1] && /felix-standin\.(ts|js)$/.test(process.argv[1])) main();
