/**
 * The diagnosis shell (IO): resolve both ends through the cluster map, start captures on both
 * agents at once, send the probes from the source node once every tcpdump listens, collect the
 * records when the capture window closes, and hand everything to the pure `analyze()`. Around the
 * probes both agents' DROP/REJECT counters are read (GET /v1/counters: just before the probes and
 * after the capture window) so the analysis can name the rule that dropped them (#18).
 *
 * The aggregator calls each agent with that node's credential (`token(node)`: the shared token, or
 * with node identities the node's own key, aggregator/auth/identity.ts). Every agent call has its own
 * timeout; an agent that fails leaves its hops `not-captured` (the analysis then says
 * inconclusive rather than guessing). Stateless: the history of results is DiagnosisHistory's.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { CaptureRequestInput, CaptureResult, MatchSpec, ProbeResult } from '../../contract/capture.js';
import type { ClusterMap, ClusterNode } from '../../contract/cluster.js';
import type { Diagnosis, DiagnoseRequest } from '../../contract/diagnosis.js';
import type { Finding } from '../../contract/finding.js';
import type { Identity, Mode, Sections } from '../../contract/snapshot.js';
import { analyze, type CaptureView, type ProbeView, type SideInput } from './analyze.js';
import { pathForm, type PathForm } from './path.js';
import { resolveEndpoint } from './resolve.js';
import { namePolicies, ruleHits } from './rule-hits.js';
import { felixPolicyChain, type PolicyIndex } from './policy-names.js';
import { RuleCounters } from '../../contract/counters.js';
import type { RuleHit } from '../../contract/diagnosis.js';

export interface AgentView {
  agentUrl?: string | undefined;
  identity: Identity;
  mode: Mode;
  /** the latest report's routes: whether the path to the target is tunnelled or direct */
  sections?: Partial<Pick<Sections, 'routes'>> | undefined;
}

export interface DiagnoseDeps {
  clusterMap: () => ClusterMap;
  findings: () => readonly Finding[];
  /** the latest report's identity, mode and agent URL of a node */
  agent: (node: string) => AgentView | null;
  /** the credential to present to a node's agent */
  token: (node: string) => string;
  /** who asked for this diagnosis, passed to the agents for their logs */
  requestedBy?: string;
  now: () => number;
  logger: Logger;
  /**
   * the datastore's policies as a chain-name index (aggregator/k8s/policies.ts): names the policy
   * behind a hashed policy chain in the rule hits (#18); absent or undefined: not named
   */
  policies?: () => Promise<PolicyIndex | undefined>;
  fetch?: typeof fetch;
  newId?: () => string;
  sleep?: (ms: number) => Promise<void>;
  /**
   * the least time any call to an agent may take (default: each call's own bound, 2-10 s): slow nodes
   * (an overloaded host, a user-mode kernel, #19) answer in seconds; the capture collection and the
   * first counter read wait as long
   */
  agentCallTimeoutMs?: number;
}

export type DiagnoseOutcome = { ok: true; diagnosis: Diagnosis } | { ok: false; status: 400 | 404 | 409; code: string; message: string };

export const DEFAULT_CAPTURE_SECONDS = 4;
export const DEFAULT_PROBES = 3;
const PROBE_INTERVAL_MS = 200;
/** how long the probes wait for the first counter read once the captures listen */
const COUNTERS_WAIT_MS = 1500;
/** how long the rule hits wait for the datastore policies past the capture window (read since the start) */
const POLICY_WAIT_MS = 300;

type CallResult<T> = { ok: true; status: number; body: T } | { ok: false; message: string };

