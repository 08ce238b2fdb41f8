/**
 * Builds dist/cli/calico-diag.cjs, what bin/calico-diag.js runs (#17: CLI cold start): one CommonJS
 * file made by esbuild from cli/main.ts with commander and the commands a person runs to read the
 * aggregator (findings, nodes, version) inside it. The other commands (snapshot, agent, aggregator,
 * parse, diagnose, completion), the runner and what findings loads for -o json/yaml stay the ES
 * modules tsc writes to dist/: the bundle imports them at run time by their relative paths, so it
 * has to sit in dist/cli/ beside them. Other npm packages are required from node_modules.
 *
 * Why: through ES modules, `calico-diag --help` spent about as long loading commander (seven
 * modules, and `import fs from 'node:fs'` makes Node build the namespaces of fs, fs/promises and
 * child_process) as Node takes to start; as one CommonJS file the same code loads in a fraction of
 * that (bench/results.md). Node's compile cache, which the bin enables, caches the file's compiled
 * code like any module's.
 *
 * Beside it, dist/cli/calico-diag-findings.cjs (`FINDINGS_BUNDLE`, from cli/plain-findings.ts): what
 * the bin runs first for `calico-diag findings`, the command's own code without commander; with
 * arguments that are not plain it does nothing and the bin loads the CLI's bundle (#17).
 *
 *   node scripts/bundle-cli.ts [OUTFILE]     (npm run build; the images' build stage)
 *
 * `bundleCli` is what test/cli/bundle.test.ts builds and runs.
 */
import { build } from 'esbuild';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The modules cli/main.ts imports lazily that are inside the bundle all the same: the commands
 * that read the aggregator, and the commander program's base (not loaded when `findings` runs
 * with plain arguments).
 */
export const BUNDLED_MODULES = ['./findings.js', './nodes.js', './version.js', './program-base.js'];
/** npm packages inside the bundle; every other package is required from node_modules. */
export const BUNDLED_PACKAGES = ['commander'];

const packageOf = (spec: string): string => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/**
 * The second bundle, beside the first: cli/plain-findings.ts, what bin/calico-diag.js runs first
 * for `calico-diag findings` (plain arguments: no commander, no command table; #17).
 */
export const FINDINGS_BUNDLE = 'calico-diag-findings.cjs';

/**
 * Writes the bundle to `outfile` (default dist/cli/calico-diag.cjs) and FINDINGS_BUNDLE beside it,
 * importing the modules left out from `modules` (default dist/: the compiled tree; the test passes
 * the sources and runs tsx); answers each file's size in bytes.
 */
export const bundleCli = async (outfile = join(root, 'dist/cli/calico-diag.cjs'), modules = join(root, 'dist')): Promise<Record<string, number>> => {
  const outdir = dirname(outfile);
  const result = await build({
    entryPoints: { [basename(outfile, '.cjs')]: join(root, 'cli/main.ts'), [basename(FINDINGS_BUNDLE, '.cjs')]: join(root, 'cli/plain-findings.ts') },
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    // the modules that find files by their own URL (the package version, startedAs, yaml's require)
    // see the bundle's, which is in dist/cli/ as the ES modules are; made on first use (a run of
    // plain findings never asks: #17)
    define: { 'import.meta.url': '__calicoDiagBundle.url' },
    banner: { js: "'use strict';const __calicoDiagBundle={get url(){return this.u??=require('node:url').pathToFileURL(__filename).href}};" },
    plugins: [
      {
        // commander imports node:child_process for executable subcommands (`spawn`), which this CLI
        // does not have; loading it costs a few ms of every start, so it is required on first use
        name: 'commander-lazy-child-process',
        setup(b) {
          b.onResolve({ filter: /^node:child_process$/ }, (args) => (args.importer.includes(`${sep}node_modules${sep}commander${sep}`) ? { path: 'lazy-child-process', namespace: 'calico-diag' } : undefined));
          b.onLoad({ filter: /^lazy-child-process$/, namespace: 'calico-diag' }, () => ({
            contents: "let cp; module.exports = { spawn: (...args) => (cp ??= require('node:child_process')).spawn(...args) };",
            loader: 'js',
          }));
        },
      },
      {
        name: 'calico-diag-externals',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point' || args.path.startsWith('node:')) return undefined;
            if (args.kind === 'dynamic-import' && !BUNDLED_MODULES.includes(args.path)) {
              // the module's path relative to the bundle: the same relative path in dist/
              const from = relative(outdir, join(modules, relative(root, dirname(args.importer)), args.path)).replace(/\\/g, '/');
              return { path: from.startsWith('.') ? from : `./${from}`, external: true };
            }
            if (!args.path.startsWith('.') && !BUNDLED_PACKAGES.includes(packageOf(args.path))) return { path: args.path, external: true };
            return undefined;
          });
        },
      },
    ],
  });
  return Object.fromEntries(Object.entries(result.metafile.outputs).map(([file, o]) => [resolve(file), o.bytes]));
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await bundleCli(process.argv[2]);
  for (const [file, bytes] of Object.entries(sizes)) process.stdout.write(`${relative(process.cwd(), file)}: ${(bytes / 1024).toFixed(0)} KiB\n`);
}
