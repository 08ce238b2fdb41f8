import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { meshSnapshot, toReport } from '../../bench/aggregator-mesh.js';
import type { FindingDraft } from '../../contract/finding.js';
import { startAggregator, type AggregatorHandle } from '../../aggregator/main.js';
import { FindingsFlatResponse } from '../../aggregator/http/schemas.js';
import { FindingsAnswer, formatAge, plainFindingsFlags, registerFindingsCommand, renderFindings } from '../../cli/findings.js';
import { CliError, memoryIo } from '../../cli/io.js';
import { buildProgramFor, runCli } from '../../cli/main.js';
import { runProgram } from '../../cli/program-base.js';

const TOKEN = 'cli-test-token';
const dir = mkdtempSync(join(tmpdir(), 'calico-diag-findings-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`);

const draft = (node: string, rule: string, severity: 'critical' | 'warning', peer: string, summary: string, remedy: string): FindingDraft => ({
  rule,
  severity,
  node,
  peer,
  summary,
  evidence: { seen: 'a', expected: 'b', details: {} },
  remedy,
});

let agg: AggregatorHandle;
let base: string;
const NOW = Date.parse('2026-01-01T00:10:00.000Z');

beforeAll(async () => {
  agg = await startAggregator({
    config: { listen: { host: '127.0.0.1', port: 0 }, tokenFile, staleIntervals: 3, bodyLimit: 1 << 22, kube: 'off', maxFindingSeries: 1000, maxNodes: 10000, auth: 'shared', agentServiceAccount: 'calico-diag:calico-diag-agent', agentAudience: 'calico-diag' },
    token: TOKEN,
    logger: pino({ level: 'silent' }),
    clock: { now: () => Date.parse('2026-01-01T00:00:00.000Z'), monotonic: () => 0 },
    processMetrics: false,
    correlate: () => ({
      map: { nodes: [] },
      findings: [
        draft('node-00000', 'vxlan-fdb-mismatch', 'critical', 'node-00001', 'FDB entry for node-00001 points at 172.16.0.9', 'Restart calico-node on node-00000 so Felix reprograms the FDB'),
        draft('node-00002', 'route-missing', 'warning', 'node-00000', 'no route to block 10.0.0.0/26 of node-00000', 'Check Felix logs on node-00002'),
      ],
    }),
  });
  base = `http://${agg.address.replace(/^https?:\/\//, '')}`;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${base}/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(toReport(meshSnapshot(i, 3, 1), { agentId: 'agent-aaaaaaaa', seq: 1 })),
    });
    expect(res.status).toBe(200);
  }
  await agg.engine.trigger();
});

