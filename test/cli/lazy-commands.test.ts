/**
 * The CLI entry loads only the command it runs (#17: cold start); the other commands are stand-ins
 * built from cli/main.ts COMMANDS. These tests keep the stand-ins equal to the real commands, and
 * check in a fresh process which modules `--help` and `findings` load.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { buildProgramFor, commandsOf, COMMANDS, runCli } from '../../cli/main.js';
import { buildProgram } from '../../cli/program.js';

describe('lazily loaded commands', () => {
  it('every stand-in has the name, help term and summary of the command it stands for, in the same order', () => {
    const full = buildProgram(memoryIo());
    const help = new Help();
    const real = full.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), summary: help.subcommandDescription(c) }));
    expect(COMMANDS.map((c) => ({ name: c.name, term: c.term, summary: c.summary }))).toEqual(real);
  });

  it('`--help` with no command loaded prints the same help as the whole tree', async () => {
    const io = memoryIo();
    expect(await runCli(['--help'], io)).toBe(0);
    expect(io.out()).toBe(buildProgram(memoryIo()).helpInformation());
    const lazy = await buildProgramFor([], memoryIo());
    expect(lazy.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
  });

  it('loads the command it runs, the one `help` names, and all for completion', async () => {
    expect(commandsOf(['findings', '--node', 'n1', '-o', 'json'])).toEqual(['findings']);
    expect(commandsOf(['--help'])).toEqual([]);
    expect(commandsOf(['help', 'nodes'])).toEqual(['nodes']);
    expect(commandsOf(['completion', 'bash'])).toEqual(COMMANDS.map((c) => c.name));
    const io = memoryIo();
    expect(await runCli(['help', 'findings'], io)).toBe(0);
    expect(io.out()).toContain('--severity <level>');
    const bad = memoryIo();
    expect(await runCli(['findingz'], bad)).toBe(1);
    expect(bad.err()).toMatch(/unknown command 'findingz'[\s\S]*Did you mean findings\?/);
  });

  it('in a fresh process, `--help` loads no command module and `findings` only what it reads the aggregator with', () => {
    const root = join(import.meta.dirname, '../..');
    const probe = (argv: string[]) => {
      const script = `
        const { registerHooks } = await import('node:module');
        const seen = [];
        registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
        const { runCli } = await import(${JSON.stringify(join(root, 'cli/main.ts'))});
        const { memoryIo } = await import(${JSON.stringify(join(root, 'cli/io.ts'))});
        await runCli(${JSON.stringify(argv)}, memoryIo());
        process.stdout.write(JSON.stringify(seen));`;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as string[]).map((u) => u.replace(/^file:\/\//, ''));
    };
    const help = probe(['--help']);
    expect(help.filter((u) => /\/cli\/(snapshot|agent|aggregator|findings|nodes|parse|diagnose|version|completion)\.ts$/.test(u))).toEqual([]);
    expect(help.some((u) => u.includes('/node_modules/zod/'))).toBe(false);
    expect(help.some((u) => u.includes('/node_modules/execa/'))).toBe(false);
    const findings = probe(['findings', '--help']);
    expect(findings.some((u) => u.endsWith('/cli/findings.ts'))).toBe(true);
    // neither the daemons' libraries nor the agent's collectors and runner
    expect(findings.some((u) => /\/node_modules\/(execa|fastify|pino|prom-client)\//.test(u) || /\/agent\/(collectors|exec|parsers)\//.test(u))).toBe(false);
    // nor zod and yaml: the table view checks the answer by hand; json/yaml load them when asked for
    expect(findings.filter((u) => /\/node_modules\/(zod|yaml)\//.test(u))).toEqual([]);
    // with plain arguments (no --help), not even commander: the entry runs the command itself
    const plain = probe(['findings', '--aggregator', 'http://127.0.0.1:1', '--node', 'n1', '-o', 'wide']);
    expect(plain.some((u) => u.endsWith('/cli/findings.ts'))).toBe(true);
    expect(plain.filter((u) => /\/node_modules\/(commander|zod|yaml)\/|\/cli\/program-base\.ts$/.test(u))).toEqual([]);
  });
});
