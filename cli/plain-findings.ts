/**
 * The entry of dist/cli/calico-diag-findings.cjs (scripts/bundle-cli.ts), which bin/calico-diag.js
 * runs for `calico-diag findings …` before the CLI's bundle (#17: cold start): when the arguments
 * are plain (cli/findings.ts `plainFindingsFlags`), it runs the command with only what `findings`
 * reads the aggregator with (no commander, no command table), as cli/main.ts `runCli` does
 * in-process; otherwise it does nothing and the bin runs the CLI's bundle, which parses them with
 * commander. Loading this bundle instead of that one is ~1.5 ms less CPU of a `findings` run
 * (bench/results.md).
 *
 * Once the command has finished and its output has reached stdout/stderr (written synchronously,
 * cli/io.ts `fdWriter`), the process has nothing left to do: it exits at once with the command's
 * code, sparing Node's teardown of the heap after the event loop (~1–1.5 ms of CPU of a ~35 ms
 * run); if some output still waits in a process stream it ends as usual.
 */
import { exitOnSignals } from '../common/process.js';
import { plainFindingsFlags, runFindings } from './findings.js';
import { processIo, reportFailure } from './io.js';

/**
 * Runs `calico-diag findings ARGS` in this process when ARGS is plain (the process then ends with
 * the command's exit code) and answers true; false, having done nothing, when it is not.
 */
export const runPlainFindings = (args: readonly string[]): boolean => {
  const flags = plainFindingsFlags(args);
  if (flags === undefined) return false;
  exitOnSignals(() => undefined); // #16: as the CLI does; findings starts no command to kill
  const io = processIo();
  void runFindings(flags, io)
    .then(
      () => 0,
      (err: unknown) => reportFailure(err, io),
    )
    .then((code) => {
      if (io.flushed?.() === true) process.exit(code);
      else process.exitCode = code;
    });
  return true;
};
