/**
 * The token file read in one blocking read (the CLI's, #17: no thread pool for a short command)
 * answers what the daemons' asynchronous read answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTokenFile, readTokenFileSync } from '../../common/token-file.js';

const dir = mkdtempSync(join(tmpdir(), 'cdl-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readTokenFileSync', () => {
  it('trims the token and refuses missing, empty, multi-word files and directories, as readTokenFile does', async () => {
    writeFileSync(join(dir, 't'), '  s3cret\n');
    writeFileSync(join(dir, 'e'), ' \n');
    writeFileSync(join(dir, 'w'), 'a b');
    expect(readTokenFileSync(join(dir, 't'))).toEqual({ ok: true, token: 's3cret' });
    expect(readTokenFileSync(join(dir, 'nope'))).toEqual({ ok: false, message: `token file ${join(dir, 'nope')} does not exist` });
    expect(readTokenFileSync(join(dir, 'e'))).toEqual({ ok: false, message: `token file ${join(dir, 'e')} is empty` });
    expect(readTokenFileSync(join(dir, 'w'))).toEqual({ ok: false, message: `token file ${join(dir, 'w')} must hold one token without whitespace` });
    expect(readTokenFileSync(dir)).toMatchObject({ ok: false, message: expect.stringMatching(/^token file .* EISDIR/) });
    for (const name of ['t', 'nope', 'e', 'w', '']) expect(readTokenFileSync(join(dir, name))).toEqual(await readTokenFile(join(dir, name)));
  });
});
