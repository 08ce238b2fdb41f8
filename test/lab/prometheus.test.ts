/**
 * Issue #6 end to end: a real Prometheus (Debian's package) scrapes the agents and the aggregator
 * of the namespace lab. Every PromQL expression of the Grafana dashboard and of the alert rules is
 * evaluated against it and must return series, each alert fires for real when its fault is
 * injected (the neighbour-MAC mismatch among them), and `promtool check metrics` accepts the real
 * /metrics of a running agent and aggregator. Prometheus runs inside the lab's aggregator
 * namespace, so nothing leaves the lab. The alert rules are the shipped ones with `for:` set to 0s
 * so they fire within the test's time. Issue #13: the aggregator-absent alert fires when the
 * aggregator stops, the series-overflow alert when the aggregator runs with a cap of 0, and the
 * dashboard's node and severity variables find their values. The scrape config labels each agent
 * target with its node, as the ServiceMonitor's relabeling does.
 * Prometheus is started by test/helpers/prometheus-lab.ts; the BGP alerts fire in prometheus-bgp.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupLeftovers } from '../../lab/cleanup.js';
import { injectFault, type FaultKind } from '../../lab/faults.js';
import { requireLabHost } from '../../lab/preflight.js';
import { startLabProcesses, type LabProcesses, AGENT_PORT, AGGREGATOR_PORT } from '../../lab/processes.js';
import { createLab, type Lab } from '../../lab/topology.js';
import { dashboardExprs, expandVariables, readDashboard, variableQuery } from '../helpers/dashboard.js';
import { BGP_ALERT_FAULTS, PROM, shippedAlerts as alerts, startPrometheus, until, type LabPrometheus } from '../helpers/prometheus-lab.js';
const dashboard = readDashboard();
const panelExprs = dashboardExprs(dashboard);
const dashboardVariables = dashboard.templating.list.filter((v) => v.type === 'query');

/** The fault that makes each alert fire, on which node pair (node → peer). */
const alertFaults: Record<string, { kind: FaultKind; node: string; peer: string; traffic?: boolean }> = {
  CalicoVxlanPeerStateMismatch: { kind: 'neighbor-mac-wrong', node: 'node1', peer: 'node2' },
  CalicoRouteMissing: { kind: 'route-missing', node: 'node2', peer: 'node3' },
  CalicoHostNotInAllowedSet: { kind: 'host-not-in-ipset', node: 'node3', peer: 'node1' },
  CalicoIptablesDropsRising: { kind: 'forward-drop', node: 'node1', peer: 'node2', traffic: true },
  CalicoTunnelDown: { kind: 'tunnel-down', node: 'node2', peer: 'node1' },
  CalicoDiagAgentStale: { kind: 'agent-killed', node: 'node3', peer: 'node1' },
};

/** Alerts on calico-diag itself (no node label): what brings each about, and how to undo it. */
const selfAlerts: Record<string, { cause: () => Promise<() => Promise<void>> }> = {
  CalicoDiagAggregatorAbsent: {
    cause: async () => {
      await procs!.aggregator?.stop();
      return () => procs!.startAggregator();
    },
  },
  CalicoDiagFindingSeriesOverflow: {
    // a cap of 0 exports no calico_diag_finding_active series: the one critical finding overflows
    cause: async () => {
      await procs!.aggregator?.stop();
      await procs!.startAggregator({ CALICO_DIAG_MAX_FINDING_SERIES: '0' });
      const fault = await injectFault({ lab: L(), agents: procs }, 'neighbor-mac-wrong', { node: 'node1', peer: 'node2' });
      return async () => {
        await fault.remove();
        await procs!.aggregator?.stop();
        await procs!.startAggregator();
      };
    },
  },
};

let lab: Lab | undefined;
let procs: LabProcesses | undefined;
let prometheus: LabPrometheus | undefined;
let unhook: (() => void) | undefined;
const L = (): Lab => lab ?? (() => { throw new Error('lab not built'); })();
const P = (): LabPrometheus => prometheus ?? (() => { throw new Error('prometheus not started'); })();

const query = (expr: string) => P().query(expr);

