/**
 * `calico-diag snapshot` runs the aggregator's root-cause pass (aggregator/causes.ts) over the
 * node's own findings (#18): a finding another local finding explains carries `explainedBy` in JSON
 * and is folded under its root in the tables. The node is a recorded lab node (test/fixtures/lab,
 * see its SOURCES.md) replayed through a fake host: its ip, bridge, ipset and iptables outputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Host } from '../../agent/collectors/types.js';
import { runCli } from '../../cli/main.js';
import { memoryIo } from '../../cli/io.js';
import type { Clock } from '../../common/clock.js';
import type { Finding } from '../../contract/finding.js';

const LAB = join(import.meta.dirname, '../fixtures/lab');

/** A host that answers the agent's reads from one recorded lab node; Felix answers or not. */
const recordedHost = (dir: string, felix: 'ready' | 'unreachable') => (): Host => {
  const read = (file: string) => readFileSync(join(LAB, dir, file), 'utf8');
  const outputs: Record<string, string> = {
    'ip -j -d -s link show': read('ip-j-d-s-link-show.json'),
    'ip -j addr show': read('ip-j-addr-show.json'),
    'ip -j -4 route show table all': read('ip-j-route-show-table-all.json'),
    'ip -j -6 route show table all': read('ip-j-6-route-show-table-all.json'),
    'ip -j neigh show': read('ip-j-neigh-show.json'),
    'ipset save': read('ipset-save.txt'),
    'ipset list': read('ipset-list.txt'),
    'iptables-save -c': read('iptables-save-c.txt'),
  };
  return {
    run: async (req) => {
      const key = req.argv.join(' ');
      const out = key.startsWith('bridge -j fdb show') ? read('bridge-j-fdb-show.json') : outputs[key];
      return out === undefined
        ? { ok: false, kind: 'missing-binary', message: `${req.argv[0]}: command not found`, argv: req.argv, stderr: '', durationMs: 1 }
        : { ok: true, stdout: out, stderr: '', exitCode: 0, durationMs: 1 };
    },
    readFile: async (path) => (path === '/proc/sys/net/ipv4/ip_forward' ? { ok: true, text: '1\n' } : { ok: false, kind: 'not-found', message: `${path}: ENOENT` }),
    listDir: async (path) => ({ ok: false, kind: 'not-found', message: `${path}: ENOENT` }),
    httpGet: async (url) => (felix === 'ready' ? { ok: true, status: 200, body: '' } : { ok: false, kind: 'unreachable', message: `${url}: ECONNREFUSED` }),
    unixExchange: async (path) => ({ ok: false, kind: 'not-found', message: `${path}: ENOENT` }),
  };
};

const clock: Clock = { now: () => Date.parse('2026-11-21T12:00:00.000Z'), monotonic: () => 0 };

const snapshot = async (dir: string, felix: 'ready' | 'unreachable', ...args: string[]) => {
  const io = memoryIo();
  const code = await runCli(['snapshot', '--node', 'node1', ...args], io, { snapshot: { host: recordedHost(dir, felix), env: {}, clock } });
  return { code, out: io.out(), err: io.err() };
};

const findingsOf = async (dir: string, felix: 'ready' | 'unreachable'): Promise<Finding[]> => {
  const r = await snapshot(dir, felix, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as { findings: Finding[] }).findings;
};

/** The rows of the Findings table, from its header on. */
const findingRows = (out: string): string[] => {
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /^RULE\s+SEVERITY/.test(l));
  expect(header).toBeGreaterThan(0);
  const rows: string[] = [];
  for (const l of lines.slice(header + 2)) {
    if (l.trim() === '') break;
    rows.push(l);
  }
  return rows;
};

describe('calico-diag snapshot: root causes in the local view', () => {
  it('a node whose tunnel device is down shows one critical, the tunnel, as a root', async () => {
    // the kernel removed the routes and neighbours through vxlan.calico with the device: the local
    // checks see no other fault (the missing peer routes are the aggregator's route-missing)
    const findings = await findingsOf('tunnel-down-node1', 'ready');
    expect(findings.map((f) => `${f.rule} ${f.severity}`)).toEqual(['tunnel-down critical']);
    expect(findings[0]!.explainedBy).toBeUndefined();
    const table = await snapshot('tunnel-down-node1', 'ready');
    expect(findingRows(table.out)).toEqual([expect.stringMatching(/^tunnel-down\s+critical\s+Tunnel device vxlan\.calico is administratively down/)]);
    expect(table.out).not.toContain('following from them');
  });

  it('a tunnel down while Felix does not answer: each is its own root (neither explains the other)', async () => {
    const findings = await findingsOf('tunnel-down-node1', 'unreachable');
    expect(findings.map((f) => f.rule).sort()).toEqual(['felix-not-ready', 'felix-not-ready', 'tunnel-down']);
    expect(findings.filter((f) => f.explainedBy !== undefined)).toEqual([]);
  });

  it('a finding another local finding explains carries explainedBy (JSON) and is folded under its root (tables)', async () => {
    // Felix not answering explains the neighbour entry it did not program as PERMANENT
    const findings = await findingsOf('neighbor-not-permanent-node1', 'unreachable');
    const felix = findings.filter((f) => f.rule === 'felix-not-ready');
    const neigh = findings.find((f) => f.rule === 'vxlan-neighbor-not-permanent');
    expect(felix).toHaveLength(2);
    expect(neigh).toBeDefined();
    expect(felix.map((f) => f.id)).toContain(neigh!.explainedBy);
    for (const f of felix) expect(f.explainedBy).toBeUndefined();

    for (const args of [[], ['-o', 'wide']]) {
      const r = await snapshot('neighbor-not-permanent-node1', 'unreachable', ...args);
      expect(r.code).toBe(0);
      const rows = findingRows(r.out);
      expect(rows).toHaveLength(3);
      const folded = rows.findIndex((l) => /^└ vxlan-neighbor-not-permanent\s+warning\s/.test(l));
      expect(folded, rows.join('\n')).toBeGreaterThan(0);
      expect(rows[folded - 1]).toMatch(/^felix-not-ready\s+warning\s/);
      expect(rows.filter((l) => l.startsWith('└'))).toHaveLength(1);
      expect(r.out).toContain('3 findings: 2 root causes, 1 following from them (└)');
    }
  });

  it('with Felix ready the same neighbour finding is a root of its own', async () => {
    const findings = await findingsOf('neighbor-not-permanent-node1', 'ready');
    expect(findings.map((f) => f.rule)).toEqual(['vxlan-neighbor-not-permanent']);
    expect(findings[0]!.explainedBy).toBeUndefined();
    const r = await snapshot('neighbor-not-permanent-node1', 'ready');
    expect(findingRows(r.out)).toEqual([expect.stringMatching(/^vxlan-neighbor-not-permanent\s+warning\s/)]);
  });
});
