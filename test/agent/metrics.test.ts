import perfHooks from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { createAgentMetrics, EVENT_LOOP_SAMPLE_MS, isBoundedChain } from '../../agent/metrics.js';
import { sampleFinding, sampleSnapshot } from './snapshot-sample.js';

const fresh = () => createAgentMetrics(new Registry(), { defaultMetrics: false });

// issue #2
describe('agent metrics', () => {
  it('exports collector runs and durations with the unavailable reason as outcome', async () => {
    const m = fresh();
    m.observeSnapshot(sampleSnapshot());
    const text = await m.registry.metrics();
    expect(text).toContain('calico_diag_agent_collector_runs_total{collector="links",outcome="ok"} 1');
    expect(text).toContain('calico_diag_agent_collector_runs_total{collector="felix",outcome="unreachable"} 1');
    expect(text).toContain('calico_diag_agent_collector_runs_total{collector="sysctls",outcome="permission-denied"} 1');
    expect(text).toContain('calico_diag_agent_collector_duration_seconds_count{collector="iptables"} 1');
    expect(text).toContain('calico_diag_agent_collector_duration_seconds_sum{collector="iptables"} 0.03');
    expect(text).toContain(`calico_diag_agent_snapshot_timestamp_seconds ${Date.parse('2026-11-21T12:00:00.000Z') / 1000}`);
  });

  it('exports interface errors for tunnel and uplink devices only', async () => {
    const m = fresh();
    m.observeSnapshot(sampleSnapshot());
    const text = await m.registry.metrics();
    expect(text).toContain('calico_diag_agent_interface_errors{device="vxlan.calico",direction="rx",kind="errors"} 5');
    expect(text).toContain('calico_diag_agent_interface_errors{device="vxlan.calico",direction="tx",kind="dropped"} 8');
    expect(text).toContain('calico_diag_agent_interface_errors{device="eth0",direction="rx",kind="dropped"} 2');
    expect(text).not.toContain('device="cali12345"');
    expect(text).not.toContain('device="lo"');
  });

  it('sums drop packets per bounded chain, leaving out per-workload chains', async () => {
    const m = fresh();
    m.observeSnapshot(sampleSnapshot({ drops: 7 }));
    let text = await m.registry.metrics();
    expect(text).toContain('calico_diag_agent_iptables_drop_packets{family="ipv4",table="filter",chain="cali-INPUT"} 10');
    expect(text).toContain('calico_diag_agent_iptables_drop_packets{family="ipv4",table="filter",chain="FORWARD"} 2');
    expect(text).not.toContain('cali-tw-');
    m.observeSnapshot(sampleSnapshot({ drops: 17 }));
    text = await m.registry.metrics();
    expect(text).toContain('chain="cali-INPUT"} 20');
    expect(text).toContain('calico_diag_agent_collector_runs_total{collector="links",outcome="ok"} 2');
  });

  it('exports the sums of the section observed, also when an earlier section object is observed again', async () => {
    // #17: the daemon observes the same iptables section on every second snapshot
    const m = fresh();
    const seven = sampleSnapshot({ drops: 7 });
    m.observeSnapshot(seven);
    m.observeSnapshot(seven);
    expect(await m.registry.metrics()).toContain('chain="cali-INPUT"} 10');
    m.observeSnapshot(sampleSnapshot({ drops: 17 }));
    expect(await m.registry.metrics()).toContain('chain="cali-INPUT"} 20');
    m.observeSnapshot(seven);
    expect(await m.registry.metrics()).toContain('chain="cali-INPUT"} 10');
  });

  it('classifies chains', () => {
    for (const c of ['INPUT', 'FORWARD', 'cali-INPUT', 'cali-FORWARD', 'cali-from-wl-dispatch', 'cali-wl-to-host']) expect(isBoundedChain(c)).toBe(true);
    for (const c of ['cali-tw-cali123', 'cali-fw-cali123', 'cali-pi-_abc', 'cali-po-_abc', 'cali-pri-kns.default', 'cali-pro-x', 'cali-sm-x', 'KUBE-SERVICES', 'my-chain'])
      expect(isBoundedChain(c)).toBe(false);
  });

  // #15
  it("classifies the nftables dataplane's chains like their iptables names", () => {
    for (const c of ['filter-INPUT', 'filter-FORWARD', 'filter-cali-INPUT', 'raw-cali-PREROUTING', 'filter-cali-from-wl-dispatch']) expect(isBoundedChain(c), c).toBe(true);
    for (const c of ['filter-cali-tw-cali123', 'filter-cali-fw-cali123', 'filter-cali-pri-kns.default', 'filter-cali-pi-_abc']) expect(isBoundedChain(c), c).toBe(false);
  });

  it('counts findings per rule and severity and forgets resolved ones', async () => {
    const m = fresh();
    m.setFindings([sampleFinding('tunnel-mtu', 'warning'), { ...sampleFinding('tunnel-mtu', 'warning'), id: 'other' }, sampleFinding('tunnel-down', 'critical')]);
    let text = await m.registry.metrics();
    expect(text).toContain('calico_diag_agent_findings{rule="tunnel-mtu",severity="warning"} 2');
    expect(text).toContain('calico_diag_agent_findings{rule="tunnel-down",severity="critical"} 1');
    m.setFindings([]);
    text = await m.registry.metrics();
    expect(text).not.toContain('rule="tunnel-mtu"');
  });

  it('counts pushes by outcome, every outcome present from the start', async () => {
    const m = fresh();
    m.countPush('accepted');
    const text = await m.registry.metrics();
    expect(text).toContain('calico_diag_agent_report_pushes_total{outcome="accepted"} 1');
    expect(text).toContain('calico_diag_agent_report_pushes_total{outcome="unreachable"} 0');
  });

  it('registers default process metrics on the given registry, not the global one', async () => {
    const r = new Registry();
    createAgentMetrics(r);
    expect(await r.metrics()).toContain('process_cpu_user_seconds_total');
  });

  // #17: prom-client's default 10 ms sampling timer cost an idle agent ~0.3 % of a core
  it('samples the event-loop delay once a second and still exports the lag metrics', async () => {
    const spy = vi.spyOn(perfHooks, 'monitorEventLoopDelay');
    try {
      const r = new Registry();
      createAgentMetrics(r);
      expect(spy).toHaveBeenCalledWith({ resolution: EVENT_LOOP_SAMPLE_MS });
      expect(EVENT_LOOP_SAMPLE_MS).toBe(1000);
      const text = await r.metrics();
      expect(text).toContain('nodejs_eventloop_lag_max_seconds');
      expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
    } finally {
      spy.mockRestore();
    }
  });
});
