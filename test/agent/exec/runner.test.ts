import { describe, expect, it } from 'vitest';
import { execRunner, fixStdoutBytes, releaseStdoutBytes, stdoutText, type RunResult } from '../../../agent/exec/runner.js';

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
  it('moves stdout bytes into a fixed-length buffer, the same bytes, and gives them back from there', async () => {
    // #17: the agent daemon parses its dumps from fixed-length bytes, which V8 reads faster
    const text = `${'é€'.repeat(50_000)}\nend\n`;
    const r = await execRunner({ argv: ['cat'], input: text, timeoutMs: 10_000, stdoutAs: 'bytes' });
    if (!r.ok) throw new Error(r.message);
    const received = r.stdoutBytes?.buffer as ArrayBuffer;
    expect(received.resizable).toBe(true);
    const fixed = fixStdoutBytes(r);
    if (!fixed.ok) throw new Error('not ok');
    expect((fixed.stdoutBytes?.buffer as ArrayBuffer).resizable).toBe(false);
    expect(stdoutText(fixed)).toBe(text);
    expect(received.detached).toBe(true);
    releaseStdoutBytes(fixed);
    expect(fixed.stdoutBytes?.length).toBe(0);
    expect((fixed.stdoutBytes?.buffer as ArrayBuffer).detached).toBe(true);
  });
  it('leaves text output and bytes it did not receive as they are', async () => {
    const text = await execRunner({ argv: ['echo', 'hi'] });
    expect(fixStdoutBytes(text)).toBe(text);
    const bytes = new Uint8Array([104, 105]);
    const foreign: RunResult = { ok: true, stdout: '', stdoutBytes: bytes, stderr: '', exitCode: 0, durationMs: 1 };
    expect(fixStdoutBytes(foreign)).toBe(foreign);
    releaseStdoutBytes(foreign);
    expect(Array.from(bytes)).toEqual([104, 105]);
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
