/**
 * `npm run test:uml -- <file>`: runs one test file of test/lab/uml/ (or, with --command, a shell
 * command) inside user-mode-linux through lab/uml.ts, streams its output, and exits with its exit
 * code (124 when it timed out, 125 when the run could not start or the kernel stopped first).
 * Ctrl-C / SIGTERM kill the UML. Stateless.
 */
import { Command, InvalidArgumentError } from 'commander';
import { startedAs, type CliIo, processIo } from '../cli/io.js';
import { runInUml, UmlLockTimeoutError, UmlUnavailableError, type UmlRunOptions, type UmlRunResult } from './uml.js';

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};

export const EXIT_TIMEOUT = 124;
export const EXIT_NOT_RUN = 125;

const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** One line for the end of a run. */
export const summaryLine = (r: UmlRunResult): string =>
  [
    `uml ${r.release}:`,
    r.timedOut ? 'timed out' : r.aborted ? 'aborted' : r.exitCode === null ? `no exit code (${r.setupError !== null ? `setup failed: ${r.setupError}` : 'the kernel stopped first'})` : `exit ${r.exitCode}`,
    `— boot ${seconds(r.bootMs)}, command ${seconds(r.commandMs)}, total ${seconds(r.durationMs)}`,
    r.lockWaitMs >= 1000 ? `(waited ${seconds(r.lockWaitMs)} for another run)` : '',
    r.modulesFailed !== null && r.modulesFailed.length > 0 ? `modules that failed to load: ${r.modulesFailed.join(' ')}` : '',
  ]
    .filter((s) => s !== '')
    .join(' ');

export const umlCli = async (argv: readonly string[], io: CliIo, run: (o: UmlRunOptions) => Promise<UmlRunResult> = runInUml, signal?: AbortSignal): Promise<number> => {
  const program = new Command('test:uml')
    .description('run one test file (vitest.uml.config.ts) or a shell command inside user-mode-linux')
    .argument('[file]', 'a test file, e.g. test/lab/uml/kernel.uml.test.ts')
    .option('-c, --command <cmd>', 'a shell command instead of a test file')
    .option('-t, --test-name-pattern <regexp>', "run only the file's tests whose name matches (vitest -t)")
    .option('--timeout <seconds>', 'the whole run, boot included', positiveInt('--timeout'), 900)
    .option('-m, --mem <MiB>', "UML's memory", positiveInt('--mem'), 2048)
    .option('--console', 'also print the kernel console (to stderr)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const file = program.args[0];
  const o = program.opts<{ command?: string; testNamePattern?: string; timeout: number; mem: number; console?: boolean }>();
  if ((file === undefined) === (o.command === undefined)) {
    io.stderr('give a test file or --command (not both)\n');
    return 2;
  }
  try {
    const r = await run({
      ...(file !== undefined ? { testFile: file, vitestArgs: o.testNamePattern !== undefined ? ['-t', o.testNamePattern] : [] } : { command: o.command ?? '' }),
      timeoutMs: o.timeout * 1000,
      memMiB: o.mem,
      onOutput: io.stdout,
      ...(o.console ? { onConsole: io.stderr } : {}),
      ...(signal ? { signal } : {}),
    });
    if (r.exitCode === null && !r.timedOut && !r.aborted && !o.console) io.stderr(`kernel console:\n${r.console}`);
    io.stderr(`${summaryLine(r)}\n`);
    return r.timedOut ? EXIT_TIMEOUT : (r.exitCode ?? EXIT_NOT_RUN);
  } catch (err) {
    if (err instanceof UmlUnavailableError || err instanceof UmlLockTimeoutError) {
      io.stderr(`${err.message}\n`);
      return EXIT_NOT_RUN;
    }
    throw err;
  }
};

if (startedAs(import.meta.url, 'dist/lab/uml-cli.js')) {
  const ac = new AbortController();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => ac.abort());
  umlCli(process.argv.slice(2), processIo(), runInUml, ac.signal).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`test:uml failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT_NOT_RUN;
    },
  );
}