afterAll(async () => {
  await agg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const run = async (args: string[], env: Record<string, string> = {}) => {
  const io = memoryIo();
  const program = new Command().exitOverride();
  registerFindingsCommand(program, io, { env, now: () => NOW });
  let error: unknown;
  try {
    await program.parseAsync(['findings', ...args], { from: 'user' });
  } catch (err) {
    error = err;
  }
  return { out: io.out(), error };
};

describe('cli findings', () => {
  it('prints a table with age and remedies for responders', async () => {
    const { out, error } = await run(['--aggregator', base, '--token-file', tokenFile]);
    expect(error).toBeUndefined();
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^SEVERITY\s+RULE\s+NODE\s+PEER\s+SUMMARY\s+AGE$/);
    expect(out).toMatch(/CRITICAL\s+vxlan-fdb-mismatch\s+node-00000\s+node-00001\s+FDB entry for node-00001 points at 172.16.0.9\s+10m/);
    expect(out).toMatch(/WARNING\s+route-missing\s+node-00002\s+node-00000/);
    expect(out).toContain('2 findings (1 critical, 1 warning, 0 info)');
    expect(out).toContain('  vxlan-fdb-mismatch: Restart calico-node on node-00000 so Felix reprograms the FDB');
  });

  it('filters through the API and prints JSON', async () => {
    const { out } = await run(['--aggregator', base, '--severity', 'warning', '--json'], { CALICO_DIAG_TOKEN_FILE: tokenFile });
    const body = JSON.parse(out);
    expect(body.findings).toHaveLength(1);
    expect(body.findings[0]).toMatchObject({ rule: 'route-missing', node: 'node-00002' });
    const byNode = await run(['--node', 'node-00000', '--rule', 'vxlan-fdb-mismatch'], { CALICO_DIAG_TOKEN_FILE: tokenFile, CALICO_DIAG_AGGREGATOR_URL: base });
    expect(byNode.out).toContain('1 findings (1 critical');
    const none = await run(['--aggregator', base, '--token-file', tokenFile, '--node', 'node-00001']);
    expect(none.out).toBe('no active findings\n');
  });

  it('-o wide adds last seen, the evidence and the id; -o yaml is the API answer', async () => {
    const { out } = await run(['--aggregator', base, '--token-file', tokenFile, '-o', 'wide']);
    expect(out.split('\n')[0]).toMatch(/^SEVERITY\s+RULE\s+NODE\s+PEER\s+SUMMARY\s+AGE\s+LAST SEEN\s+SEEN\s+EXPECTED\s+ID$/);
    expect(out).toMatch(/CRITICAL\s+vxlan-fdb-mismatch\s+node-00000\s+node-00001\s+.*\s+a\s+b\s+vxlan-fdb-mismatch\/node-00000\/node-00001\//);
    const yaml = await run(['--aggregator', base, '--token-file', tokenFile, '-o', 'yaml']);
    const json = await run(['--aggregator', base, '--token-file', tokenFile, '-o', 'json']);
    expect(parseYaml(yaml.out)).toEqual(JSON.parse(json.out));
  });

  it('fails with one clear line: no token, bad severity, unreachable, missing URL', async () => {
    const noToken = await run(['--aggregator', base]);
    expect(noToken.error).toBeInstanceOf(CliError);
    expect((noToken.error as Error).message).toMatch(/refused the request \(401\): pass --token-file/);
    const sev = await run(['--aggregator', base, '--severity', 'fatal']);
    expect((sev.error as Error).message).toMatch(/invalid --severity "fatal"/);
    const down = await run(['--aggregator', 'http://127.0.0.1:1', '--token-file', tokenFile]);
    expect((down.error as Error).message).toMatch(/cannot reach the aggregator at http:\/\/127.0.0.1:1/);
    const none = await run([]);
    expect((none.error as Error).message).toBe('--aggregator / CALICO_DIAG_AGGREGATOR_URL is required');
    const badNode = await run(['--aggregator', base, '--token-file', tokenFile, '--node', 'A;B']);
    expect((badNode.error as Error).message).toMatch(/answered 400/);
  });

  // #18
  it('folds findings another one explains under their root, and says which root a filtered-out one follows from', () => {
    const base = { evidence: { seen: 's', expected: 'e', details: {} }, remedy: 'fix it', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:00.000Z' };
    const down = { ...base, id: 'tunnel-down/a//', rule: 'tunnel-down', severity: 'critical' as const, node: 'a', summary: 'vxlan.calico is down' };
    const route = { ...base, id: 'route-missing/a/b/', rule: 'route-missing', severity: 'critical' as const, node: 'a', peer: 'b', summary: 'no route to b', explainedBy: down.id };
    const other = { ...base, id: 'ip-forward-disabled/c//', rule: 'ip-forward-disabled', severity: 'critical' as const, node: 'c', summary: 'forwarding off' };
    const lines = renderFindings([down, other, route], NOW).split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/└ route-missing\s+a\s+b\s+no route to b/)).toBe(at(/CRITICAL\s+tunnel-down/) + 1);
    expect(at(/CRITICAL\s+ip-forward-disabled/)).toBeGreaterThan(at(/└ route-missing/));
    expect(lines.join('\n')).toContain('3 findings (3 critical, 0 warning, 0 info): 2 root causes, 1 following from them (└)');
    const alone = renderFindings([route], NOW);
    expect(alone).toMatch(/CRITICAL\s+route-missing\s+a\s+b\s+no route to b \(follows from tunnel-down\/a\/\/\)/);
  });

  it('formats ages and the empty case', () => {
    expect(formatAge('2026-01-01T00:09:30.000Z', NOW)).toBe('30s');
    expect(formatAge('2026-01-01T00:00:00.000Z', NOW)).toBe('10m');
    expect(formatAge('2025-12-31T20:00:00.000Z', NOW)).toBe('4h');
    expect(formatAge('2025-12-20T00:00:00.000Z', NOW)).toBe('12d');
    expect(renderFindings([], NOW)).toBe('no active findings\n');
  });
});

// #17: the table views check the answer without zod; they must accept exactly what the schema accepts
describe('the findings answer check of the table views', () => {
  const finding = {
    id: 'vxlan-fdb-mismatch/a/b/',
    rule: 'vxlan-fdb-mismatch',
    severity: 'critical',
    node: 'a',
    peer: 'b',
    summary: 'FDB entry for b points at 172.16.0.9',
    evidence: { seen: 's', expected: 'e', details: { mac: 'aa:bb' } },
    remedy: 'restart calico-node',
    firstSeen: '2026-01-01T00:00:00.000Z',
    lastSeen: '2026-01-01T00:00:00.000Z',
    explainedBy: 'tunnel-down/a//',
  };
  const FIELDS = ['id', 'rule', 'severity', 'node', 'peer', 'summary', 'evidence', 'remedy', 'firstSeen', 'lastSeen', 'explainedBy'] as const;
  const WRONG: unknown[] = [undefined, null, 1, true, '', 'x', 'Not-A-Rule', [], {}, ['critical'], { seen: 's' }];
  /** answers the schema and the check may see: every field missing or of each wrong kind, evidence's too, wrong containers */
  const variants = (): unknown[] => {
    const out: unknown[] = [{ findings: [] }, { findings: [finding] }, { findings: [finding, { ...finding, extra: 1 }] }, null, [], 'findings', { findings: {} }, { findings: null }, { findings: [null] }, { findings: [[]] }, {}];
    for (const k of FIELDS) {
      const { [k]: _gone, ...rest } = finding;
      out.push({ findings: [rest] });
      for (const w of WRONG) out.push({ findings: [{ ...finding, [k]: w }] });
    }
    for (const k of ['seen', 'expected', 'details'] as const) {
      const { [k]: _gone, ...rest } = finding.evidence;
      out.push({ findings: [{ ...finding, evidence: rest }] });
      for (const w of WRONG) out.push({ findings: [{ ...finding, evidence: { ...finding.evidence, [k]: w } }] });
    }
    for (const s of ['critical', 'warning', 'info', 'CRITICAL', 'fatal']) out.push({ findings: [{ ...finding, severity: s }] });
    for (const r of ['a', 'a-b-c', 'a--b', '-a', 'a-', 'A', 'a_b', 'route-missing2']) out.push({ findings: [{ ...finding, rule: r }] });
    return out;
  };

  it('accepts and refuses the same answers as the contract schema', () => {
    const all = variants();
    expect(all.length).toBeGreaterThan(150);
    const accepted = all.filter((v) => FindingsFlatResponse.safeParse(v).success).length;
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(all.length - 100);
    for (const v of all) expect(FindingsAnswer.safeParse(v).success, JSON.stringify(v)).toBe(FindingsFlatResponse.safeParse(v).success);
  });

  it('a malformed or non-JSON answer is one clear error in every output format, never a crash', async () => {
    const answers = ['{"findings":[{"id":"x"}]}', '{"findings":7}', '<html>proxy error</html>'];
    let i = 0;
    const srv = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(answers[i]));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
      for (i = 0; i < answers.length; i++) {
        for (const o of ['table', 'wide', 'json', 'yaml']) {
          const { out, error } = await run(['--aggregator', url, '--token-file', tokenFile, '-o', o]);
          expect(out).toBe('');
          expect(error).toBeInstanceOf(CliError);
          expect((error as Error).message).toBe(i < 2 ? 'the aggregator answered with an unexpected shape (version mismatch?)' : 'the aggregator answered with something that is not JSON');
        }
      }
    } finally {
      srv.close();
    }
  });
});

