/**
 * The `calico-diag` command's entry. `runCli(argv, io)` runs it in-process and returns the exit
 * code (cli/program-base.ts `runProgram`: errors become one line on stderr and exit 1, never a
 * stack trace). Run directly (node dist/cli/main.js, bin/calico-diag.js, or
 * `node --import tsx cli/main.ts`), it runs with the process's argv and streams. bin/calico-diag.js
 * runs it as dist/cli/calico-diag.cjs, one CommonJS file holding this module, commander and the
 * commands that read the aggregator; the other commands stay the ES modules of dist/ that it
 * imports (scripts/bundle-cli.ts).
 *
 * Cold start (#17): the program is built from `COMMANDS`, a table of names, help lines and
 * loaders. Only the module of the command being run is imported (`import()`); the others are
 * stand-ins with the same name and help line, so `calico-diag --help` loads commander and this
 * table only, and `calico-diag findings` the findings module and what it needs. `help <command>`
 * loads that command; `completion`, which walks the whole tree, loads every command
 * (cli/program.ts `buildProgram`, the same tree eagerly). `findings` with plain arguments does not
 * build the program at all (`runCli`).
 */
import type { Command } from 'commander';
import { exitOnSignals } from '../common/process.js';
import { processIo, reportFailure, startedAs, type CliIo } from './io.js';
import type { CliDeps } from './program-base.js';

export type { CliDeps } from './program-base.js';

type Register = (program: Command, io: CliIo, deps: CliDeps) => void;

export interface CommandEntry {
  name: string;
  /** the command's line in the program's help: its term (`findings [options]`) and summary */
  term: string;
  summary: string;
  load: () => Promise<Register>;
  /** runs local commands (the runner's children are killed on SIGINT/SIGTERM) */
  runsCommands?: true;
}

const aggDeps = (deps: CliDeps) => ({ ...(deps.env ? { env: deps.env } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}) });

/** In help order. test/cli/lazy-commands.test.ts checks each against the loaded command. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'snapshot',
    term: 'snapshot [options]',
    summary: "read this node's dataplane once, run the local checks and print the result",
    load: async () => {
      const m = await import('./snapshot.js');
      return (p, io, d) => m.registerSnapshotCommand(p, io, d.snapshot);
    },
    runsCommands: true,
  },
  {
    name: 'agent',
    term: 'agent [options]',
    summary: 'run the per-node agent: snapshot loop, /healthz, /metrics, /v1/snapshot, reports to the aggregator',
    load: async () => {
      const m = await import('./agent.js');
      return (p, io, d) => m.registerAgentCommand(p, io, d.agent);
    },
    runsCommands: true,
  },
  {
    name: 'aggregator',
    term: 'aggregator [options]',
    summary: 'run the aggregator: receives node reports, correlates them, serves /v1/findings, /v1/nodes, /v1/cluster, /metrics',
    load: async () => {
      const m = await import('./aggregator.js');
      return (p, io) => m.registerAggregatorCommand(p, io);
    },
  },
  {
    name: 'findings',
    term: 'findings [options]',
    summary: "show the aggregator's active findings: a table with remedies (-o wide: evidence), or json/yaml",
    load: async () => {
      const m = await import('./findings.js');
      return (p, io, d) => m.registerFindingsCommand(p, io, aggDeps(d));
    },
  },
  {
    name: 'nodes',
    term: 'nodes [options]',
    summary: 'list the nodes reporting to the aggregator: stale or not, findings per severity, last report',
    load: async () => {
      const m = await import('./nodes.js');
      return (p, io, d) => m.registerNodesCommand(p, io, aggDeps(d));
    },
  },
  {
    name: 'parse',
    term: 'parse',
    summary: 'parse a saved tool output from stdin and print what calico-diag reads from it',
    load: async () => {
      const m = await import('./parse.js');
      return (p, io) => m.registerParseCommand(p, io);
    },
  },
  {
    name: 'diagnose',
    term: 'diagnose [options]',
    summary: 'two-node capture diagnosis: where do probes from --from to --to vanish?',
    load: async () => {
      const m = await import('./diagnose.js');
      return (p, io, d) => m.registerDiagnoseCommand(p, io, aggDeps(d));
    },
  },
  {
    name: 'version',
    term: 'version [options]',
    summary: "print this CLI's version, and the aggregator's and its agents' versions when an aggregator is configured",
    load: async () => {
      const m = await import('./version.js');
      return (p, io, d) => m.registerVersionCommand(p, io, aggDeps(d));
    },
  },
  {
    name: 'completion',
    term: 'completion <shell>',
    summary: 'print a shell completion script: bash, zsh or fish',
    load: async () => {
      const m = await import('./completion.js');
      return (p, io) => m.registerCompletionCommand(p, io);
    },
  },
];

/** The commands `argv` runs: its first word that is not an option, and for `help X` also X. */
export const commandsOf = (argv: readonly string[]): string[] => {
  const words = argv.filter((a) => !a.startsWith('-'));
  const first = words[0];
  if (first === undefined) return [];
  if (first === 'completion') return COMMANDS.map((c) => c.name);
  if (first === 'help') return words[1] === undefined ? [] : [words[1]];
  return [first];
};

