/**
 * Two-node diagnosis on the wire (aggregator: POST /v1/diagnose, GET /v1/diagnoses/:id).
 *
 * A diagnosis sends ICMP echo probes from one node to a pod or node, captures on both nodes at
 * once, and walks the hop table below to find the first hop where the probes vanish.
 */
import { z } from 'zod';
import { DropReasons } from './capture.js';
import { Finding, RuleId } from './finding.js';

export const DiagnoseRequest = z
  .object({
    /** pod IP, node name or node IP (resolved through the cluster map) */
    from: z.string().min(1).max(253),
    to: z.string().min(1).max(253),
    /** probes to send (default 3) */
    count: z.number().int().min(1).max(20).optional(),
    /** capture window in seconds (default 4) */
    durationSeconds: z.number().int().min(2).max(30).optional(),
    /** probe payload bytes, sent with don't-fragment (default: ping's 56, fragmentable) */
    size: z.number().int().min(16).max(8952).optional(),
  })
  .strict();
export type DiagnoseRequest = z.infer<typeof DiagnoseRequest>;

/**
 * The hops, in path order. Forward: the echo request from the source to the target; return: the
 * echo reply. The destination workload hops exist only when the target is a pod, the source ones
 * only when the probe left from a pod (its own namespace); `source-received` is ping on the
 * source counting the reply (the reply reached the socket).
 */
export const HOPS = [
  'source-workload-out',
  'source-tunnel-out',
  'source-uplink-out',
  'destination-uplink-in',
  'destination-tunnel-in',
  'destination-workload-in',
  'destination-workload-out',
  'destination-tunnel-out',
  'destination-uplink-out',
  'source-uplink-in',
  'source-tunnel-in',
  'source-workload-in',
  'source-received',
] as const;
export const Hop = z.enum(HOPS);
export type Hop = z.infer<typeof Hop>;

export const Direction = z.enum(['forward', 'return']);
export type Direction = z.infer<typeof Direction>;

/**
 * A DROP/REJECT rule whose packet counter rose by at least the lost probes while the diagnosis ran
 * (#18): read from both agents (GET /v1/counters) just before the probes and after the capture.
 */
export const RuleHit = z.object({
  node: z.string(),
  family: z.enum(['ipv4', 'ipv6']),
  table: z.string(),
  chain: z.string(),
  /** 1-based position in its chain at the second read */
  index: z.number().int(),
  target: z.string(),
  /** Felix's `cali:` rule id, when the rule has one */
  caliId: z.string().nullable(),
  comments: z.array(z.string()),
  /** the rule as iptables-save printed it */
  rule: z.string(),
  /** packets the rule counted between the two reads */
  packets: z.number().int(),
  /**
   * for Calico policy chains (cali-pi-/cali-po-, profiles cali-pri-/cali-pro-): the policy's name
   * and where it came from. Felix names the chain after the policy when the name fits the
   * 28-character chain name limit and after a hash of it otherwise (`_` + hash): then the name comes
   * from the datastore (the aggregator computes every listed policy's chain names as Felix does;
   * with `kind`, `namespace` and `tier`) or a rule comment, else `name` is null.
   */
  policy: z
    .object({
      name: z.string().nullable(),
      source: z.enum(['chain-name', 'comment', 'datastore', 'unknown']),
      direction: z.enum(['ingress', 'egress']),
      kind: z.enum(['NetworkPolicy', 'GlobalNetworkPolicy', 'KubernetesNetworkPolicy', 'Profile']).optional(),
      namespace: z.string().optional(),
      tier: z.string().optional(),
    })
    .optional(),
});
export type RuleHit = z.infer<typeof RuleHit>;

export const HopObservation = z.object({
  hop: Hop,
  direction: Direction,
  node: z.string(),
  /** the device captured for this hop (null for source-received) */
  device: z.string().nullable(),
  /**
   * seen: probes observed; missing: captured but no probe, or the device is down/missing (no packet
   * can pass it); not-captured: the capture failed/absent; not-ready: the device's capture was not
   * yet listening when the probes were sent (never read as a gap)
   */
  status: z.enum(['seen', 'missing', 'not-captured', 'not-ready']),
  /** the device's state from the node's snapshot when it could not be captured (renamed: since the snapshot) */
  deviceState: z.enum(['up', 'down', 'missing', 'unknown', 'renamed']).optional(),
  /** at the gap hop: the kernel drop reasons the hop's node counted during the window (#18) */
  drops: DropReasons.optional(),
  /** probe sequence numbers observed at this hop */
  seqs: z.array(z.number().int()),
  expected: z.number().int(),
  note: z.string().optional(),
  /** at the gap hop: the rules on its node whose counters rose with the lost probes (#18) */
  rules: z.array(RuleHit).optional(),
});
export type HopObservation = z.infer<typeof HopObservation>;

export const Verdict = z.enum(['healthy', 'one-way-gap', 'no-path', 'inconclusive']);
export type Verdict = z.infer<typeof Verdict>;

export const Gap = z.object({ node: z.string(), hop: Hop, direction: Direction });
export type Gap = z.infer<typeof Gap>;

/** What explains the gap: a static finding's rule, or what the capture itself showed. */
export const Cause = z.object({
  rule: RuleId,
  /** the node holding the wrong state */
  node: z.string(),
  detail: z.string(),
  /** true when it came from the capture (inner MAC, VNI) or the cluster map rather than a finding */
  fromCapture: z.boolean(),
});
export type Cause = z.infer<typeof Cause>;

export const Endpoint = z.object({
  /** what the user asked for */
  input: z.string(),
  node: z.string(),
  ip: z.string(),
  kind: z.enum(['pod', 'node']),
});
export type Endpoint = z.infer<typeof Endpoint>;

export const Diagnosis = z.object({
  id: z.string(),
  at: z.string(),
  from: Endpoint,
  to: Endpoint,
  verdict: Verdict,
  gap: Gap.optional(),
  hops: z.array(HopObservation),
  causes: z.array(Cause),
  /** static findings of both nodes that explain the gap */
  findings: z.array(Finding),
  /** rules on either node whose counters rose with the lost probes (#18); absent when the counters were not read */
  rules: z.array(RuleHit).optional(),
  probe: z.object({ id: z.number().int(), source: z.string(), target: z.string(), sent: z.number().int(), received: z.number().int(), size: z.number().int().optional() }).optional(),
  summary: z.string(),
  remedy: z.string(),
  durationMs: z.number().optional(),
  /** capture or agent problems met on the way */
  warnings: z.array(z.string()).default([]),
});
export type Diagnosis = z.infer<typeof Diagnosis>;