// #17: `findings` with plain arguments runs without the commander program (cli/main.ts runCli)
describe('plain findings arguments', () => {
  /** what commander makes of `findings ...args`: its options, or the message it refuses them with */
  const viaCommander = async (args: string[]): Promise<{ opts: unknown } | { refused: string }> => {
    const program = new Command().exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    registerFindingsCommand(program, memoryIo());
    let opts: unknown;
    program.commands[0]!.hook('preAction', (_cmd, action) => {
      opts = action.opts();
      throw new Error('parsed');
    });
    try {
      await program.parseAsync(['findings', ...args], { from: 'user' });
    } catch (err) {
      if (opts !== undefined) return { opts };
      return { refused: (err as Error).message };
    }
    throw new Error('the action ran');
  };
  /** forms the entry runs itself */
  const PLAIN: string[][] = [
    ['--aggregator', 'http://a:1'],
    ['--aggregator=http://b:2'],
    ['--aggregator='],
    ['--token-file', '/t'],
    ['--token-file=/t=x'],
    ['--node', 'n1'],
    ['--node', ''],
    ['--node', 'x y'],
    ['--rule', 'route-missing'],
    ['--severity', 'fatal'],
    ['--severity=info'],
    ['-o', 'json'],
    ['-owide'],
    ['--output=yaml'],
    ['--output', 'table'],
    ['--json'],
  ];
  /** forms it leaves to commander: refused by it, handled by it (help), or a value that starts with "-" */
  const OTHER: string[][] = [['-o', 'xml'], ['-o=json'], ['--json=1'], ['--aggregator'], ['--node', '-x'], ['--help'], ['-h'], ['-V'], ['extra'], ['--', '--json'], ['--unknown', 'x'], ['-'], ['--JSON']];

  it('are read as commander reads them, and whatever else is left to commander', async () => {
    const forms = [...PLAIN, ...OTHER];
    const argvs = [{ args: [] as string[], plain: true }, ...forms.flatMap((a) => [{ args: a, plain: PLAIN.includes(a) }, ...forms.map((b) => ({ args: [...a, ...b], plain: PLAIN.includes(a) && PLAIN.includes(b) }))])];
    let taken = 0;
    for (const { args, plain } of argvs) {
      const flags = plainFindingsFlags(args);
      if (plain) expect(flags, JSON.stringify(args)).toBeDefined();
      if (flags !== undefined) {
        taken++;
        // every such argument list, and e.g. `--aggregator extra` made of two others, means to commander what it means here
        expect(await viaCommander(args), JSON.stringify(args)).toEqual({ opts: flags });
      }
    }
    expect(taken).toBeGreaterThan(PLAIN.length ** 2);
    expect(argvs.length - taken).toBeGreaterThan(300);
  });

  it('run with the same output, errors and exit codes as through commander', async () => {
    const through = async (argv: string[], quick: boolean) => {
      const io = memoryIo();
      const code = quick ? await runCli(argv, io) : await runProgram(await buildProgramFor(argv, io), argv, io);
      return { code, out: io.out(), err: io.err() };
    };
    const cases = [
      ['--aggregator', base, '--token-file', tokenFile],
      ['--aggregator', base, '--token-file', tokenFile, '-o', 'wide', '--node', 'node-00000'],
      ['--aggregator', base, '--token-file', tokenFile, '--json', '--severity=warning'],
      ['--aggregator', base, '--token-file', tokenFile, '-oyaml'],
      ['--aggregator', base],
      ['--aggregator', base, '--token-file', join(dir, 'missing')],
      ['--aggregator', base, '--token-file', tokenFile, '--severity', 'fatal'],
      ['--aggregator', base, '--json', '-o', 'wide'],
      ['--aggregator', 'ftp://x'],
      [],
    ];
    for (const args of cases) {
      const argv = ['findings', ...args];
      expect(plainFindingsFlags(args), argv.join(' ')).toBeDefined();
      const quick = await through(argv, true);
      expect(quick.out + quick.err).not.toBe('');
      expect(quick, argv.join(' ')).toEqual(await through(argv, false));
    }
  });
});
