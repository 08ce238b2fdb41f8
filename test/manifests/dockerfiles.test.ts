/**
 * Issue #6, #13: no Docker engine runs here, so the images are checked from their Dockerfiles (parsed
 * with dockerfile-ast): the base is the Node of package.json's engines on Debian trixie slim, tini is
 * PID 1, the OCI labels name the source, only production code and production dependencies reach the
 * runtime stage (no lab/, bench/, tests), every COPY source exists in the build context, the compile
 * and the CLI bundle the build stage makes emit what bin/ loads, and every Debian package named is in the committed
 * list (image-packages.json) and ships the commands the agent runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Copy, DockerfileParser, Label, type Instruction } from 'dockerfile-ast';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  engines: { node: string };
  repository: { url: string };
};
const listed = (JSON.parse(readFileSync(join(import.meta.dirname, 'image-packages.json'), 'utf8')) as { packages: Record<string, { commands: string[] }> }).packages;
const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
/** The production code: what tsconfig.image.json compiles and the images run. */
const PRODUCTION = ['agent', 'aggregator', 'cli', 'common', 'contract'];
/** Every command the agent runs (agent/collectors, agent/capture; iptables: both backends, both families). */
const AGENT_COMMANDS = ['ip', 'bridge', 'iptables-legacy-save', 'iptables-nft-save', 'ip6tables-legacy-save', 'ip6tables-nft-save', 'nft', 'ipset', 'tcpdump', 'conntrack', 'ping', 'nsenter', 'lsns'];

interface Stage {
  image: string;
  name: string | null;
  instructions: Instruction[];
}
interface CopyOp {
  from: string | null;
  sources: string[];
  dest: string;
}

const stagesOf = (text: string): Stage[] => {
  const stages: Stage[] = [];
  for (const i of DockerfileParser.parse(text).getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const [image = '', as, name] = i.getArguments().map((a) => a.getValue());
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? (name ?? null) : null, instructions: [] });
    } else stages.at(-1)?.instructions.push(i);
  }
  return stages;
};
const of = (s: Stage, keyword: string): Instruction[] => s.instructions.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue());
const copies = (s: Stage): CopyOp[] =>
  s.instructions
    .filter((i): i is Copy => i instanceof Copy)
    .map((i) => {
      const a = args(i);
      return { from: i.getFromFlag()?.getValue() ?? null, sources: a.slice(0, -1), dest: a.at(-1) ?? '' };
    });
/** Packages of the `apt-get install` commands of a stage's RUNs. */
const aptPackages = (s: Stage): string[] =>
  of(s, 'RUN').flatMap((i) =>
    i.getArgumentsContent()?.split('&&').flatMap((cmd) => {
      const words = cmd.trim().split(/\s+/);
      return words[0] === 'apt-get' && words.includes('install') ? words.slice(words.indexOf('install') + 1).filter((w) => !w.startsWith('-')) : [];
    }) ?? [],
  );
const labels = (s: Stage): Map<string, string> =>
  new Map(s.instructions.filter((i): i is Label => i instanceof Label).flatMap((i) => i.getProperties().map((p) => [p.getName(), p.getValue() ?? ''] as const)));
const entrypoint = (s: Stage): string[] => {
  const e = of(s, 'ENTRYPOINT').at(-1);
  return e ? (JSON.parse(e.getArgumentsContent() ?? '[]') as string[]) : [];
};
/** A COPY source, or the compile's input, that brings lab/, bench/ or tests into an image. */
const nonProduction = (path: string): boolean => /^(\.\/)?(lab|bench|test)(\/|$)/.test(path);
const pinnedNode = /^node:(\d+)\.\d+\.\d+-trixie-slim$/;
const sourceUrl = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');

/** The build stage's compile: the files tsconfig.image.json takes in (imports followed) and where it writes them. */
const imageCompile = (() => {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const files = execFileSync(process.execPath, [tsc, '-p', 'tsconfig.image.json', '--listFilesOnly'], { cwd: root, encoding: 'utf8' })
    .split('\n').filter((f) => f && !f.includes('/node_modules/')).map((f) => relative(root, f));
  const shown = (p: string) => JSON.parse(execFileSync(process.execPath, [tsc, '-p', p, '--showConfig'], { cwd: root, encoding: 'utf8' })) as { compilerOptions: { outDir: string; rootDir: string }; files: string[] };
  return { files, image: shown('tsconfig.image.json'), build: shown('tsconfig.build.json') };
})();

