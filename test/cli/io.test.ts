/**
 * The process IO of the CLI (cli/io.ts): stdout and stderr written to their file descriptors
 * without creating process.stdout/stderr (#17: cold start), and what commander is told about the
 * terminal instead of asking those streams.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { fdWriter, memoryIo, type CliIo } from '../../cli/io.js';
import { newProgram } from '../../cli/program-base.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

/** A stream that records what it is given. */
const recorder = () => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
};

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('fdWriter', () => {
  it('writes every byte in order, also when the descriptor takes a few bytes at a time', () => {
    const written: Buffer[] = [];
    const write = (_fd: number, buf: Buffer, off: number) => {
      const n = Math.min(3, buf.length - off);
      written.push(buf.subarray(off, off + n));
      return n;
    };
    const out = fdWriter(1, () => {
      throw new Error('the stream is not created');
    }, write);
    out('héllo ');
    out('wörld\n');
    expect(Buffer.concat(written).toString('utf8')).toBe('héllo wörld\n');
    expect(out.queued()).toBe(false);
  });

  it('hands the rest of the text and all later text to the stream once a non-blocking descriptor is full (EAGAIN)', () => {
    const rec = recorder();
    let calls = 0;
    const direct: Buffer[] = [];
    const write = (_fd: number, buf: Buffer, off: number) => {
      calls += 1;
      if (calls > 1) throw errno('EAGAIN');
      direct.push(buf.subarray(off, off + 4));
      return 4;
    };
    const out = fdWriter(1, () => rec.stream, write);
    out('first line\n');
    out('second line\n');
    expect(calls).toBe(2); // after EAGAIN the descriptor is not tried again
    expect(Buffer.concat(direct).toString('utf8') + rec.text()).toBe('first line\nsecond line\n');
    // #17: so the process does not exit before the stream has written it
    expect(out.queued()).toBe(true);
  });

  it('drops the output quietly once the reader has gone (EPIPE), and throws other write errors', () => {
    let calls = 0;
    const out = fdWriter(1, () => recorder().stream, () => {
      calls += 1;
      throw errno('EPIPE');
    });
    expect(() => out('a')).not.toThrow();
    out('b');
    expect(calls).toBe(1);
    const bad = fdWriter(9, () => recorder().stream, () => {
      throw errno('EBADF');
    });
    expect(() => bad('a')).toThrow('EBADF');
  });

  it('writes to a real file descriptor', () => {
    dir = mkdtempSync(join(tmpdir(), 'cdl-io-'));
    const file = join(dir, 'out');
    const fd = openSync(file, 'w');
    try {
      const out = fdWriter(fd, () => {
        throw new Error('the stream is not created');
      });
      out('one\n');
      out('two\n');
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
  });
});

describe('what commander is told about the terminal', () => {
  const longDescription = 'a description long enough to be wrapped at a narrow terminal width by the help layout';
  const help = (terminal: CliIo['terminal']): string => {
    const io = { ...memoryIo(), terminal };
    const program = newProgram('calico-diag', 'test program', io);
    program.command('x').description(longDescription);
    program.outputHelp();
    return io.out();
  };

  it('lays the help out at the terminal width it is told, and at 80 columns when stdout is no terminal', () => {
    const narrow = help(() => ({ columns: 60, hasColors: false }));
    expect(Math.max(...narrow.split('\n').map((l) => l.length))).toBeLessThanOrEqual(60);
    const piped = help(() => undefined);
    const wide = help(() => ({ columns: 80, hasColors: false }));
    expect(piped).toBe(wide);
    expect(piped).toContain(longDescription.slice(0, 40));
  });
});
