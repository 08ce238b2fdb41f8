/**
 * `calico-diag completion bash|zsh|fish` (issue #13): the scripts are generated from the command
 * tree; the bash one is loaded into a real bash and asked to complete.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/main.js';

const script = async (shell: string) => {
  const io = memoryIo();
  const code = await runCli(['completion', shell], io);
  return { code, out: io.out(), err: io.err() };
};

/** Loads the script into bash and completes the words (the last one is the word being typed). */
const complete = (bashScript: string, words: string[]): string[] => {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `eval "$CALICO_DIAG_COMPLETION"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _calico_diag; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', ...words], {
    env: { PATH: process.env.PATH, CALICO_DIAG_COMPLETION: bashScript },
    encoding: 'utf8',
    timeout: 10_000,
  });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l !== '');
};

describe('calico-diag completion', () => {
  it('bash: the script names every subcommand and the flags of each, without the hidden older spellings', async () => {
    const { code, out } = await script('bash');
    expect(code).toBe(0);
    expect(out).toContain('complete -F _calico_diag calico-diag');
    const top = /^ {4}''\) words='([^']*)'/m.exec(out)?.[1]?.split(' ');
    expect(top).toEqual(expect.arrayContaining(['snapshot', 'agent', 'aggregator', 'findings', 'nodes', 'parse', 'diagnose', 'version', 'completion', '--help']));
    const findings = /^ {4}'findings'\) words='([^']*)'/m.exec(out)?.[1]?.split(' ');
    expect(findings).toEqual(expect.arrayContaining(['--aggregator', '--token-file', '--node', '--rule', '--severity', '-o', '--output', '--json']));
    expect(out).toMatch(/'parse\/iptables-save'\) words='[^']*--output/);
    expect(out).not.toContain('--node-name');
    expect(out).not.toContain('--timeout-ms');
    expect(out).not.toContain('--aggregator-url');
  });

  it('bash: completes subcommands, nested subcommands, flags and the values of -o', async () => {
    const { out } = await script('bash');
    expect(complete(out, ['calico-diag', 'fi'])).toEqual(['findings']);
    expect(complete(out, ['calico-diag', 'parse', ''])).toContain('iptables-save');
    expect(complete(out, ['calico-diag', 'findings', '--to'])).toEqual(['--token-file']);
    expect(complete(out, ['calico-diag', 'parse', 'iptables-save', '--ou'])).toEqual(['--output']);
    expect(complete(out, ['calico-diag', 'nodes', '-o', ''])).toEqual(['table', 'wide', 'json', 'yaml']);
    expect(complete(out, ['calico-diag', 'snapshot', '--fail-on', 'c'])).toEqual(['critical']);
    expect(complete(out, ['calico-diag', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
  });

  it('zsh loads the same function through bashcompinit; fish gets complete lines per command and flag', async () => {
    const zsh = await script('zsh');
    expect(zsh.out).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(zsh.out).toContain('complete -F _calico_diag calico-diag');
    const fish = await script('fish');
    expect(fish.out).toContain("complete -c calico-diag -n 'not __fish_seen_subcommand_from");
    expect(fish.out).toMatch(/-a 'findings' -d /);
    expect(fish.out).toMatch(/-n '__fish_seen_subcommand_from nodes' -s o -l output -x -a 'table wide json yaml'/);
    expect(fish.out).toMatch(/-n '__fish_seen_subcommand_from parse; and not __fish_seen_subcommand_from iptables-save nft' -a 'iptables-save'/);
  });

  it('refuses an unknown shell', async () => {
    const r = await script('tcsh');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish/);
  });
});
