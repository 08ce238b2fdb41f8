/**
 * CLI conventions shared by every command (issue #13 point 4): terminal-safe rendering of report
 * text, colour only on a TTY without NO_COLOR, durations, and -o / --json.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../../common/duration.js';
import { renderFindings } from '../../cli/findings.js';
import { ansiColour, renderFields, renderTable, termSafe } from '../../cli/format.js';
import { colourEnabled, memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/main.js';
import { outputFormat, renderStructured } from '../../cli/output.js';
import type { Finding } from '../../contract/finding.js';

const ESC = '\u001b';
const finding = (over: Partial<Finding> = {}): Finding => ({
  id: 'route-missing/node-a/node-b/',
  rule: 'route-missing',
  severity: 'critical',
  node: 'node-a',
  peer: 'node-b',
  summary: 'no route to block 10.0.0.0/26',
  evidence: { seen: 'no route', expected: '10.0.0.0/26 via 10.0.0.1', details: {} },
  remedy: 'check Felix',
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-01T00:05:00.000Z',
  ...over,
});
// eslint-disable-next-line no-control-regex
const UNSAFE_RAW = /[\u0080-\u009f\u202a-\u202e\u001b]/;
const NOW = Date.parse('2026-01-01T00:10:00.000Z');

describe('terminal safety of report text', () => {
  it('escapes control characters, C1 controls and bidi overrides instead of passing them to the terminal', () => {
    expect(termSafe(`a${ESC}[2Jb`)).toBe('a\\x1b[2Jb');
    expect(termSafe('x\u009b31mY')).toBe('x\\x9b31mY');
    expect(termSafe('evil\u202eexe.txt')).toBe('evil\\u{202e}exe.txt');
    expect(termSafe('bell\u0007 del\u007f tab\t')).toBe('bell\\x07 del\\x7f tab\\t');
    expect(termSafe('plain ünïcode → ✓')).toBe('plain ünïcode → ✓');
  });

  it('tables, fields and the findings view never print a raw escape from a report', () => {
    const hostile = finding({ summary: `title${ESC}]0;pwned\u0007 and ${ESC}[31mred`, node: `node${ESC}[2J`, remedy: `run ${ESC}[8mhidden` });
    const out = renderFindings([hostile], NOW, { wide: true });
    expect(out).not.toContain(ESC);
    expect(out).not.toContain('\u0007');
    expect(out).toContain('title\\x1b]0;pwned\\x07 and \\x1b[31mred');
    expect(out).toContain('run \\x1b[8mhidden');
    expect(renderTable(['A'], [[`${ESC}c`]])).not.toContain(ESC);
    expect(renderFields([['k', `v${ESC}[1m`]])).toBe('k: v\\x1b[1m\n');
  });

  it('json and yaml carry the same strings with C1 controls and bidi overrides written as escapes', () => {
    const data = { s: `a\u009bb\u202ec${ESC}` };
    const json = renderStructured('json', data);
    expect(json).not.toMatch(UNSAFE_RAW);
    expect(JSON.parse(json)).toEqual(data);
    const yaml = renderStructured('yaml', data);
    expect(yaml).not.toMatch(UNSAFE_RAW);
    expect(parseYaml(yaml)).toEqual(data);
  });
});

describe('colour', () => {
  it('is on only when stdout is a TTY and NO_COLOR is unset or empty', () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({}, {})).toBe(false);
  });

  it('colours severities when on and keeps the columns aligned; plain text when off', () => {
    const findings = [finding(), finding({ severity: 'warning', rule: 'route-wrong-next-hop', node: 'node-bb' })];
    const plain = renderFindings(findings, NOW);
    expect(plain).not.toContain(ESC);
    const coloured = renderFindings(findings, NOW, { paint: ansiColour });
    expect(coloured).toContain(ansiColour('red', 'CRITICAL'));
    expect(coloured).toContain(ansiColour('yellow', 'WARNING'));
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(plain);
  });

  it('a command run with colour off (not a TTY, or NO_COLOR) prints no escape sequence', async () => {
    const io = memoryIo('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n', false);
    expect(await runCli(['parse', 'iptables-save'], io)).toBe(0);
    expect(io.out()).not.toContain(ESC);
    const tty = memoryIo('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n', true);
    expect(await runCli(['parse', 'iptables-save'], tty)).toBe(0);
    expect(tty.out()).toContain(ansiColour('bold', 'TABLE'));
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m', 60_000],
    ['2m30s', 150_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['1m0.5s', 60_500],
  ])('reads %s', (text, ms) => expect(parseDuration(text, 's')).toEqual({ ok: true, ms }));

  it('a plain number keeps the flag unit', () => {
    expect(parseDuration('30', 's')).toEqual({ ok: true, ms: 30_000 });
    expect(parseDuration('250', 'ms')).toEqual({ ok: true, ms: 250 });
  });

  it.each(['', 's', '30x', '1m30', '-5s', '1 m', '2d', '30ss', 'NaN', '1e3s'])('refuses %j with a clear message', (text) => {
    const r = parseDuration(text, 's');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toBe('not a duration: use e.g. 500ms, 30s, 1m, 2m30s (a plain number is seconds)');
  });
});

describe('-o and --json', () => {
  it('--json is -o json; -o defaults to table; a contradiction is refused', () => {
    expect(outputFormat({})).toBe('table');
    expect(outputFormat({ json: true })).toBe('json');
    expect(outputFormat({ output: 'wide' })).toBe('wide');
    expect(outputFormat({ output: 'json', json: true })).toBe('json');
    expect(() => outputFormat({ output: 'wide', json: true })).toThrow('--json and -o wide contradict each other');
  });

  it('every read command takes -o with the four formats and --json', async () => {
    for (const cmd of [['snapshot'], ['findings'], ['nodes'], ['diagnose'], ['version'], ['parse', 'iptables-save']]) {
      const io = memoryIo();
      expect(await runCli([...cmd, '--help'], io)).toBe(0);
      expect(io.out()).toMatch(/-o, --output <format>\s+output format: table \(short\), wide/);
      expect(io.out()).toContain('"table", "wide", "json", "yaml"');
      expect(io.out()).toContain('--json');
    }
    const bad = memoryIo();
    expect(await runCli(['nodes', '-o', 'xml'], bad)).toBe(1);
    expect(bad.err()).toMatch(/argument 'xml' is invalid. Allowed choices are table, wide, json, yaml/);
  });
});
