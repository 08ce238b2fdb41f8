/**
 * What a CLI command may touch of the terminal: passed in, so every command runs in-process in
 * tests with captured output. `CliError` carries a one-line message and an exit code; cli/main.ts
 * prints it (never a stack trace).
 */
import { fstatSync, realpathSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { termSafe } from './format.js';

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  stdin(): Promise<string>;
  /** colour stdout (decided once by colourEnabled; absent = no colour) */
  colour?: boolean;
  /**
   * What commander lays its help and messages out by: the width of stdout (1) or stderr (2) and
   * whether it shows colours, undefined when it is not a terminal (absent: commander asks
   * process.stdout and process.stderr, creating them).
   */
  terminal?: (fd: 1 | 2) => { columns: number; hasColors: boolean } | undefined;
  /**
   * Whether everything written so far has reached its descriptor, none of it waiting in a process
   * stream (`fdWriter`): then a finished command may end the process at once (absent: unknown).
   */
  flushed?: () => boolean;
}

/**
 * Colour only when stdout is a terminal and NO_COLOR is unset or empty (https://no-color.org/:
 * "when present and not an empty string" it disables colour).
 */
export const colourEnabled = (stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean =>
  stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');

/** Marks a CliError across copies of this module (the CLI bundle has its own: scripts/bundle-cli.ts). */
const CLI_ERROR = Symbol.for('calico-diag.CliError');

export class CliError extends Error {
  readonly [CLI_ERROR] = true;
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Whether `err` is a CliError, also one thrown by another copy of this module. */
export const isCliError = (err: unknown): err is CliError => err instanceof Error && (err as Partial<Record<typeof CLI_ERROR, unknown>>)[CLI_ERROR] === true && typeof (err as CliError).exitCode === 'number';

/**
 * A command's failure as the CLI shows it: a CliError's message (if any) as one line on stderr and
 * its exit code; anything else one "unexpected error" line and exit 1, never a stack trace.
 */
export const reportFailure = (err: unknown, io: CliIo): number => {
  if (isCliError(err)) {
    if (err.message !== '') io.stderr(`calico-diag: ${termSafe(err.message)}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`calico-diag: unexpected error: ${termSafe(message.split('\n')[0]!)}\n`);
  return 1;
};

/**
 * Whether stdout (1) or stderr (2) is a terminal, without creating process.stdout/stderr for a pipe
 * or a file (see `fdWriter`): one fstat tells those from a character device, which every terminal
 * is; for a character device Node's stream answers (for /dev/null a plain file stream).
 */
export const isTerminal = (fd: 1 | 2): boolean => {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return (fd === 1 ? process.stdout : process.stderr).isTTY === true;
};

/**
 * Writes to file descriptor `fd` (1 or 2) with fs.writeSync rather than through process.stdout /
 * process.stderr: the first use of those builds a stream object (a net.Socket for a pipe, a
 * tty.WriteStream for a terminal) and loads node:net and the streams for it, ~3 ms of a CLI run
 * that prints a screenful (#17: cold start; bench/results.md). The writes are as synchronous as
 * Node's own stdout is for files, pipes and terminals on Linux. A descriptor someone made
 * non-blocking can answer EAGAIN while its reader is behind: that text and all later text then go
 * through `stream()`, which queues and waits for the reader, so nothing is lost or reordered.
 * A reader that has gone (EPIPE, `calico-diag findings | head -1`) gets nothing more; the command
 * still ends as it would have. `write` is fs.writeSync (a test seam). `queued()` says whether any
 * text has gone to the stream (it may still be waiting there).
 */
export const fdWriter = (fd: number, stream: () => NodeJS.WritableStream, write: (fd: number, buf: Buffer, offset: number) => number = writeSync): FdWriter => {
  let queued = false;
  let gone = false;
  const writer = (s: string): void => {
    if (gone) return;
    if (queued) {
      stream().write(s);
      return;
    }
    const buf = Buffer.from(s, 'utf8');
    let off = 0;
    while (off < buf.length) {
      try {
        off += write(fd, buf, off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') {
          gone = true;
          return;
        }
        if (code !== 'EAGAIN') throw err;
        queued = true;
        stream().write(buf.subarray(off));
        return;
      }
    }
  };
  return Object.assign(writer, { queued: () => queued });
};

export type FdWriter = ((s: string) => void) & { queued(): boolean };

/** The real process streams (stdout and stderr written by `fdWriter`). */
export const processIo = (): CliIo => {
  const stdout = fdWriter(1, () => process.stdout);
  const stderr = fdWriter(2, () => process.stderr);
  return {
    colour: colourEnabled({ isTTY: isTerminal(1) }, process.env),
    stdout,
    stderr,
    flushed: () => !stdout.queued() && !stderr.queued(),
    terminal: (fd) => {
      if (!isTerminal(fd)) return undefined;
      const stream = fd === 1 ? process.stdout : process.stderr;
      return { columns: stream.columns, hasColors: stream.hasColors() };
    },
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
};

/** An in-memory CliIo for tests and for embedding. */
export const memoryIo = (stdinText = '', colour = false): CliIo & { out: () => string; err: () => string } => {
  let out = '';
  let err = '';
  return {
    colour,
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    stdin: async () => stdinText,
    out: () => out,
    err: () => err,
  };
};

/**
 * Whether this process was started as the module at `moduleUrl` (run directly, e.g. through tsx) or
 * through its bin script `bin` (relative to the repository root), so an entry module runs only then.
 */
export const startedAs = (moduleUrl: string, bin: string): boolean => {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    const self = fileURLToPath(moduleUrl);
    const invoked = realpathSync(arg);
    return invoked === self || invoked === resolve(dirname(self), '../..', bin);
  } catch {
    return false;
  }
};
