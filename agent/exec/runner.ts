/**
 * The one road from calico-diag to the host's commands (house rules 1 and 2).
 *
 * Design: every command is an argv array (never a shell), has a timeout, an output cap and is
 * killed with its whole process group when either is exceeded. Failures to run are typed
 * `RunError`s, never exceptions; a non-zero exit is reported as data (`exitCode`) because some
 * tools (iptables-nft-save) fail with exit 0 and others succeed with exit 1 — the caller decides.
 * Concurrency: each call owns its child process. The one piece of process-wide state is the set
 * of process groups running now (`running`): they are this process's own children, so they are
 * killed when it exits — normally, on a crash (node emits 'exit') or on a signal the entry point
 * turns into an exit (#16: nothing the agent or the CLI starts may outlive it).
 */
import { execa } from 'execa';

export interface RunRequest {
  /** argv[0] is the binary, looked up on PATH; the rest are arguments passed verbatim. */
  argv: readonly [string, ...string[]];
  /** Kill the process group after this many ms. Default 10 000. */
  timeoutMs?: number;
  /** Kill when stdout or stderr exceeds this many bytes. Default 16 MiB. */
  maxOutputBytes?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Resolve on this signal (e.g. shutdown) by killing the command. */
  signal?: AbortSignal;
  /**
   * `'bytes'`: stdout is handed over as the bytes received (`RunOutput.stdoutBytes`, `stdout` is
   * then ''), never decoded into one string: for outputs of many MB that the caller reads in place
   * (#17: iptables-save dumps, agent/parsers/iptables-save.ts). Default `'text'`.
   */
  stdoutAs?: 'text' | 'bytes';
}

export interface RunOutput {
  ok: true;
  /** '' when the request asked for `stdoutAs: 'bytes'` (see `stdoutText`) */
  stdout: string;
  /** stdout as received, when the request asked for `stdoutAs: 'bytes'` */
  stdoutBytes?: Uint8Array;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

export type RunErrorKind = 'missing-binary' | 'timeout' | 'output-too-large' | 'permission-denied' | 'spawn-failed' | 'aborted';

export interface RunError {
  ok: false;
  kind: RunErrorKind;
  message: string;
  argv: readonly string[];
  stderr: string;
  durationMs: number;
}

export type RunResult = RunOutput | RunError;
export type CommandRunner = (req: RunRequest) => Promise<RunResult>;

export const DEFAULT_TIMEOUT_MS = 10_000;
/** for commands that print little (ip -j, bridge -j, ipset): a few MiB even on big nodes */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** A command's stdout as text, whichever way it was asked for (decodes bytes as the runner does text). */
export const stdoutText = (r: RunOutput): string =>
  r.stdoutBytes === undefined ? r.stdout : Buffer.from(r.stdoutBytes.buffer, r.stdoutBytes.byteOffset, r.stdoutBytes.byteLength).toString('utf8');

/**
 * Gives back the memory of a command's stdout bytes (`stdoutAs: 'bytes'`) now rather than when they
 * are garbage collected, which for a one-shot snapshot is never: a dump of many MB is its largest
 * block (#17). Afterwards the bytes read as empty: only for a caller that is done with everything
 * read from them (a dump parsed in place, agent/parsers/iptables-save.ts, included). Text output,
 * or bytes not from this runner, are left as they are.
 */
export const releaseStdoutBytes = (r: RunResult): void => {
  const buf = r.ok ? r.stdoutBytes?.buffer : undefined;
  if (!(buf instanceof ArrayBuffer)) return;
  if (buf.resizable) buf.resize(0);
  else if (fixedHere.has(buf)) buf.transfer(0); // detached: its memory is freed now
};

/** The fixed-length buffers `fixStdoutBytes` made, which `releaseStdoutBytes` may give back. */
const fixedHere = new WeakSet<ArrayBuffer>();

/**
 * A command's result with its stdout bytes (`stdoutAs: 'bytes'`) moved out of the resizable buffer
 * they were received in into a fixed-length one, which V8 reads faster: typed arrays over a
 * resizable buffer take slower paths on every access (#17: the agent daemon parses a 100k-rule dump
 * every minute with ~30 % less CPU). The move detaches the received buffer (which then reads as
 * empty) and uses no more memory; but the bytes can then only be given back whole
 * (`releaseStdoutBytes`), not piece by piece as a parse in place reads them
 * (agent/parsers/iptables-save.ts), which keeps a one-shot snapshot's peak lower. Other results are
 * returned as they are.
 */
export const fixStdoutBytes = (r: RunResult): RunResult => {
  const bytes = r.ok ? r.stdoutBytes : undefined;
  const buf = bytes?.buffer;
  if (!r.ok || bytes === undefined || !(buf instanceof ArrayBuffer) || !buf.resizable || bytes.byteOffset !== 0) return r;
  const fixed = buf.transferToFixedLength(bytes.byteLength);
  fixedHere.add(fixed);
  return { ...r, stdoutBytes: Buffer.from(fixed) };
};

/** The first length of a command's output buffer (it doubles as needed, up to the output cap). */
const FIRST_OUTPUT_BUFFER_BYTES = 16 * 1024;

const killGroup = (pid: number | undefined): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
};

/** Process groups of the commands running now (see the header). */
const running = new Set<number>();
let exitHookInstalled = false;

/** Kills the process group of every command still running; returns how many there were. */
export const killRunningCommands = (): number => {
  const n = running.size;
  for (const pid of running) killGroup(pid);
  running.clear();
  return n;
};