const call = async <T>(deps: DiagnoseDeps, node: string, base: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<CallResult<T>> => {
  const f = deps.fetch ?? fetch;
  try {
    const res = await f(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${deps.token(node)}`, ...(deps.requestedBy ? { 'x-calico-diag-requested-by': deps.requestedBy } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(Math.max(timeoutMs, deps.agentCallTimeoutMs ?? 0)),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    if (res.status >= 400) {
      const m = (parsed as { code?: string; message?: string } | null) ?? {};
      return { ok: false, message: `${method} ${path} → ${res.status} ${m.code ?? ''} ${m.message ?? ''}`.trim() };
    }
    return { ok: true, status: res.status, body: parsed as T };
  } catch (err) {
    return { ok: false, message: `${method} ${path}: ${(err as Error).message}` };
  }
};

interface Plan {
  node: ClusterNode;
  url: string | null;
  uplink: string | null;
  tunnel: string | null;
  workload: string | null;
  request: CaptureRequestInput | null;
}

const isV6 = (ip: string) => ip.includes(':');

const plan = (node: ClusterNode, view: AgentView | null, peer: ClusterNode, ips: string[], v6: boolean, workloadIp: string | null, durationSeconds: number, path: PathForm): Plan => {
  const family = v6 ? 'inet6' : 'inet';
  // a direct path (no encapsulation between the pair) crosses no tunnel device: none is captured
  const tunnel = path === 'direct' ? null : (view?.identity.tunnels.find((t) => t.family === family && t.kind !== 'wireguard') ?? null);
  const uplink = view?.identity.uplinks[0]?.name ?? null;
  const workload = workloadIp ? (view?.identity.workloads.find((w) => w.ip === workloadIp)?.dev ?? node.workloads.find((w) => w.ip === workloadIp)?.dev ?? null) : null;
  const enc = view?.mode.encapsulation ?? node.mode.encapsulation;
  // A tunnel device the node's mode needs but its snapshot lacks is still asked for by Calico's
  // name: the agent reports it missing, which is that hop's evidence (#18). A direct path (no
  // encapsulation between the pair) crosses no tunnel device: none is captured.
  const tunnelDevice = path === 'direct' ? null : (tunnel?.device ?? (enc === 'vxlan' ? (v6 ? 'vxlan-v6.calico' : 'vxlan.calico') : enc === 'ipip' && !v6 ? 'tunl0' : null));
  const interfaces = [uplink, tunnelDevice, workload].filter((x): x is string => x !== null);
  const match: MatchSpec[] = [{ kind: 'icmp' }];
  if (path === 'direct') {
    // plain packets only: the icmp match above
  } else if (tunnel?.kind === 'ipip' || enc === 'ipip') match.push({ kind: 'ipip' });
  else match.push({ kind: 'vxlan', port: tunnel?.port ?? 4789 });
  // every underlay address of the peer (its node IPs and tunnel source): packets it encapsulates
  // from an unexpected one must be captured to be named (#18)
  const peerIps = peer.nodeIPs.filter((ip) => isV6(ip) === v6);
  const peers = [...new Set([...(peerIps.length > 0 ? peerIps : peer.nodeIPs.slice(0, 1)), ...ips])];
  return {
    node,
    url: view?.agentUrl ?? null,
    uplink,
    tunnel: tunnelDevice,
    workload,
    request: interfaces.length > 0 ? { interfaces, peers, match, durationSeconds, maxPackets: 2000 } : null,
  };
};

/**
 * The analysis' view of one device: its records when it was captured; its failure and snapshot
 * state when not; `notReady` when its tcpdump had not confirmed listening when the probes left.
 */
const view = (result: CaptureResult | null, error: string | null, device: string | null, notReady: ReadonlySet<string>): CaptureView | null => {
  if (device === null) return null;
  const dev = result?.devices?.find((d) => d.interface === device);
  if (dev?.status === 'failed')
    return {
      device,
      ok: false,
      records: [],
      error: dev.error?.message ?? 'capture failed',
      ...(dev.state ? { state: dev.state } : {}),
      ...(dev.renamedTo !== undefined ? { renamedTo: dev.renamedTo } : {}),
      ...(dev.snapshotAt !== undefined ? { snapshotAt: dev.snapshotAt } : {}),
    };
  if (!result || result.status !== 'done') return { device, ok: false, records: [], error: error ?? result?.error?.message ?? 'capture did not finish' };
  return { device, ok: true, records: (result.records ?? []).filter((r) => r.interface === device), ...(notReady.has(device) ? { notReady: true } : {}) };
};

/**
 * How long to wait for every capture to listen before the probes go: the capture window less the
 * probes' own time and a second for the last records, at least 1.5 s (slow nodes: user-mode
 * kernels take seconds to start tcpdump). Devices still not listening then are reported not-ready.
 */
export const listenBudgetMs = (durationSeconds: number, count: number): number => Math.max(1500, durationSeconds * 1000 - count * PROBE_INTERVAL_MS - 1000);

export const runDiagnosis = async (req: DiagnoseRequest, deps: DiagnoseDeps): Promise<DiagnoseOutcome> => {
  const started = deps.now();
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const map = deps.clusterMap();
  const to = resolveEndpoint(req.to, map);
  if (!to.ok) return { ok: false, status: to.status, code: to.status === 404 ? 'UNKNOWN_ENDPOINT' : 'BAD_ENDPOINT', message: `to: ${to.message}` };
  const v6 = isV6(to.endpoint.ip);
  const from = resolveEndpoint(req.from, map, v6);
  if (!from.ok) return { ok: false, status: from.status, code: from.status === 404 ? 'UNKNOWN_ENDPOINT' : 'BAD_ENDPOINT', message: `from: ${from.message}` };
  if (from.node.node === to.node.node) return { ok: false, status: 400, code: 'SAME_NODE', message: `both ends are on ${to.node.node}: a diagnosis needs two nodes` };
  const srcView = deps.agent(from.node.node);
  const dstView = deps.agent(to.node.node);
  if (!srcView?.agentUrl) return { ok: false, status: 409, code: 'AGENT_URL_UNKNOWN', message: `${from.node.node} has not reported an agent URL` };

  const warnings: string[] = [];
  const durationSeconds = req.durationSeconds ?? DEFAULT_CAPTURE_SECONDS;
  const count = req.count ?? DEFAULT_PROBES;
  // From a node the probe leaves from its tunnel IP (a node without one — BGP without encapsulation —
  // from its node IP); from a pod from the pod's own namespace (#18), falling back to the node's
  // address when the agent cannot enter it.
  const srcTunnel = srcView.identity.tunnels.find((t) => t.family === (v6 ? 'inet6' : 'inet') && t.ip)?.ip ?? null;
  const srcNodeIp = from.node.nodeIPs.find((ip) => isV6(ip) === v6) ?? null;
  const probeSource: 'tunnel' | 'node' = srcTunnel ? 'tunnel' : 'node';
  const fromPod = from.endpoint.kind === 'pod' ? from.endpoint.ip : null;
  const path = pathForm(srcView, to.endpoint.ip);
  const probeIps = [to.endpoint.ip, ...(srcTunnel ? [srcTunnel] : srcNodeIp ? [srcNodeIp] : []), ...(fromPod ? [fromPod] : [])];
  const src = plan(from.node, srcView, to.node, probeIps, v6, fromPod, durationSeconds, path.form);
  const dst = plan(to.node, dstView, from.node, probeIps, v6, to.endpoint.kind === 'pod' ? to.endpoint.ip : null, durationSeconds, path.form);
  if (!dst.url) warnings.push(`${to.node.node} has not reported an agent URL: its hops are not captured`);
  const log = deps.logger.child({ component: 'diagnose' });
  // read while the captures run: the policy index is ready when the counters name a policy chain
  const policyIndex = deps.policies ? deps.policies().catch((err: unknown) => (log.warn({ err }, 'datastore policies unreadable'), undefined)) : undefined;
  // Findings seen at any point of the window: a "rising" counter finding may come and go within it.
  const seenFindings = new Map<string, Finding>();
  const sampleFindings = () => {
    for (const f of deps.findings()) if (f.node === from.node.node || f.node === to.node.node) seenFindings.set(f.id, f);
  };
  sampleFindings();
  const id = deps.newId?.() ?? `diag-${randomBytes(5).toString('hex')}`;
  log.info({ diagnosis: { id, from: from.endpoint, to: to.endpoint } }, 'diagnosis started');

  // 0. rule counters on both nodes before the probes (#18)
  const readCounters = async (p: Plan): Promise<RuleCounters | null> => {
    if (!p.url) return null;
    const r = await call<unknown>(deps, p.node.node, p.url, 'GET', '/v1/counters', undefined, 10_000);
    if (!r.ok) {
      warnings.push(`${p.node.node}: rule counters not read: ${r.message}`);
      return null;
    }
    const parsed = RuleCounters.safeParse(r.body);
    if (!parsed.success) {
      warnings.push(`${p.node.node}: rule counters not read: the agent's answer is not a counters document`);
      return null;
    }
    if (parsed.data.status !== 'ok') warnings.push(`${p.node.node}: rule counters unavailable: ${parsed.data.reason ?? 'unknown'}`);
    return parsed.data;
  };
  // read while the captures start (an iptables-save can take seconds on a big node: the capture
  // window must not close before the probes); awaited, bounded, just before the probes
  const countersBeforeP = Promise.all([readCounters(src), readCounters(dst)]);

  // 1. captures on both nodes at once
  const startCapture = async (p: Plan): Promise<{ id: string | null; error: string | null }> => {
    if (!p.url || !p.request) return { id: null, error: p.url ? 'no interface to capture on' : 'agent URL unknown' };
    const r = await call<{ id: string }>(deps, p.node.node, p.url, 'POST', '/v1/captures', p.request, 3000);
    if (!r.ok) {
      warnings.push(`${p.node.node}: capture not started: ${r.message}`);
      return { id: null, error: r.message };
    }
    return { id: r.body.id, error: null };
  };
  const [srcCap, dstCap] = await Promise.all([startCapture(src), startCapture(dst)]);
  const capturesStartedAt = deps.now();

  // 2. wait until every device's tcpdump listens or has failed (bounded); the ones still starting
  //    when the budget is spent are not-ready: their hops are never read as a gap (#18)
  const budgetMs = listenBudgetMs(durationSeconds, count);
  const listening = async (p: Plan, capId: string | null): Promise<Set<string>> => {
    if (!capId || !p.url) return new Set();
    const until = deps.now() + budgetMs;
    let starting: string[];
    for (;;) {
      const r = await call<{ listening?: boolean; status: string; devices?: Array<{ interface: string; status: string }> }>(deps, p.node.node, p.url, 'GET', `/v1/captures/${capId}`, undefined, 2000);
      if (!r.ok || r.body.listening || r.body.status !== 'running') return new Set();
      starting = (r.body.devices ?? []).filter((d) => d.status === 'starting').map((d) => d.interface);
      if (deps.now() >= until) break;
      await sleep(100);
    }
    warnings.push(`${p.node.node}: capture on ${starting.join(', ') || 'its devices'} did not confirm it was listening within ${budgetMs} ms; probes sent anyway`);
    return new Set(starting);
  };
  const [srcNotReady, dstNotReady] = await Promise.all([listening(src, srcCap.id), listening(dst, dstCap.id)]);

  let countersRead = false;
  // slow nodes (agentCallTimeoutMs) may take longer to read them, but never so long that the probes
  // would miss the capture window
  const countersWaitMs =
    deps.agentCallTimeoutMs === undefined
      ? COUNTERS_WAIT_MS
      : Math.max(0, Math.min(Math.max(COUNTERS_WAIT_MS, deps.agentCallTimeoutMs), durationSeconds * 1000 - (deps.now() - capturesStartedAt) - count * PROBE_INTERVAL_MS - 2000));
  const countersBefore = await Promise.race([
    countersBeforeP.then((c) => {
      countersRead = true;
      return c;
    }),
    sleep(countersWaitMs).then(() => {
      if (!countersRead) warnings.push(`rule counters not read within ${countersWaitMs} ms of the captures listening: no rule is named`);
      return [null, null] as const;
    }),
  ]);

  // 3. probes from the source node
  const probeId = randomInt(1, 65536);
  const sendProbe = (pod: string | null) =>
    call<ProbeResult>(
      deps,
      from.node.node,
      srcView.agentUrl as string,
      'POST',
      '/v1/probes',
      { target: to.endpoint.ip, source: probeSource, count, intervalMs: PROBE_INTERVAL_MS, id: probeId, ...(pod ? { pod } : {}), ...(req.size ? { size: req.size } : {}) },
      count * PROBE_INTERVAL_MS + 5000,
    );
  let pr = await sendProbe(fromPod);
  if (!pr.ok && fromPod && /PROBE_SOURCE_INVALID/.test(pr.message)) {
    warnings.push(`probes are sent from ${from.node.node}'s ${probeSource} IP, not from the pod ${fromPod}: ${pr.message}`);
    pr = await sendProbe(null);
  }
  let probe: ProbeView | null = null;
  if (pr.ok) {
    probe = { id: pr.body.id, source: pr.body.source, target: pr.body.target, sent: pr.body.sent, received: pr.body.received, ...(pr.body.error ? { error: pr.body.error } : {}), ...(req.size ? { size: req.size } : {}) };
  } else {
    warnings.push(`probe failed: ${pr.message}`);
    // The source agent probes only addresses its own routes cover (#16): refusing a pod of a peer's
    // block means no Calico route there covers it, the packets would follow the default route. That
    // is the gap itself (e.g. BGP without encapsulation after the session went down, #19).
    if (pr.message.includes('PROBE_TARGET_OUTSIDE_CLUSTER')) {
      probe = {
        id: probeId,
        source: srcTunnel ?? srcNodeIp ?? '',
        target: to.endpoint.ip,
        sent: 0,
        received: 0,
        error: `${from.node.node} has no route covering ${to.endpoint.ip}: its agent refused to probe it`,
      };
    }
  }
  sampleFindings();

  // 4. collect when the capture window closes
  const collect = async (p: Plan, capId: string | null, error: string | null): Promise<{ result: CaptureResult | null; error: string | null }> => {
    if (!capId || !p.url) return { result: null, error };
    const deadline = started + durationSeconds * 1000 + Math.max(6000, 2 * (deps.agentCallTimeoutMs ?? 0));
    for (;;) {
      const r = await call<CaptureResult>(deps, p.node.node, p.url, 'GET', `/v1/captures/${capId}`, undefined, 2000);
      if (!r.ok) return { result: null, error: r.message };
      if (r.body.status !== 'running') {
        if (r.body.status === 'failed') warnings.push(`${p.node.node}: capture failed: ${r.body.error?.message ?? 'unknown'}`);
        return { result: r.body, error: r.body.error?.message ?? null };
      }
      if (deps.now() > deadline) return { result: null, error: 'capture did not finish in time' };
      sampleFindings();
      await sleep(150);
    }
  };
  const [srcRes, dstRes] = await Promise.all([collect(src, srcCap.id, srcCap.error), collect(dst, dstCap.id, dstCap.error)]);
  for (const r of [srcRes.result, dstRes.result]) for (const w of r?.warnings ?? []) warnings.push(`${r?.node}: ${w}`);

  // 4b. the counters again: the rules that rose by at least the probes lost dropped them
  const countersAfter = await Promise.all([countersBefore[0] ? readCounters(src) : null, countersBefore[1] ? readCounters(dst) : null]);
  const lost = probe ? probe.sent - probe.received : 0;
  let hits: RuleHit[] | undefined;
  for (const i of [0, 1] as const) {
    const b = countersBefore[i];
    const a = countersAfter[i];
    if (!b || !a) continue;
    hits = [...(hits ?? []), ...ruleHits(b, a, lost)];
  }
  if (hits && policyIndex && hits.some((h) => felixPolicyChain(h.chain))) {
    const index = await Promise.race([policyIndex, sleep(POLICY_WAIT_MS).then(() => undefined)]);
    if (index) hits = namePolicies(hits, index);
    else warnings.push('the datastore policies were not readable in time: policy chains are named from rule comments and chain names only');
  }

  sampleFindings();
  const all = [...seenFindings.values()];
  const side = (p: Plan, res: { result: CaptureResult | null; error: string | null }, notReady: ReadonlySet<string>, v: AgentView | null): SideInput => ({
    node: p.node,
    uplinkMtu: v?.identity.uplinks[0]?.mtu ?? null,
    findings: all.filter((f) => f.node === p.node.node),
    uplink: view(res.result, res.error, p.uplink, notReady),
    tunnel: view(res.result, res.error, p.tunnel, notReady),
    ...(p.workload ? { workload: view(res.result, res.error, p.workload, notReady) } : {}),
    ...(res.result?.drops ? { drops: res.result.drops } : {}),
  });
  const diagnosis = analyze({
    id,
    at: new Date(started).toISOString(),
    from: from.endpoint,
    to: to.endpoint,
    probe,
    source: side(src, srcRes, srcNotReady, srcView),
    destination: side(dst, dstRes, dstNotReady, dstView),
    warnings,
    path: path.form,
    ...(hits ? { ruleHits: hits } : {}),
  });
  diagnosis.durationMs = deps.now() - started;
  log.info({ diagnosis: { id, verdict: diagnosis.verdict, gap: diagnosis.gap ?? null, durationMs: diagnosis.durationMs } }, 'diagnosis done');
  return { ok: true, diagnosis };
};

/**
 * Bounded history of diagnoses for GET /v1/diagnoses/:id. Design: insertion-ordered Map; adding
 * beyond `max` drops the oldest. Single-threaded, no locking. It also holds the one-at-a-time
 * slot: agents capture one job at a time, so two overlapping diagnoses would only spoil each other.
 */
export class DiagnosisHistory {
  private readonly items = new Map<string, Diagnosis>();
  private running = false;
  constructor(private readonly max = 50) {}

  tryBegin(): boolean {
    if (this.running) return false;
    this.running = true;
    return true;
  }
  end(): void {
    this.running = false;
  }
  add(d: Diagnosis): void {
    this.items.set(d.id, d);
    while (this.items.size > this.max) {
      const oldest = this.items.keys().next().value as string;
      this.items.delete(oldest);
    }
  }
  get(id: string): Diagnosis | undefined {
    return this.items.get(id);
  }
  list(): Diagnosis[] {
    return [...this.items.values()].reverse();
  }
}
