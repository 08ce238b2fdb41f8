/**
 * `npm run demo`: a 3-node Calico VXLAN cluster in network namespaces with the real calico-diag
 * agents and aggregator; shows the healthy state, injects a wrong VXLAN neighbour MAC on node1 for
 * node2, shows what the aggregator reports, removes the fault, shows it clear, tears down (also on
 * Ctrl-C). Needs root. Never touches the root namespace's addresses, routes or firewall.
 */
import { createLab, type Lab } from './topology.js';
import { startLabProcesses, type LabProcesses } from './processes.js';
import { mountPrivateTracefs } from './tracefs.js';
import { injectFault } from './faults.js';
import { preflight } from './preflight.js';
import type { Finding } from '../contract/finding.js';
import type { Diagnosis } from '../contract/diagnosis.js';
import { renderDiagnosis } from '../cli/diagnose.js';

const INTERVAL_S = 2;
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const step = (title: string): void => out(`\n== ${title}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const table = (headers: string[], rows: string[][]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
};

const wrap = (text: string, width: number, indent: string): string => {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l, i) => (i === 0 ? l : `${indent}${l}`)).join('\n');
};

const showFindings = (fs: Finding[]): void => {
  if (fs.length === 0) {
    out('  (no findings)');
    return;
  }
  out(table(['RULE', 'SEVERITY', 'NODE', 'PEER'], fs.map((f) => [f.rule, f.severity, f.node, f.peer ?? '-'])));
  for (const f of fs) {
    out(`\n  ${f.rule} on ${f.node}${f.peer ? ` (peer ${f.peer})` : ''}`);
    out(`    summary:  ${wrap(f.summary, 90, '              ')}`);
    out(`    seen:     ${wrap(f.evidence.seen, 90, '              ')}`);
    out(`    expected: ${wrap(f.evidence.expected, 90, '              ')}`);
    out(`    remedy:   ${wrap(f.remedy, 90, '              ')}`);
  }
};

const pingMatrix = async (lab: Lab): Promise<boolean> => {
  let all = true;
  const rows: string[][] = [];
  for (const a of lab.nodes) {
    const row = [`${a.pods[0]!.name} (${a.pods[0]!.ip})`];
    for (const b of lab.nodes) {
      if (a === b) {
        row.push('-');
        continue;
      }
      const ok = await lab.ping(a.pods[0]!.ns, b.pods[0]!.ip);
      all &&= ok;
      row.push(ok ? 'ok' : 'FAIL');
    }
    rows.push(row);
  }
  out(table(['pod ping from \\ to', ...lab.nodes.map((n) => n.pods[0]!.name)], rows));
  return all;
};

const findings = async (procs: LabProcesses): Promise<Finding[]> => {
  const res = await procs.aggregatorGet<{ findings: Finding[] }>('/v1/findings');
  if (res.status !== 200) throw new Error(`aggregator answered ${res.status} to GET /v1/findings`);
  return res.body.findings;
};

const waitFor = async (what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<boolean> => {
  const until = Date.now() + deadlineMs;
  process.stdout.write(`  waiting for ${what} `);
  for (;;) {
    if (await check()) {
      out('done');
      return true;
    }
    if (Date.now() > until) {
      out('TIMED OUT');
      return false;
    }
    process.stdout.write('.');
    await sleep(500);
  }
};

const serious = (fs: Finding[]) => fs.filter((f) => f.severity !== 'info');

const run = async (): Promise<number> => {
  out('calico-diag demo: a Calico VXLAN cluster in network namespaces');
  const problems = await preflight();
  if (problems.length > 0) {
    out('cannot run the demo here:');
    for (const p of problems) out(`  - ${p}`);
    out('(run it as root on Linux with iproute2, iptables, ipset, tcpdump, curl and ping installed: sudo npm run demo)');
    return 1;
  }

  step('1. bringing the lab up');
  const lab = await createLab({ nodes: 3, progress: (l) => out(`  ${l}`) });
  // the agents read kernel drop reasons through a private tracefs mount (#18), unmounted at the end
  const tracefs = await mountPrivateTracefs().catch((err: unknown) => {
    out(`  (kernel drop reasons unavailable: ${err instanceof Error ? err.message : String(err)})`);
    return null;
  });
  const procs = startLabProcesses(lab, { intervalS: INTERVAL_S, staleIntervals: 3, ...(tracefs ? { env: { CALICO_DIAG_TRACEFS: tracefs.dir } } : {}) });
  try {
    out(`  starting the aggregator in ${lab.aggregatorNs} (${lab.aggregatorIp}:9478)`);
    await procs.startAggregator();
    out(`  starting one agent per node (interval ${INTERVAL_S}s, reports to ${procs.aggregatorUrl})`);
    await procs.startAgents();

    step('2. healthy cluster');
    out(
      table(
        ['NODE', 'NODE IP', 'BLOCK', 'TUNNEL IP', 'VTEP MAC', 'NAMESPACE'],
        lab.nodes.map((n) => [n.name, n.nodeIp, n.block, n.tunnelIp, n.vtepMac, n.ns]),
      ),
    );
    await waitFor('every node to report', 20_000, async () => {
      const r = await procs.aggregatorGet<{ nodes?: Array<{ stale: boolean }> }>('/v1/nodes');
      return (r.body.nodes ?? []).filter((n) => !n.stale).length === lab.nodes.length;
    });
    await waitFor('a clean correlation pass', 3 * INTERVAL_S * 1000 + 2000, async () => serious(await findings(procs)).length === 0);
    const healthy = await findings(procs);
    out(`  aggregator: ${lab.nodes.length} nodes reporting, ${serious(healthy).length} critical/warning findings`);
    await pingMatrix(lab);

    step('3. fault: node1 gets a wrong MAC for node2\'s VXLAN tunnel IP');
    const fault = await injectFault({ lab, agents: procs }, 'neighbor-mac-wrong', { node: 'node1', peer: 'node2' });
    out(`  ${fault.description}`);
    out(`  (ip -n ${lab.node('node1').ns} neigh replace ${lab.node('node2').tunnelIp} lladdr 66:de:ad:be:ef:01 dev vxlan.calico nud permanent)`);
    await pingMatrix(lab);
    await waitFor(`the aggregator to report ${fault.expected.rule}`, 3 * INTERVAL_S * 1000 + 4000, async () =>
      (await findings(procs)).some((f) => f.rule === fault.expected.rule && f.node === fault.expected.node),
    );
    out('\n  findings reported by the aggregator (GET /v1/findings):\n');
    showFindings(serious(await findings(procs)));

    // two-node capture diagnosis of node1 → node2 while the fault is still in place
    const target = lab.node('node2').pods[0]?.ip ?? 'node2';
    out(`\n  two-node capture diagnosis (calico-diag diagnose --from node1 --to ${target}):\n`);
    const diag = await procs.aggregatorPost<Diagnosis>('/v1/diagnose', { from: 'node1', to: target }, 40);
    out(diag.status === 200 ? renderDiagnosis(diag.body).replace(/^(?=.)/gm, '  ') : `  POST /v1/diagnose answered ${diag.status}: ${JSON.stringify(diag.body)}`);

    step('4. removing the fault');
    await fault.remove();
    out(`  neighbour ${lab.node('node2').tunnelIp} on node1 restored to ${lab.node('node2').vtepMac} (PERMANENT)`);
    await waitFor('the finding to clear', 3 * INTERVAL_S * 1000 + 4000, async () => serious(await findings(procs)).length === 0);
    showFindings(serious(await findings(procs)));
    await pingMatrix(lab);

    step('5. fault: a DROP rule in node2\'s forward chain: the diagnosis names the rule and the kernel\'s drop reason');
    const drop = await injectFault({ lab, agents: procs }, 'forward-drop', { node: 'node2', peer: 'node1' });
    out(`  ${drop.description}`);
    await waitFor(`the aggregator to report ${drop.expected.rule}`, 3 * INTERVAL_S * 1000 + 8000, async () => {
      await lab.ping(lab.node('node1').pods[0]!.ns, target, { timeoutS: 0.5 });
      return (await findings(procs)).some((f) => f.rule === drop.expected.rule && f.node === drop.expected.node);
    });
    out(`\n  two-node capture diagnosis (calico-diag diagnose --from node1 --to ${target}):\n`);
    const dropDiag = await procs.aggregatorPost<Diagnosis>('/v1/diagnose', { from: 'node1', to: target }, 40);
    out(dropDiag.status === 200 ? renderDiagnosis(dropDiag.body).replace(/^(?=.)/gm, '  ') : `  POST /v1/diagnose answered ${dropDiag.status}: ${JSON.stringify(dropDiag.body)}`);
    await drop.remove();
    await waitFor('the finding to clear', 3 * INTERVAL_S * 1000 + 8000, async () => serious(await findings(procs)).length === 0);
    out('  rule removed; findings cleared');
  } finally {
    step('6. tearing down');
    await procs.stopAll();
    await lab.teardown();
    await tracefs?.unmount();
    out(`  removed ${lab.namespaces().length} namespaces (${lab.prefix}-*) and every process in them`);
  }
  return 0;
};

run().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