describe.each(['Dockerfile.agent', 'Dockerfile.aggregator'])('%s', (file) => {
  const stages = stagesOf(readFileSync(join(root, file), 'utf8'));
  const runtime = stages.at(-1)!;

  it('is multi-stage on the Node of package.json engines (24 LTS), Debian trixie slim, pinned to a release', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const s of stages) {
      const major = pinnedNode.exec(s.image)?.[1];
      expect(major, s.image).toBeDefined();
      expect(Number(major)).toBe(semver.minVersion(pkg.engines.node)?.major);
    }
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
  });

  it('runs tini as PID 1 in front of node and the CLI', () => {
    const ep = entrypoint(runtime);
    expect(ep.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
    expect(ep.at(-1)).toBe('/app/bin/calico-diag.js');
    expect(aptPackages(runtime)).toContain('tini');
  });

  it('carries the OCI labels: source, title, description, licenses, version', () => {
    const l = labels(runtime);
    expect(l.get('org.opencontainers.image.source')).toBe(sourceUrl);
    expect(l.get('org.opencontainers.image.title')).toMatch(/^calico-diag-(agent|aggregator)$/);
    expect(l.get('org.opencontainers.image.description')?.length).toBeGreaterThan(20);
    expect(l.get('org.opencontainers.image.licenses')).toBe(pkg.license);
    expect(l.get('org.opencontainers.image.version')).toBe(pkg.version);
  });

  it('copies only sources that exist in the build context and are not in .dockerignore', () => {
    const fromContext = stages.flatMap((s) => copies(s).filter((c) => c.from === null).flatMap((c) => c.sources));
    expect(fromContext.length).toBeGreaterThan(5);
    for (const src of fromContext) {
      expect(existsSync(join(root, src)), `${src} exists`).toBe(true);
      expect(ignored.includes(src.replace(/\/$/, '')), `${src} is not in .dockerignore`).toBe(false);
    }
  });

  it('brings no lab/, bench/ or tests into any stage; the runtime stage gets only production code and dependencies', () => {
    const all = stages.flatMap((s) => copies(s).flatMap((c) => c.sources));
    expect(all.filter(nonProduction)).toEqual([]);
    expect(ignored).toEqual(expect.arrayContaining(['lab', 'bench', 'test']));
    const named = new Map(stages.map((s) => [s.name, s] as const));
    const fromStages = copies(runtime).filter((c) => c.from !== null);
    expect(fromStages.map((c) => c.sources).flat().sort()).toEqual(['/src/dist', '/src/node_modules']);
    // node_modules comes from a stage that installs production dependencies only
    const deps = named.get(fromStages.find((c) => c.sources[0] === '/src/node_modules')?.from ?? '');
    expect(deps && of(deps, 'RUN').map((i) => i.getArgumentsContent())).toEqual(['npm ci --omit=dev --no-audit --no-fund']);
    // dist comes from a stage that compiles tsconfig.image.json from the production directories
    const build = named.get(fromStages.find((c) => c.sources[0] === '/src/dist')?.from ?? '')!;
    expect(of(build, 'RUN').map((i) => i.getArgumentsContent())).toContain('npx tsc -p tsconfig.image.json');
    const built = copies(build).filter((c) => c.from === null).flatMap((c) => c.sources);
    expect(built).toEqual(expect.arrayContaining([...PRODUCTION, 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.image.json', 'package-lock.json']));
    expect(copies(runtime).filter((c) => c.from === null).flatMap((c) => c.sources).sort()).toEqual(['bin', 'package.json']);
  });

  it('names only Debian packages of the committed list (image-packages.json)', () => {
    const named = stages.flatMap(aptPackages);
    expect(named.length).toBeGreaterThan(0);
    for (const p of named) expect(Object.keys(listed), `${p} listed`).toContain(p);
  });
});

describe('images', () => {
  it('the build stage\'s compile takes in only production code and, with the CLI bundle, emits what bin/calico-diag.js loads', () => {
    const dirs = new Set(imageCompile.files.map((f) => f.split('/')[0]));
    expect([...dirs].sort()).toEqual(PRODUCTION);
    expect(imageCompile.image.compilerOptions).toMatchObject({ outDir: './dist', rootDir: './' });
    // the bin (CommonJS, bin/package.json) requires the CLI bundles that scripts/bundle-cli.ts writes
    // from cli/plain-findings.ts and cli/main.ts; they import the other commands from the compile's output (#17)
    const binText = readFileSync(join(root, 'bin/calico-diag.js'), 'utf8');
    const target = [...binText.matchAll(/require\('([^']+)'\)/g)].map((m) => m[1]).filter((t) => !t?.startsWith('node:'));
    expect(target).toEqual(['../dist/cli/calico-diag-findings.cjs', '../dist/cli/calico-diag.cjs']);
    expect(JSON.parse(readFileSync(join(root, 'bin/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
    const script = readFileSync(join(root, 'scripts/bundle-cli.ts'), 'utf8');
    expect(script).toContain("join(root, 'dist/cli/calico-diag.cjs')");
    expect(script).toContain("FINDINGS_BUNDLE = 'calico-diag-findings.cjs'");
    for (const file of ['Dockerfile.agent', 'Dockerfile.aggregator']) {
      const build = stagesOf(readFileSync(join(root, file), 'utf8')).find((s) => copies(s).some((c) => c.sources.includes('cli')))!;
      const runs = of(build, 'RUN').map((i) => i.getArgumentsContent());
      expect(runs.indexOf('node scripts/bundle-cli.ts'), file).toBeGreaterThan(runs.indexOf('npx tsc -p tsconfig.image.json'));
      expect(copies(build).flatMap((c) => c.sources)).toContain('scripts/bundle-cli.ts');
    }
    expect(imageCompile.files).toContain('cli/main.ts');
    // npm run build (tsconfig.build.json, part of npm test) compiles all of it too, to the same place
    expect(imageCompile.build.compilerOptions).toMatchObject({ outDir: './dist', rootDir: './' });
    const built = new Set(imageCompile.build.files.map((f) => f.replace(/^\.\//, '')));
    expect(imageCompile.files.filter((f) => !built.has(f))).toEqual([]);
  });

  it('the agent image provides every command the agent runs, both iptables backends and nft included', () => {
    const agent = stagesOf(readFileSync(join(root, 'Dockerfile.agent'), 'utf8')).at(-1)!;
    const provided = aptPackages(agent).flatMap((p) => listed[p]?.commands ?? []);
    expect(AGENT_COMMANDS.filter((c) => !provided.includes(c))).toEqual([]);
  });

  it('each listed package is a Debian package that ships its commands (dpkg file lists; scripts/setup.sh installs them)', () => {
    for (const [p, { commands }] of Object.entries(listed)) {
      const files = execFileSync('dpkg', ['-L', p], { encoding: 'utf8' }).split('\n');
      for (const c of commands) expect(files.some((f) => new RegExp(`/s?bin/${c}$`).test(f)), `${p} ships ${c}`).toBe(true);
    }
    // the path the entrypoints name
    expect(execFileSync('dpkg', ['-L', 'tini'], { encoding: 'utf8' }).split('\n')).toContain('/usr/bin/tini');
  });

  it('the aggregator runs as a non-root user', () => {
    const agg = stagesOf(readFileSync(join(root, 'Dockerfile.aggregator'), 'utf8')).at(-1)!;
    expect(args(of(agg, 'USER').at(-1)!)[0]).toMatch(/^[1-9]\d*:[1-9]\d*$/);
  });

  it('the checks can fail: an old base, a lab COPY, no tini and a missing source are seen', () => {
    const bad = stagesOf([
      'FROM node:20.20.2-bookworm-slim AS build',
      'COPY lab lab',
      'FROM node:20.20.2-bookworm-slim',
      'RUN apt-get update && apt-get install -y --no-install-recommends iproute2 && rm -rf /var/lib/apt/lists/*',
      'COPY --from=build /src/dist ./dist',
      'COPY nothing-here ./',
      'ENTRYPOINT ["node", "/app/bin/calico-diag.js"]',
    ].join('\n'));
    expect(pinnedNode.test(bad[0]!.image)).toBe(false);
    expect(copies(bad[0]!).flatMap((c) => c.sources).filter(nonProduction)).toEqual(['lab']);
    expect(aptPackages(bad[1]!)).toEqual(['iproute2']);
    expect(entrypoint(bad[1]!)[0]).toBe('node');
    expect(copies(bad[1]!)).toEqual([{ from: 'build', sources: ['/src/dist'], dest: './dist' }, { from: null, sources: ['nothing-here'], dest: './' }]);
    expect(existsSync(join(root, 'nothing-here'))).toBe(false);
  });
});