/** The real runner, backed by execa. */
export const execRunner: CommandRunner = async (req) => {
  const started = performance.now();
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBuffer = req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const [file, ...args] = req.argv;
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (kind: RunErrorKind, message: string, stderr = ''): RunError => ({
    ok: false,
    kind,
    message,
    argv: req.argv,
    stderr: stderr.slice(0, 4096),
    durationMs: elapsed(),
  });
  try {
    const child = execa(file, args, {
      shell: false,
      reject: false,
      timeout: timeoutMs,
      // output is read here, chunk by chunk, with the cap applied as it arrives (see `capture`):
      // execa's own buffering held several times the cap before it stopped a fast writer (#16)
      buffer: false,
      killSignal: 'SIGKILL',
      // Own process group, so a timeout kills grandchildren too (node-problem-detector's runner).
      detached: true,
      cleanup: true,
      ...(req.input === undefined ? { stdin: 'ignore' as const } : { input: req.input }),
      ...(req.signal ? { cancelSignal: req.signal } : {}),
      env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      extendEnv: false,
    });
    // execa's cleanup does not cover detached children: they are tracked and killed on exit here
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => void killRunningCommands());
    }
    let overflowed = false;
    /** a stream's output: decoded, or (`asBytes`) the bytes as received */
    const capture = (stream: NodeJS.ReadableStream | null, asBytes: boolean): Promise<string | Buffer> =>
      new Promise((resolve) => {
        if (!stream) return resolve(asBytes ? Buffer.alloc(0) : '');
        // #17: each chunk is copied as it arrives into one resizable ArrayBuffer, which reserves the
        // cap's address space and uses memory only for the pages written, so growing it copies
        // nothing and leaves no garbage; the text is decoded once from it at the end, and the
        // buffer is then shrunk to nothing, which gives its pages back at once (as on overflow).
        // A large output is so held as these bytes and then as its string, not as its pipe chunks
        // (thousands for a 16 MB dump), their concatenation and the string, all until the next GC.
        // With `stdoutAs: 'bytes'` the buffer itself is handed over (a Buffer view of its `used`
        // bytes) and no string is made: the output is then held once, as bytes.
        let buf: ArrayBuffer | null = null;
        let bytes: Uint8Array | null = null;
        let used = 0;
        stream.on('data', (chunk: Buffer) => {
          if (overflowed) return;
          const need = used + chunk.length;
          if (need > maxBuffer) {
            overflowed = true;
            buf?.resize(0); // gives its pages back now, not at the next garbage collection
            buf = bytes = null;
            killGroup(pid);
            return;
          }
          if (buf === null || bytes === null) {
            buf = new ArrayBuffer(0, { maxByteLength: maxBuffer });
            bytes = new Uint8Array(buf); // tracks the buffer's length
          }
          // doubling keeps the resizes few; pages past `used` are reserved, not resident
          if (need > buf.byteLength) buf.resize(Math.min(maxBuffer, Math.max(need, buf.byteLength * 2, FIRST_OUTPUT_BUFFER_BYTES)));
          bytes.set(chunk, used);
          used = need;
        });
        const done = (): void => {
          if (asBytes) {
            // the bytes stay in the buffer, which keeps only the pages written: the caller reads
            // them in place (no string of the whole output, no copy)
            buf?.resize(used);
            const out = buf === null || overflowed ? Buffer.alloc(0) : Buffer.from(buf, 0, used);
            buf = bytes = null;
            return resolve(out);
          }
          const text = buf === null ? '' : Buffer.from(buf, 0, used).toString('utf8');
          buf?.resize(0);
          buf = bytes = null;
          resolve(text);
        };
        stream.on('error', done);
        stream.on('end', done);
        stream.on('close', done);
      });
    const asBytes = req.stdoutAs === 'bytes';
    const outputs = Promise.all([capture(child.stdout, asBytes), capture(child.stderr, false) as Promise<string>]);
    // execa's own timeout kills only the direct child; a grandchild holding the pipes open would
    // keep us waiting, so the whole group is killed from here.
    let groupKilled = false;
    const timer = setTimeout(() => {
      groupKilled = true;
      killGroup(pid);
    }, timeoutMs);
    const result = await child.finally(() => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
    });
    if (result.isCanceled) killGroup(child.pid);
    const [stdout, stderr] = await outputs;
    if (overflowed) return fail('output-too-large', `${file} printed more than ${maxBuffer} bytes`, stderr);
    if (result.timedOut || groupKilled) return fail('timeout', `${file} did not finish within ${timeoutMs} ms`, stderr);
    if (result.isCanceled) return fail('aborted', `${file} was cancelled`, stderr);
    const code = (result as { code?: string }).code;
    if (code === 'ENOENT') return fail('missing-binary', `${file}: command not found`);
    if (code === 'EACCES' || code === 'EPERM') return fail('permission-denied', `${file}: permission denied`);
    if (result.failed && result.exitCode === undefined) {
      return fail('spawn-failed', `${file} could not be run: ${result.shortMessage ?? 'unknown error'}`, stderr);
    }
    if (/permission denied|operation not permitted|you must be root/i.test(stderr) && (result.exitCode ?? 0) !== 0) {
      return fail('permission-denied', `${file}: ${stderr.trim().split('\n')[0] ?? 'permission denied'}`, stderr);
    }
    const exitCode = result.exitCode ?? 0;
    if (typeof stdout !== 'string') return { ok: true, stdout: '', stdoutBytes: stdout, stderr, exitCode, durationMs: elapsed() };
    return { ok: true, stdout, stderr, exitCode, durationMs: elapsed() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return fail('missing-binary', `${file}: command not found`);
    return fail('spawn-failed', `${file} could not be run: ${e.message}`);
  }
};
