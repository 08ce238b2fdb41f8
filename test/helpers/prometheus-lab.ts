/**
 * A real Prometheus (Debian's package) for a namespace lab: it runs inside the lab's aggregator
 * namespace, scrapes every agent (one target per node, labelled `node`, as the ServiceMonitor's
 * relabeling does in a cluster) and the aggregator, and evaluates the shipped alert rules with
 * `for:` set to 0s so that they fire within a test's time. One copy for every lab file that runs
 * Prometheus (test/lab/prometheus.test.ts on the VXLAN lab, test/lab/prometheus-bgp.test.ts on the
 * BGP CrossSubnet lab), and the list of which file fires which alert.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { BgpFaultKind } from '../../lab/bgp-faults.js';
import { AGENT_PORT, AGGREGATOR_PORT } from '../../lab/processes.js';
import { inNs } from '../../lab/sh.js';
import { spawnInNs, type Daemon } from '../../lab/spawn.js';
import type { Lab } from '../../lab/topology.js';

const root = join(import.meta.dirname, '../..');
export const PROM = '127.0.0.1:9090';

export interface RuleSpec {
  groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: Record<string, string> }[] }[];
}
export const ruleSpec = (parse(readFileSync(join(root, 'manifests/components/monitoring/prometheusrule.yaml'), 'utf8')) as { spec: RuleSpec }).spec;
export const shippedAlerts = ruleSpec.groups.flatMap((g) => g.rules);

/**
 * The alerts fired on the BGP CrossSubnet lab (test/lab/prometheus-bgp.test.ts): the fault, the
 * node pair (node → peer) and the severity the finding, and so the alert, carries there.
 */
export const BGP_ALERT_FAULTS: Record<string, { kind: BgpFaultKind; node: string; peer: string; severity: 'critical' | 'warning' }> = {
  // VXLAN CrossSubnet: Felix programs the routes, so a BGP session down is a warning
  CalicoBgpSessionDown: { kind: 'bgp-session-filtered', node: 'node1', peer: 'node2', severity: 'warning' },
  // node3 is on the other subnet: routed directly, the underlay cannot deliver pod addresses
  CalicoRouteWrongForm: { kind: 'route-form-direct', node: 'node1', peer: 'node3', severity: 'critical' },
};

export interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

export interface LabPrometheus {
  query(expr: string): Promise<PromResult[]>;
  /** curl inside the aggregator namespace */
  get(url: string, timeoutS?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Polls `probe` (after `tick`) every 500 ms until it returns a value; throws at the deadline. */
export const until = async <T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, tick?: () => Promise<void>): Promise<T> => {
  const start = Date.now();
  for (;;) {
    if (tick) await tick();
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - start > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
};

/** Starts Prometheus for `lab` with the shipped rules (for: 0s) and waits until it is ready. */
export const startPrometheus = async (lab: Lab): Promise<LabPrometheus> => {
  const dir = join(lab.runDir, 'prometheus');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const fastRules: RuleSpec = { groups: ruleSpec.groups.map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, for: '0s' })) })) };
  writeFileSync(join(dir, 'rules.yaml'), stringify(fastRules));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: [
        { job_name: 'calico-diag-agent', static_configs: lab.nodes.map((n) => ({ targets: [`${n.nodeIp}:${AGENT_PORT}`], labels: { node: n.name } })) },
        { job_name: 'calico-diag-aggregator', static_configs: [{ targets: [`127.0.0.1:${AGGREGATOR_PORT}`] }] },
      ],
    }),
  );
  const daemon: Daemon = spawnInNs({
    name: 'prometheus',
    ns: lab.aggregatorNs,
    argv: ['prometheus', `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${PROM}`],
    logFile: join(dir, 'prometheus.log'),
  });
  const get = async (url: string, timeoutS = 5): Promise<string> =>
    (await lab.sh.must(inNs(lab.aggregatorNs, ['curl', '-sf', '--max-time', String(timeoutS), url]), { timeoutMs: (timeoutS + 5) * 1000 })).stdout;
  const query = async (expr: string): Promise<PromResult[]> => {
    const body = JSON.parse(await get(`http://${PROM}/api/v1/query?query=${encodeURIComponent(expr)}`)) as { status: string; data: { result: PromResult[] } };
    if (body.status !== 'success') throw new Error(`query failed: ${expr}`);
    return body.data.result;
  };
  try {
    await until('prometheus ready', 30_000, async () =>
      (await lab.sh.try(inNs(lab.aggregatorNs, ['curl', '-sf', `http://${PROM}/-/ready`]))).exitCode === 0 ? true : undefined,
    );
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return { query, get, stop: () => daemon.stop() };
};
