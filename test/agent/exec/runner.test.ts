import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExecRunner, execRunner, releaseStdoutBytes, stdoutText } from '../../../agent/exec/runner.js';

describe('execRunner', () => {
  it('runs argv without a shell', async () => {
    const r = await execRunner({ argv: ['echo', 'a; rm -rf / $(id)'] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.stdout).toBe('a; rm -rf / $(id)\n');
  });
  it('reports a missing binary as a typed error', async () => {
    const r = await execRunner({ argv: ['definitely-not-a-binary-calico-diag'] });
    expect(r).toMatchObject({ ok: false, kind: 'missing-binary' });
  });
  it('kills a hung command at its timeout, grandchildren included', async () => {
    const r = await execRunner({ argv: ['sh', '-c', 'sleep 30 & sleep 30'], timeoutMs: 200 });
    expect(r).toMatchObject({ ok: false, kind: 'timeout' });
    if (!r.ok) expect(r.durationMs).toBeLessThan(5000);
  });
  it('caps output', async () => {
    const r = await execRunner({ argv: ['yes'], maxOutputBytes: 10_000, timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: false, kind: 'output-too-large' });
  });
  it('returns a non-zero exit as data', async () => {
    const r = await execRunner({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    expect(r).toMatchObject({ ok: true, exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });
  it('returns a large output whole, multi-byte characters cut between pipe chunks included', async () => {
    // #17: output is decoded chunk by chunk; 3-byte characters at every offset cross chunk borders
    const text = `${'é€'.repeat(200_000)}\nend ☃\n`;
    const r = await execRunner({ argv: ['cat'], input: text, timeoutMs: 10_000 });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.stdout.length).toBe(text.length);
      expect(r.stdout === text).toBe(true);
    }
  });
  it('hands stdout over as the bytes received when asked, multi-byte characters and invalid UTF-8 as they came', async () => {
    // #17: a large dump is read in place, never decoded whole
    const text = `${'é€'.repeat(200_000)}\n\xff end ☃\n`;
    const r = await execRunner({ argv: ['sh', '-c', 'cat; printf "\\377"'], input: text, timeoutMs: 10_000, stdoutAs: 'bytes' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.stdout).toBe('');
    const expected = Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0xff])]);
    expect(Buffer.compare(Buffer.from(r.stdoutBytes ?? []), expected)).toBe(0);
    expect(stdoutText(r)).toBe(expected.toString('utf8'));
    releaseStdoutBytes(r);
    expect(r.stdoutBytes?.length).toBe(0);
  });
  it('caps output asked for as bytes', async () => {
    const r = await execRunner({ argv: ['yes'], maxOutputBytes: 10_000, timeoutMs: 5000, stdoutAs: 'bytes' });
    expect(r).toMatchObject({ ok: false, kind: 'output-too-large' });
  });
  it('feeds stdin', async () => {
    const r = await execRunner({ argv: ['cat'], input: 'hello' });
    expect(r).toMatchObject({ ok: true, stdout: 'hello' });
  });
});

// #17: stdout asked for as bytes goes through an unlinked spool file under prlimit's file-size limit
describe('execRunner spooling stdout asked for as bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cd-spool-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const spooling = createExecRunner({ dir });
  /** what the command's stdout is: a regular file when spooled, a socket when piped (libuv's pipes are socket pairs) */
  const stdoutKind = ['sh', '-c', 'kind=$(stat -L -c %F /proc/$$/fd/1); echo "$kind" >&2'] as const;

  it('gives the command a file that is gone from its directory, and hands over every byte', async () => {
    const r = await spooling({ argv: ['sh', '-c', 'kind=$(stat -L -c %F /proc/$$/fd/1); echo "$kind" >&2; cat; printf "\\377"'], input: 'é€ end\n', stdoutAs: 'bytes' });
    expect(r).toMatchObject({ ok: true, exitCode: 0, stderr: 'regular empty file\n' });
    if (!r.ok) return;
    expect(Buffer.compare(Buffer.from(r.stdoutBytes ?? []), Buffer.concat([Buffer.from('é€ end\n'), Buffer.from([0xff])]))).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    releaseStdoutBytes(r);
    expect(r.stdoutBytes?.length).toBe(0);
  });
  it('accepts output of exactly the cap and stops a writer at the first byte past it', async () => {
    const at = await spooling({ argv: ['head', '-c', '10000', '/dev/zero'], maxOutputBytes: 10_000, stdoutAs: 'bytes' });
    expect(at.ok && at.stdoutBytes?.length).toBe(10_000);
    const past = await spooling({ argv: ['head', '-c', '10001', '/dev/zero'], maxOutputBytes: 10_000, stdoutAs: 'bytes' });
    expect(past).toMatchObject({ ok: false, kind: 'output-too-large' });
    const endless = await spooling({ argv: ['yes'], maxOutputBytes: 10_000, timeoutMs: 5000, stdoutAs: 'bytes' });
    expect(endless).toMatchObject({ ok: false, kind: 'output-too-large' });
    if (!endless.ok) expect(endless.durationMs).toBeLessThan(4000);
    expect(readdirSync(dir)).toEqual([]);
  });
  it('reports a missing binary, a timeout and a non-zero exit as the pipe does', async () => {
    expect(await spooling({ argv: ['definitely-not-a-binary-calico-diag'], stdoutAs: 'bytes' })).toMatchObject({ ok: false, kind: 'missing-binary' });
    // found on PATH but not runnable (its interpreter is missing): prlimit cannot exec it
    const script = join(dir, 'no-interpreter');
    writeFileSync(script, '#!/nonexistent/interpreter\n', { mode: 0o755 });
    try {
      for (const runner of [spooling, execRunner]) expect(await runner({ argv: [script], stdoutAs: 'bytes' })).toMatchObject({ ok: false, kind: 'missing-binary' });
    } finally {
      rmSync(script);
    }
    expect(await spooling({ argv: ['sh', '-c', 'sleep 30 & sleep 30'], timeoutMs: 200, stdoutAs: 'bytes' })).toMatchObject({ ok: false, kind: 'timeout' });
    const r = await spooling({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], stdoutAs: 'bytes' });
    expect(r).toMatchObject({ ok: true, exitCode: 3, stderr: 'err\n' });
    if (r.ok) expect(stdoutText(r)).toBe('out\n');
  });
  it('reads from a pipe when the directory cannot hold a spool file or prlimit is not there', async () => {
    for (const runner of [createExecRunner({ dir: join(dir, 'missing') }), createExecRunner({ dir, prlimit: null }), createExecRunner({ dir: null })]) {
      const r = await runner({ argv: [...stdoutKind], stdoutAs: 'bytes' });
      expect(r).toMatchObject({ ok: true, stderr: 'socket\n' });
    }
  });
  it('leaves text output on the pipe', async () => {
    expect(await spooling({ argv: [...stdoutKind] })).toMatchObject({ ok: true, stderr: 'socket\n' });
  });
});
