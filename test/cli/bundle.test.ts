/**
 * The CLI as bin/calico-diag.js runs it: the CommonJS bundle scripts/bundle-cli.ts builds from
 * cli/main.ts (#17: cold start), with commander and the aggregator-reading commands inside and the
 * other commands imported as modules, and the small bundle of cli/plain-findings.ts the bin runs
 * first for `findings`. Built here into a temporary checkout (a copy of bin/, the bundles in its
 * dist/cli/ importing the sources, run under tsx) and checked against the same commands run
 * in-process: same output, same exit codes, and errors thrown by the imported modules (their own
 * copies of cli/io.ts and commander) are still one line, not "unexpected error".
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAggregator, type AggregatorHandle } from '../../aggregator/main.js';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/main.js';
import { BUNDLED_PACKAGES, bundleCli, FINDINGS_BUNDLE } from '../../scripts/bundle-cli.js';

const root = join(import.meta.dirname, '../..');
const TOKEN = 'bundle-test-token';
// inside the checkout (dist/) so that node_modules is found as from dist/cli; with its own
// package.json (the version) and bin/
mkdirSync(join(root, 'dist'), { recursive: true });
const dir = mkdtempSync(join(root, 'dist', 'bundle-test-'));
const bundle = join(dir, 'dist', 'cli', 'calico-diag.cjs');
const bin = join(dir, 'bin', 'calico-diag.js');
mkdirSync(join(dir, 'bin'));
for (const f of ['bin/calico-diag.js', 'bin/package.json', 'package.json']) copyFileSync(join(root, f), join(dir, f));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`);
let agg: AggregatorHandle;
let base: string;

beforeAll(async () => {
  await bundleCli(bundle, root);
  agg = await startAggregator({
    config: { listen: { host: '127.0.0.1', port: 0 }, tokenFile, staleIntervals: 3, bodyLimit: 1 << 22, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' },
    token: TOKEN,
    logger: pino({ level: 'silent' }),
    processMetrics: false,
    correlate: () => ({
      map: { nodes: [] },
      findings: [{ rule: 'vxlan-fdb-mismatch', severity: 'critical', node: 'node-a', peer: 'node-b', summary: 'FDB entry for node-b points at 172.16.0.9', evidence: { seen: 'a', expected: 'b', details: {} }, remedy: 'restart calico-node on node-a' }],
    }),
  });
  base = `http://${agg.address.replace(/^https?:\/\//, '')}`;
  await agg.engine.trigger();
});

afterAll(async () => {
  await agg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** the bin and its bundles as a process (asynchronous: the aggregator answers from this process; NO_COLOR: the in-process runs have no colour either) */
const viaBundle = (argv: string[], input = ''): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', bin, ...argv], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }, (error, out, err) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out, err }),
    );
    child.stdin?.end(input);
  });
const inProcess = async (argv: string[], input = '') => {
  const io = memoryIo(input);
  const code = await runCli(argv, io);
  return { code, out: io.out(), err: io.err() };
};

describe('the CLI bundle', () => {
  it('holds commander (its child_process required on first use only) and imports the command modules it does not hold', () => {
    const text = readFileSync(bundle, 'utf8');
    expect(BUNDLED_PACKAGES).toEqual(['commander']);
    const facts = {
      commander: text.includes('commander.unknownCommand'),
      imported: [...text.matchAll(/import\("([^"]+)"\)/g)].map((m) => m[1]!.replace(/^(\.\.\/)+/, '')).sort(),
      required: [...new Set([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!))].filter((r) => !r.startsWith('node:')),
      childProcess: [...text.matchAll(/(.{3})require\("node:child_process"\)/g)].map((m) => m[1]),
    };
    expect(facts).toEqual({
      commander: true,
      imported: ['agent/exec/runner.js', 'aggregator/http/schemas.js', 'cli/agent.js', 'cli/aggregator.js', 'cli/completion.js', 'cli/diagnose.js', 'cli/parse.js', 'cli/snapshot.js'],
      required: ['zod'],
      childProcess: ['??='],
    });
  });

  it('prints the same help, version and completion script as the CLI in-process', async () => {
    for (const argv of [['--help'], ['--version'], ['help', 'findings'], ['completion', 'bash']]) {
      expect(await viaBundle(argv), argv.join(' ')).toEqual(await inProcess(argv));
    }
  });

  it('the findings bundle holds neither commander nor the command table', () => {
    const text = readFileSync(join(dir, 'dist', 'cli', FINDINGS_BUNDLE), 'utf8');
    expect(text).toContain('runPlainFindings');
    expect(text).not.toContain('commander');
    expect(text).not.toContain('unknownCommand');
    expect(text).not.toContain('registerNodesCommand');
    expect([...text.matchAll(/import\("([^"]+)"\)/g)].map((m) => m[1]!.replace(/^(\.\.\/)+/, ''))).toEqual(['aggregator/http/schemas.js']);
  });

  it('reads the aggregator: the findings table, and json as in-process', async () => {
    const table = await viaBundle(['findings', '--aggregator', base, '--token-file', tokenFile]);
    expect(table).toMatchObject({ code: 0, err: '' });
    expect(table.out).toMatch(/^SEVERITY\s+RULE\s+NODE\s+PEER\s+SUMMARY\s+AGE\n/);
    expect(table.out).toMatch(/CRITICAL\s+vxlan-fdb-mismatch\s+node-a\s+node-b\s+FDB entry for node-b points at 172.16.0.9/);
    const argv = ['findings', '--aggregator', base, '--token-file', tokenFile, '-o', 'json'];
    expect(await viaBundle(argv)).toEqual(await inProcess(argv));
    const bad = ['findings', '--aggregator', base, '--token-file', join(dir, 'missing')];
    expect(await viaBundle(bad)).toEqual(await inProcess(bad));
    // arguments that are not plain: the CLI's bundle and commander, as in-process
    for (const other of [['findings', '--help'], ['findings', '--aggregator', base, '--bogus'], ['findings', '-o', 'xml']]) {
      const r = await viaBundle(other);
      expect(r.out + r.err, other.join(' ')).not.toBe('');
      expect(r, other.join(' ')).toEqual(await inProcess(other));
    }
  });

  it('errors of the commands it imports are one line with their exit code, as in-process', async () => {
    const parse = ['parse', 'iptables-save'];
    const bad = await viaBundle(parse, 'garbage\n');
    expect(bad).toMatchObject({ code: 1, out: '' });
    expect(bad.err).toMatch(/^calico-diag: iptables-save input: .*garbage.*\n$/);
    expect(bad).toEqual(await inProcess(parse, 'garbage\n'));
    const choice = ['snapshot', '--fail-on', 'bogus'];
    const wrong = await viaBundle(choice);
    expect(wrong).toMatchObject({ code: 1, out: '' });
    expect(wrong.err).toContain("argument 'bogus' is invalid. Allowed choices are critical, warning, info.");
    expect(wrong).toEqual(await inProcess(choice));
  });
});