/** Kills the commands the process started; replaced once a command that runs commands is loaded. */
let killRunning: () => void = () => undefined;

/** The program for `argv`: the commands it runs loaded, the others stand-ins (name and help line only). */
export const buildProgramFor = async (argv: readonly string[], io: CliIo, deps: CliDeps = {}): Promise<Command> => {
  const wanted = new Set(commandsOf(argv));
  const loaded = await Promise.all(COMMANDS.map(async (c) => (wanted.has(c.name) ? c.load() : null)));
  if (COMMANDS.some((c) => c.runsCommands && wanted.has(c.name))) {
    const { killRunningCommands } = await import('../agent/exec/runner.js');
    killRunning = () => void killRunningCommands();
  }
  const { newProgram, PROGRAM_DESCRIPTION } = await import('./program-base.js');
  const program = newProgram('calico-diag', PROGRAM_DESCRIPTION, io);
  const terms = new Map<string, string>();
  COMMANDS.forEach((c, i) => {
    const register = loaded[i];
    if (register) register(program, io, deps);
    else {
      program.command(c.name).description(c.summary).allowUnknownOption().allowExcessArguments();
      terms.set(c.name, c.term);
    }
  });
  const base = program.createHelp();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? base.subcommandTerm(cmd) });
  return program;
};

/**
 * `findings` with plain arguments (cli/findings.ts `plainFindingsFlags`: only its own options, in
 * forms commander reads the same way) runs without the commander program: building it (commander's
 * code, the nine commands, the version read from package.json) and parsing with it was ~8 of the
 * ~11.5 ms of CPU the CLI added to a bare node:http GET (#17: cold start, bench/results.md). Its output, errors and exit codes
 * are the same; everything else (help, usage errors, other commands) goes through commander.
 */
export const runCli = async (argv: readonly string[], io: CliIo, deps: CliDeps = {}): Promise<number> => {
  if (argv[0] === 'findings') {
    const findings = await import('./findings.js');
    const flags = findings.plainFindingsFlags(argv.slice(1));
    if (flags) {
      try {
        await findings.runFindings(flags, io, aggDeps(deps));
        return 0;
      } catch (err) {
        return reportFailure(err, io);
      }
    }
  }
  const [program, { runProgram }] = await Promise.all([buildProgramFor(argv, io, deps), import('./program-base.js')]);
  return runProgram(program, argv, io);
};


// no top-level await: this module is also the entry of the CommonJS bundle (scripts/bundle-cli.ts)
if (startedAs(import.meta.url, 'bin/calico-diag.js')) {
  exitOnSignals(() => killRunning()); // #16: no command the CLI started outlives it
  void runCli(process.argv.slice(2), processIo()).then((code) => {
    process.exitCode = code;
  });
}
