/**
 * Issue #19 end to end: the BGP alerts fire in a real Prometheus (test/helpers/prometheus-lab.ts)
 * scraping the BGP labs (BIRD mesh, lab/bird.ts). VXLAN CrossSubnet (node1 and node2 on one subnet,
 * node3 on the other): healthy, neither alert is pending or firing; each fault of lab/bgp-faults.ts
 * that CalicoBgpSessionDown / CalicoRouteWrongForm stand for makes its alert fire on the node holding
 * the wrong state, naming the peer, with the finding's severity; removed, the alert resolves.
 * Without encapsulation (BIRD carries the routes): a session down is critical and its alert fires,
 * while the routes it takes away (route-missing, explained by the session: root="false", #18)
 * raise no CalicoRouteMissing. The rules are the shipped ones with `for:` set to 0s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectBgpFault } from '../../lab/bgp-faults.js';
import { cleanupLeftovers } from '../../lab/cleanup.js';
import { requireLabHost } from '../../lab/preflight.js';
import { startLabProcesses, type LabProcesses } from '../../lab/processes.js';
import { createLab, type Lab, type LabRouting } from '../../lab/topology.js';
import { BGP_ALERT_FAULTS, shippedAlerts, startPrometheus, until, type LabPrometheus } from '../helpers/prometheus-lab.js';

type AlertRow = { alertname: string; alertstate: string; node: string; peer: string; severity: string };

/** A 3-node BGP lab with its agents, aggregator and Prometheus, for one describe block. */
const labWithPrometheus = (routing: LabRouting) => {
  let lab: Lab | undefined;
  let procs: LabProcesses | undefined;
  let prometheus: LabPrometheus | undefined;
  let unhook: (() => void) | undefined;
  beforeAll(async () => {
    await requireLabHost();
    await cleanupLeftovers();
    lab = await createLab({ nodes: 3, routing });
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
  const L = (): Lab => lab ?? (() => { throw new Error('lab not built'); })();
  const P = (): LabPrometheus => prometheus ?? (() => { throw new Error('prometheus not started'); })();
  const alertsNow = async (names: readonly string[]): Promise<AlertRow[]> =>
    (await P().query(`ALERTS{alertname=~"${names.join('|')}"}`)).map((r) => ({
      alertname: r.metric.alertname!,
      alertstate: r.metric.alertstate!,
      node: r.metric.node!,
      peer: r.metric.peer!,
      severity: r.metric.severity!,
    }));
  /** every target up, every node reporting, nothing active for `rules`, no alert of `names` */
  const healthy = async (rules: readonly string[], names: readonly string[]): Promise<void> => {
    await until('4 targets up', 30_000, async () => ((await P().query('up == 1')).length === 4 ? true : undefined));
    await until('every node reporting', 30_000, async () => ((await P().query('sum(calico_diag_nodes{state="reporting"}) == 3')).length > 0 ? true : undefined));
    await until(`no ${rules.join('/')} finding active`, 30_000, async () =>
      (await P().query(`calico_diag_finding_active{rule=~"${rules.join('|')}"}`)).length === 0 ? true : undefined,
    );
    expect(await alertsNow(names)).toEqual([]);
  };
  return { L, P, alertsNow, healthy };
};

const BGP_ALERTS = Object.keys(BGP_ALERT_FAULTS);

describe('BGP alerts in a real Prometheus (BGP CrossSubnet lab)', () => {
  const t = labWithPrometheus({ routing: 'bgp', encapsulation: 'vxlan', crossSubnet: true });

  it('every BGP alert this file fires is shipped', () => {
    expect(BGP_ALERTS.filter((a) => !shippedAlerts.some((s) => s.alert === a))).toEqual([]);
  });

  it('healthy: every target scraped, every session up, no BGP alert', async () => {
    await t.healthy(['bgp-session-down', 'route-wrong-form'], BGP_ALERTS);
  }, 90_000);

  it.each(BGP_ALERTS)('alert %s fires on the node holding the wrong state, naming the peer, with the finding severity; resolves once repaired', async (name) => {
    const rule = shippedAlerts.find((a) => a.alert === name)!;
    const f = BGP_ALERT_FAULTS[name]!;
    const fault = await injectBgpFault(t.L(), f.kind, { node: f.node, peer: f.peer });
    try {
      const series = await until(`${name} expression to return series`, 40_000, async () => {
        const r = await t.P().query(rule.expr);
        return r.some((s) => s.metric.node === f.node) ? r : undefined;
      });
      expect(series.find((s) => s.metric.node === f.node)!.metric).toMatchObject({ node: f.node, peer: f.peer, severity: f.severity });
      const firing = await until(`${name} firing`, 20_000, async () => {
        const r = (await t.alertsNow([name])).filter((a) => a.alertstate === 'firing' && a.node === f.node);
        return r.length > 0 ? r : undefined;
      });
      expect(firing[0]).toMatchObject({ node: f.node, peer: f.peer, severity: f.severity });
    } finally {
      await fault.remove();
    }
    await until(`${name} resolved`, 60_000, async () => ((await t.alertsNow([name])).length > 0 ? undefined : true));
  }, 150_000);
});

describe('BGP alerts in a real Prometheus (BGP without encapsulation)', () => {
  const t = labWithPrometheus({ routing: 'bgp', encapsulation: 'none', crossSubnet: false });

  it('a session down fires CalicoBgpSessionDown (critical) on both ends; the routes it takes away raise no CalicoRouteMissing', async () => {
    const names = ['CalicoBgpSessionDown', 'CalicoRouteMissing'];
    await t.healthy(['bgp-session-down', 'route-missing'], names);
    const fault = await injectBgpFault(t.L(), 'bgp-session-filtered', { node: 'node1', peer: 'node2' });
    try {
      // #18: the missing routes are there, as consequences (root="false") of the session
      await until('route-missing on node1 and node2, explained', 40_000, async () => {
        const r = await t.P().query('calico_diag_finding_active{rule="route-missing",root="false"}');
        return ['node1', 'node2'].every((n) => r.some((s) => s.metric.node === n)) ? r : undefined;
      });
      const firing = await until('CalicoBgpSessionDown firing on both ends', 40_000, async () => {
        const r = (await t.alertsNow(['CalicoBgpSessionDown'])).filter((a) => a.alertstate === 'firing');
        return r.length >= 2 ? r : undefined;
      });
      expect(firing.map((a) => `${a.node}→${a.peer} ${a.severity}`).sort()).toEqual(['node1→node2 critical', 'node2→node1 critical']);
      // evaluated every second: several evaluations after the consequences appeared, still quiet
      for (let i = 0; i < 5; i++) {
        expect((await t.alertsNow(['CalicoRouteMissing'])).filter((a) => a.node === 'node1' || a.node === 'node2')).toEqual([]);
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(await t.P().query('calico_diag_finding_active{rule="route-missing",root="true"}')).toEqual([]);
    } finally {
      await fault.remove();
    }
    await until('CalicoBgpSessionDown resolved', 60_000, async () => ((await t.alertsNow(names)).length > 0 ? undefined : true));
  }, 180_000);
});
