/**
 * What a CLI command may touch of the terminal: passed in, so every command runs in-process in
 * tests with captured output. `CliError` carries a one-line message and an exit code; cli/main.ts
 * prints it (never a stack trace).
 */
import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  stdin(): Promise<string>;
  /** colour stdout (decided once by colourEnabled; absent = no colour) */
  colour?: boolean;
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

/** The real process streams. */
export const processIo = (): CliIo => ({
  colour: colourEnabled(process.stdout, process.env),
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
});

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