beforeAll(async () => {
  await requireLabHost();
  await cleanupLeftovers();
  lab = await createLab({ nodes: 3 });
  unhook = lab.installExitHooks();
  procs = startLabProcesses(lab, { intervalS: 1, staleIntervals: 3 });
  await procs.startAggregator();
  await procs.startAgents();

  prometheus = await startPrometheus(lab);
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await procs?.stopAll();
  await lab?.teardown();
  unhook?.();
});

// issue #6
describe('Prometheus scrapes the lab', () => {
  it('scrapes every agent and the aggregator', async () => {
    const up = await until('4 targets up', 30_000, async () => {
      const r = await query('up == 1');
      return r.length === 4 ? r : undefined;
    });
    expect(up.map((s) => s.metric.job).sort()).toEqual(['calico-diag-agent', 'calico-diag-agent', 'calico-diag-agent', 'calico-diag-aggregator']);
  }, 60_000);

  it('promtool check metrics accepts the real /metrics of an agent and the aggregator', async () => {
    for (const url of [`http://${L().nodes[0]!.nodeIp}:${AGENT_PORT}/metrics`, `http://127.0.0.1:${AGGREGATOR_PORT}/metrics`]) {
      const text = await P().get(url);
      expect(text).toContain('calico_diag_');
      // promtool exits non-zero on invalid exposition; lint warnings (e.g. counter naming) are printed too.
      const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
      expect(out.trim()).toBe('');
    }
  }, 60_000);

  it('the drops alert stays quiet while only network policy drops packets', async () => {
    // #13: a DROP in a policy chain (cali-pi-*) is an info finding, not carried by calico_diag_finding_active.
    // Runs before the fault tests: the alert looks back 5 minutes, and forward-drop makes warnings.
    const rule = alerts.find((a) => a.alert === 'CalicoIptablesDropsRising')!;
    const n = L().node('node1');
    const peer = L().node('node2');
    const chain = 'cali-pi-_labdeny';
    const spec = ['-s', peer.pods[0]!.ip, '-d', n.pods[0]!.ip, '-m', 'comment', '--comment', 'cali:labdeny01', '-j', 'DROP'];
    await L().exec(n.ns, [L().flavour.iptables, '-w', '5', '-N', chain]);
    await L().exec(n.ns, [L().flavour.iptables, '-w', '5', '-A', chain, ...spec]);
    await L().exec(n.ns, [L().flavour.iptables, '-w', '5', '-I', 'FORWARD', '1', '-j', chain]);
    const traffic = async () => void (await L().ping(peer.pods[0]!.ns, n.pods[0]!.ip, { timeoutS: 1 }));
    try {
      // the agent sees the policy drops: an info finding of the same rule on node1
      await until('an info iptables-drops-rising finding on node1', 40_000, async () => {
        const r = await query('calico_diag_findings{rule="iptables-drops-rising",severity="info"} > 0');
        return r.length > 0 ? r : undefined;
      }, traffic);
      // the raw counters rise, so the former `delta(calico_diag_node_iptables_drop_packets[10m]) > 0` would fire
      await until('node1 drop counters rising', 20_000, async () => {
        const r = await query('delta(calico_diag_node_iptables_drop_packets{node="node1"}[1m]) > 0');
        return r.length > 0 ? r : undefined;
      }, traffic);
      for (let i = 0; i < 5; i++) {
        await traffic();
        expect(await query(rule.expr)).toEqual([]);
      }
      expect(await query('ALERTS{alertname="CalicoIptablesDropsRising"}')).toEqual([]);
    } finally {
      await L().exec(n.ns, [L().flavour.iptables, '-w', '5', '-D', 'FORWARD', '-j', chain]);
      await L().exec(n.ns, [L().flavour.iptables, '-w', '5', '-F', chain]);
      await L().exec(n.ns, [L().flavour.iptables, '-w', '5', '-X', chain]);
    }
  }, 120_000);

  it('every shipped alert has a way to fire it here (the BGP alerts: in prometheus-bgp.test.ts)', () => {
    expect(alerts.map((a) => a.alert).filter((a) => !alertFaults[a] && !selfAlerts[a] && !BGP_ALERT_FAULTS[a])).toEqual([]);
  });

  it.each(alerts.filter((a) => alertFaults[a.alert]).map((a) => a.alert))('alert %s fires when its fault is injected', async (name) => {
    const rule = alerts.find((a) => a.alert === name)!;
    const f = alertFaults[name]!;
    const fault = await injectFault({ lab: L(), agents: procs }, f.kind, { node: f.node, peer: f.peer });
    const traffic = f.traffic ? async () => void (await L().ping(L().node(f.peer).pods[0]!.ns, L().node(f.node).pods[0]!.ip, { timeoutS: 1 })) : undefined;
    try {
      const series = await until(`${name} expression to return series`, 40_000, async () => {
        const r = await query(rule.expr);
        return r.length > 0 ? r : undefined;
      }, traffic);
      expect(series[0]!.metric.node).toBe(f.node);
      if (rule.expr.includes('peer')) expect(series[0]!.metric.peer).toBe(f.peer);
      const firing = await until(`${name} firing`, 20_000, async () => {
        const r = await query(`ALERTS{alertname="${name}",alertstate="firing"}`);
        return r.length > 0 ? r : undefined;
      }, traffic);
      expect(firing[0]!.metric.node).toBe(f.node);
    } finally {
      await fault.remove();
      if (f.kind === 'agent-killed') await procs!.startAgent(f.node);
    }
  }, 120_000);

  it.each(alerts.filter((a) => selfAlerts[a.alert]).map((a) => a.alert))('alert %s fires when its cause is brought about', async (name) => {
    const rule = alerts.find((a) => a.alert === name)!;
    const undo = await selfAlerts[name]!.cause();
    try {
      await until(`${name} expression to return series`, 40_000, async () => {
        const r = await query(rule.expr);
        return r.length > 0 ? r : undefined;
      });
      const firing = await until(`${name} firing`, 20_000, async () => {
        const r = await query(`ALERTS{alertname="${name}",alertstate="firing"}`);
        return r.length > 0 ? r : undefined;
      });
      expect(firing[0]!.metric.severity).toBe(rule.labels?.severity);
    } finally {
      await undo();
    }
    // undone: the aggregator is scraped again with its default cap, the alert resolves, and the
    // restarted aggregator holds every node's report again (the next tests diagnose between nodes)
    await until(`${name} resolved`, 40_000, async () => ((await query(rule.expr)).length === 0 ? true : undefined));
    await until('every node reporting to the restarted aggregator', 40_000, async () =>
      (await query(`sum(calico_diag_nodes{state="reporting"}) == ${L().nodes.length}`)).length > 0 ? true : undefined,
    );
  }, 120_000);

  it.each(dashboardVariables.map((v) => [v.name, variableQuery(v) ?? ''] as const))('dashboard variable $%s finds values: %s', async (name, q) => {
    const m = /^label_values\((\w+), (\w+)\)$/.exec(q);
    expect(m, q).not.toBeNull();
    const values = await until(`values of ${name}`, 40_000, async () => {
      const body = JSON.parse(
        await P().get(`http://${PROM}/api/v1/label/${m![2]}/values?match[]=${encodeURIComponent(m![1]!)}`),
      ) as { status: string; data: string[] };
      return body.status === 'success' && body.data.length > 0 ? body.data : undefined;
    });
    if (name === 'node') expect(values.sort()).toEqual(L().nodes.map((n) => n.name).sort());
    if (name === 'severity') expect(values).toEqual(expect.arrayContaining(['critical', 'warning', 'info']));
  }, 60_000);

  it.each(panelExprs.map((d) => [d.panel, expandVariables(d.expr)] as const))('dashboard panel "%s" returns series: %s', async (_panel, expr) => {
    // Some panels read findings: keep one fault active so they have something to show.
    const fault = await injectFault({ lab: L(), agents: procs }, 'neighbor-mac-wrong', { node: 'node1', peer: 'node2' });
    try {
      if (expr.includes('calico_diag_diagnoses_total')) {
        const res = await procs!.aggregatorPost('/v1/diagnose', { from: 'node1', to: 'node2' }, 60);
        expect(res.status).toBe(200);
      }
      const series = await until(`series for ${expr}`, 40_000, async () => {
        const r = await query(expr);
        return r.length > 0 ? r : undefined;
      });
      expect(series.length).toBeGreaterThan(0);
    } finally {
      await fault.remove();
    }
  }, 120_000);
});
