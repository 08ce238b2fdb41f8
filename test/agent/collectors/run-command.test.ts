import { describe, expect, it } from 'vitest';
import { collectLinks } from '../../../agent/collectors/links.js';
import { collectAddresses } from '../../../agent/collectors/addresses.js';
import { collectNeighbours } from '../../../agent/collectors/neighbours.js';
import type { FakeAnswer } from '../../helpers/fake-runner.js';
import { config, context, fakeHost } from './fake-host.js';

/** issue #2: every way a command can fail maps to one reason from the fixed set. */
const cases: { name: string; answer: FakeAnswer; reason: string; detail: RegExp }[] = [
  { name: 'missing binary', answer: { error: 'missing-binary' }, reason: 'missing-binary', detail: /missing-binary/ },
  { name: 'timeout', answer: { error: 'timeout' }, reason: 'timeout', detail: /timeout/ },
  { name: 'output cap', answer: { error: 'output-too-large' }, reason: 'output-too-large', detail: /output-too-large/ },
  { name: 'permission error', answer: { error: 'permission-denied' }, reason: 'permission-denied', detail: /permission-denied/ },
  { name: 'spawn failure', answer: { error: 'spawn-failed' }, reason: 'command-failed', detail: /spawn-failed/ },
  {
    name: 'non-zero exit',
    answer: { stdout: '', stderr: 'Error: argument "showw" is wrong\nmore\n', exitCode: 255 },
    reason: 'command-failed',
    detail: /exit 255: Error: argument "showw" is wrong$/,
  },
  { name: 'non-zero exit, no stderr', answer: { stdout: '', exitCode: 1 }, reason: 'command-failed', detail: /exit 1: exit code 1$/ },
  { name: 'invalid JSON', answer: { stdout: '[{"ifindex":1,' }, reason: 'invalid-output', detail: /truncated.*\(line 1\)/ },
  {
    name: 'iproute2 < 4.13 without -j',
    answer: { stdout: '', stderr: 'Option "-j" is unknown, try "ip -help".\n', exitCode: 255 },
    reason: 'incompatible',
    detail: /exit 255: Option "-j" is unknown/,
  },
  { name: 'plain text instead of JSON (iproute2 4.15 route)', answer: { stdout: '1: lo: <LOOPBACK,UP> mtu 65536\n' }, reason: 'incompatible', detail: /plain text/ },
  { name: 'JSON plus garbage', answer: { stdout: '[]\nDump terminated\n' }, reason: 'invalid-output', detail: /invalid-json.*\(line 2\)/ },
];

describe('collector error mapping (run-command.ts)', () => {
  for (const c of cases) {
    it(`${c.name} → unavailable ${c.reason}`, async () => {
      // the text fallback (issue #2, links.ts) fails too here, so the JSON command's mapping is what is reported
      const host = fakeHost({ commands: { 'ip -j -d -s link show': c.answer, 'ip -d -s link show': { stdout: '', stderr: 'no text either', exitCode: 1 } } });
      const r = await collectLinks(host, config, context());
      expect(r).toMatchObject({ status: 'unavailable', reason: c.reason });
      if (r.status === 'unavailable') {
        expect(r.detail).toMatch(c.detail);
        expect(r.detail).toContain('ip -j -d -s link show');
      }
    });
  }

  it('passes the collector timeout to the runner', async () => {
    const host = fakeHost({ commands: { 'ip -j addr show': { stdout: '[]' } } });
    expect(await collectAddresses(host, { ...config, timeoutMs: 1234 }, context())).toEqual({ status: 'ok', data: [] });
    expect(host.run.calls[0]?.timeoutMs).toBe(1234);
  });

  it('empty links output is invalid (a host always has lo), empty neighbour output is no neighbours (old iproute2)', async () => {
    expect(await collectLinks(fakeHost({ commands: { 'ip -j -d -s link show': { stdout: '' } } }), config, context())).toMatchObject({
      status: 'unavailable',
      reason: 'invalid-output',
    });
    expect(await collectNeighbours(fakeHost({ commands: { 'ip -j neigh show': { stdout: '\n' } } }), config, context())).toEqual({ status: 'ok', data: [] });
  });
});
