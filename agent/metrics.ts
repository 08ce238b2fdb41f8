/**
 * The agent's Prometheus metrics, registered on a registry passed in (never the global default).
 *
 * Labels come from small fixed sets only (house rule 7): collector names, unavailable reasons,
 * rule ids and severities, tunnel/uplink device names, builtin and Felix top-level iptables chains.
 * Per-workload and per-policy chains (cali-tw-*, cali-fw-*, cali-pi-*, …) and cali* workload devices
 * are left out on purpose: they grow with pods and policies.
 *
 * Design/concurrency: the gauges that describe "the latest snapshot" are reset and re-set on each
 * snapshot, so a device or chain that disappeared stops being exported. Called from the one
 * snapshot loop; prom-client collects synchronously on scrape.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { collectProcessMetrics, safeLabel } from '../common/metrics.js';
import { perObject } from '../common/memo.js';
import type { Finding } from '../contract/finding.js';
import { SECTION_NAMES, type IptablesDropRule, type Snapshot } from '../contract/snapshot.js';

export const PUSH_OUTCOMES = ['accepted', 'sections-required', 'rejected', 'server-error', 'unreachable', 'timeout'] as const;
export type PushOutcome = (typeof PUSH_OUTCOMES)[number];

const BUILTIN_CHAINS = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);
/** Felix chains created per workload endpoint, host endpoint, policy or profile: unbounded. */
const PER_OBJECT_CALI_PREFIXES = ['cali-tw-', 'cali-fw-', 'cali-pri-', 'cali-pro-', 'cali-pi-', 'cali-po-', 'cali-th-', 'cali-fh-', 'cali-thfw-', 'cali-fhfw-', 'cali-sm-'];

/**
 * True for chains whose drop counters are exported: builtin chains and Felix's fixed cali-* chains.
 * Calico's nftables dataplane names the same chains with their iptables table in front
 * (`filter-INPUT`, `filter-cali-INPUT`, `filter-cali-tw-…`): judged without that prefix.
 */
export const isBoundedChain = (name: string): boolean => {
  const chain = name.replace(/^(filter|nat|mangle|raw)-/, '');
  return BUILTIN_CHAINS.has(chain) || (chain.startsWith('cali-') && !PER_OBJECT_CALI_PREFIXES.some((p) => chain.startsWith(p)));
};

type DropSum = { family: string; table: string; chain: string; packets: number };

/**
 * DROP/REJECT packets summed per bounded chain, computed once per section object (#17: the daemon
 * reuses the iptables section every second snapshot; a big node's has ~17k rules).
 */
const dropSums = perObject((rules: readonly IptablesDropRule[]): DropSum[] => {
  const sums = new Map<string, DropSum>();
  for (const r of rules) {
    if (!isBoundedChain(r.chain)) continue;
    const key = `${r.family}\0${r.table}\0${r.chain}`;
    const cur = sums.get(key) ?? { family: r.family, table: r.table, chain: r.chain, packets: 0 };
    cur.packets += r.packets;
    sums.set(key, cur);
  }
  return [...sums.values()];
});

/**
 * The agent samples its event-loop delay once a second, not every 10 ms (prom-client's default):
 * that timer alone cost an idle agent ~0.3 % of a core (#17 goal 2, bench/results-agent.md). A
 * blocked loop (a big node's dump being parsed) still shows in full: the sample due meanwhile
 * waits for it and records the whole delay.
 */
export const EVENT_LOOP_SAMPLE_MS = 1000;

export interface AgentMetrics {
  registry: Registry;
  observeSnapshot(snapshot: Snapshot): void;
  setFindings(findings: readonly Finding[]): void;
  countPush(outcome: PushOutcome): void;
}

export const createAgentMetrics = (registry: Registry, opts: { defaultMetrics?: boolean } = {}): AgentMetrics => {
  if (opts.defaultMetrics !== false) collectProcessMetrics(registry, '', { eventLoopSampleMs: EVENT_LOOP_SAMPLE_MS });
  const duration = new Histogram({
    name: 'calico_diag_agent_collector_duration_seconds',
    help: 'How long each collector took, per snapshot.',
    labelNames: ['collector'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const runs = new Counter({
    name: 'calico_diag_agent_collector_runs_total',
    help: 'Collector runs by outcome: ok, or the unavailable reason.',
    labelNames: ['collector', 'outcome'] as const,
    registers: [registry],
  });
  const findings = new Gauge({
    name: 'calico_diag_agent_findings',
    help: 'Local findings of the latest snapshot, by rule and severity.',
    labelNames: ['rule', 'severity'] as const,
    registers: [registry],
  });
  const ifErrors = new Gauge({
    name: 'calico_diag_agent_interface_errors',
    help: 'Interface error and drop counters of the tunnel and uplink devices, from the latest snapshot.',
    labelNames: ['device', 'direction', 'kind'] as const,
    registers: [registry],
  });
  const drops = new Gauge({
    name: 'calico_diag_agent_iptables_drop_packets',
    help: 'Packets counted by DROP/REJECT rules, summed per chain (builtin and fixed cali-* chains only).',
    labelNames: ['family', 'table', 'chain'] as const,
    registers: [registry],
  });
  const timestamp = new Gauge({
    name: 'calico_diag_agent_snapshot_timestamp_seconds',
    help: 'When the latest snapshot was taken (Unix seconds).',
    registers: [registry],
  });
  const pushes = new Counter({
    name: 'calico_diag_agent_report_pushes_total',
    help: 'Report pushes to the aggregator, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const o of PUSH_OUTCOMES) pushes.inc({ outcome: o }, 0);

  return {
    registry,
    observeSnapshot: (s) => {
      for (const name of SECTION_NAMES) {
        const section = s.sections[name];
        runs.inc({ collector: name, outcome: section.status === 'ok' ? 'ok' : section.reason });
        const ms = s.timings[name];
        if (ms !== undefined) duration.observe({ collector: name }, ms / 1000);
      }
      timestamp.set(Date.parse(s.takenAt) / 1000);

      ifErrors.reset();
      if (s.sections.links.status === 'ok') {
        const watched = new Set([...s.identity.tunnels.map((t) => t.device), ...s.identity.uplinks.map((u) => u.name)]);
        for (const link of s.sections.links.data) {
          if (!watched.has(link.name) || !link.stats) continue;
          const st = link.stats;
          ifErrors.set({ device: safeLabel(link.name), direction: 'rx', kind: 'errors' }, st.rxErrors);
          ifErrors.set({ device: safeLabel(link.name), direction: 'rx', kind: 'dropped' }, st.rxDropped);
          ifErrors.set({ device: safeLabel(link.name), direction: 'tx', kind: 'errors' }, st.txErrors);
          ifErrors.set({ device: safeLabel(link.name), direction: 'tx', kind: 'dropped' }, st.txDropped);
        }
      }

      drops.reset();
      if (s.sections.iptables.status === 'ok') {
        for (const v of dropSums(s.sections.iptables.data.dropRules)) drops.set({ family: v.family, table: safeLabel(v.table), chain: safeLabel(v.chain) }, v.packets);
      }
    },
    setFindings: (list) => {
      findings.reset();
      const counts = new Map<string, { rule: string; severity: string; n: number }>();
      for (const f of list) {
        const key = `${f.rule}\0${f.severity}`;
        const cur = counts.get(key) ?? { rule: f.rule, severity: f.severity, n: 0 };
        cur.n++;
        counts.set(key, cur);
      }
      for (const c of counts.values()) findings.set({ rule: c.rule, severity: c.severity }, c.n);
    },
    countPush: (outcome) => pushes.inc({ outcome }),
  };
};
