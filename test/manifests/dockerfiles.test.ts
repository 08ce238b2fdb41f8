/**
 * Issue #6: no Docker engine runs here, so the images are checked piece by piece: every COPY
 * source exists in the build context (and is not excluded by .dockerignore), the entrypoint
 * resolves to a file the build produces, the base is pinned, and every Debian package named
 * exists in the archive (apt-cache, after .ci/run's apt-get update).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

interface Parsed {
  stages: { from: string; name?: string }[];
  copies: { sources: string[]; fromStage: boolean }[];
  packages: string[];
  entrypoint: string[];
  user: string | null;
  labels: string;
}

const parseDockerfile = (text: string): Parsed => {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Parsed = { stages: [], copies: [], packages: [], entrypoint: [], user: null, labels: '' };
  for (const line of lines) {
    const [instr, ...rest] = line.split(/\s+/);
    const args = rest.filter((a) => !a.startsWith('--') || a.startsWith('--from'));
    switch (instr?.toUpperCase()) {
      case 'FROM':
        out.stages.push({ from: rest[0] ?? '', ...(rest[2] ? { name: rest[2] } : {}) });
        break;
      case 'COPY': {
        const fromStage = rest.some((a) => a.startsWith('--from='));
        const plain = args.filter((a) => !a.startsWith('--from'));
        out.copies.push({ sources: plain.slice(0, -1), fromStage });
        break;
      }
      case 'RUN': {
        const m = /apt-get install ([^&]*)/.exec(line);
        if (m?.[1]) out.packages.push(...m[1].split(/\s+/).filter((w) => w && !w.startsWith('-')));
        break;
      }
      case 'ENTRYPOINT':
        out.entrypoint = JSON.parse(rest.join(' ')) as string[];
        break;
      case 'USER':
        out.user = rest[0] ?? null;
        break;
      case 'LABEL':
        out.labels += ` ${rest.join(' ')}`;
        break;
    }
  }
  return out;
};

const aptKnows = (pkg: string): boolean => {
  try {
    return execFileSync('apt-cache', ['show', '--no-all-versions', pkg], { encoding: 'utf8', timeout: 30_000, stdio: 'pipe' }).includes(`Package: ${pkg}`);
  } catch {
    return false;
  }
};

describe.each(['Dockerfile.agent', 'Dockerfile.aggregator'])('%s', (file) => {
  const df = parseDockerfile(readFileSync(join(root, file), 'utf8'));

  it('is multi-stage on a pinned Node LTS base', () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of df.stages) expect(s.from).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
    expect(df.labels).toContain('org.opencontainers.image.title');
  });

  it('copies only sources that exist in the build context', () => {
    const fromContext = df.copies.filter((c) => !c.fromStage).flatMap((c) => c.sources);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const src of fromContext) {
      expect(existsSync(join(root, src)), `${src} exists`).toBe(true);
      expect(ignored.includes(src.replace(/\/$/, '')), `${src} is not in .dockerignore`).toBe(false);
    }
  });

  it('installs production dependencies only in the runtime stage', () => {
    expect(readFileSync(join(root, file), 'utf8')).toContain('npm prune --omit=dev');
  });

  it('has an entrypoint that resolves to the built CLI', () => {
    expect(df.entrypoint[0]).toBe('node');
    const script = df.entrypoint.find((a) => a.endsWith('.js'))?.replace('/app/', '') ?? '';
    expect(existsSync(join(root, script))).toBe(true);
    const target = /import '([^']+)'/.exec(readFileSync(join(root, script), 'utf8'))?.[1] ?? '';
    // bin/calico-diag.js imports ../dist/cli/main.js, which `npm run build` (part of npm test) produces.
    expect(existsSync(join(root, 'bin', target))).toBe(true);
  });

  it('names only Debian packages that exist', () => {
    for (const pkg of df.packages) expect(aptKnows(pkg), `${pkg} in Debian`).toBe(true);
  });
});

describe('images', () => {
  it('the agent carries the dataplane tools, both iptables backends included', () => {
    const df = parseDockerfile(readFileSync(join(root, 'Dockerfile.agent'), 'utf8'));
    expect(df.packages).toEqual(expect.arrayContaining(['iproute2', 'iptables', 'ipset', 'tcpdump', 'conntrack']));
    // Debian's iptables package ships both backends: check its file list names them.
    const files = execFileSync('dpkg', ['-L', 'iptables'], { encoding: 'utf8' });
    expect(files).toMatch(/xtables-legacy-multi/);
    expect(files).toMatch(/xtables-nft-multi/);
  });
  it('the aggregator runs as a non-root user', () => {
    const df = parseDockerfile(readFileSync(join(root, 'Dockerfile.aggregator'), 'utf8'));
    expect(df.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
  });
  it('a parse of a Dockerfile with a missing source is caught (the check can fail)', () => {
    const df = parseDockerfile('FROM node:20.20.2-bookworm-slim AS b\nCOPY nothing-here ./\n');
    expect(existsSync(join(root, df.copies[0]!.sources[0]!))).toBe(false);
  });
});
