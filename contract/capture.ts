/**
 * Captures and probes on the wire (agent: POST /v1/captures, GET /v1/captures/:id, POST /v1/probes).
 *
 * Everything that ends up in a tcpdump or ping argv is a structured, validated value here: interface
 * names from a closed character set, IP addresses that parse as IPs (and are re-serialised from their
 * parsed form before use), small integers. Free text never reaches a command.
 */
import { isIPv6 } from 'node:net';
import { z } from 'zod';

/** Linux interface names (IFNAMSIZ 16 incl. NUL); `any` is tcpdump's pseudo-device. */
export const InterfaceName = z
  .string()
  .regex(/^[a-zA-Z0-9._@-]{1,15}$/, 'interface name must be 1..15 characters of [a-zA-Z0-9._@-]')
  .refine((s) => s !== '.' && s !== '..' && !s.startsWith('-'), 'not a usable interface name');

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The canonical text of an IP address, or null when `s` is not a plain IPv4 dotted quad or IPv6
 * address (no zone, no prefix). Pure: IPv6 is canonicalised through WHATWG URL host parsing.
 */
export const canonicalIp = (s: string): { family: 4 | 6; text: string } | null => {
  if (typeof s !== 'string' || s.length === 0 || s.length > 45) return null;
  if (V4.test(s)) return { family: 4, text: s };
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !isIPv6(s)) return null;
  try {
    const host = new URL(`http://[${s}]/`).hostname;
    return { family: 6, text: host.slice(1, -1) };
  } catch {
    return null;
  }
};

export const IpAddress = z.string().refine((s) => canonicalIp(s) !== null, 'must be an IPv4 or IPv6 address');

export const MatchSpec = z.discriminatedUnion('kind', [
  /** UDP to/from the VXLAN port (Calico: 4789, or the port configured on the node) */
  z.object({ kind: z.literal('vxlan'), port: z.number().int().min(1).max(65535).default(4789) }).strict(),
  /** IP protocol 4 */
  z.object({ kind: z.literal('ipip') }).strict(),
  /** ICMP and ICMPv6 */
  z.object({ kind: z.literal('icmp') }).strict(),
  z.object({ kind: z.literal('tcp'), port: z.number().int().min(1).max(65535) }).strict(),
]);
export type MatchSpec = z.infer<typeof MatchSpec>;

export const CaptureRequest = z
  .object({
    /** 1..4 devices of this node (checked against the latest snapshot's links), or `any` */
    interfaces: z.array(InterfaceName).min(1).max(4),
    /** keep packets to/from these hosts (outer or plain addresses); empty = any host */
    peers: z.array(IpAddress).max(8).default([]),
    /** protocols to keep (OR-ed); at least one */
    match: z.array(MatchSpec).min(1).max(4),
    durationSeconds: z.number().int().min(1).max(30),
    maxPackets: z.number().int().min(1).max(10_000),
  })
  .strict();
export type CaptureRequest = z.infer<typeof CaptureRequest>;
export type CaptureRequestInput = z.input<typeof CaptureRequest>;

export const Encapsulation = z.enum(['vxlan', 'ipip', 'none']);

export const CaptureRecord = z.object({
  /** ISO 8601 with the capture's precision (µs or ns) */
  time: z.string(),
  interface: z.string(),
  /** from Linux cooked captures (`-i any`): in = to us, out = sent by us */
  direction: z.enum(['in', 'out', 'other']).optional(),
  /** outer (underlay) source/destination; equal to inner for unencapsulated packets */
  outerSrc: z.string(),
  outerDst: z.string(),
  encapsulation: Encapsulation,
  vni: z.number().int().optional(),
  /** VXLAN: the inner frame's MACs; unencapsulated Ethernet frames: the frame's own MACs */
  innerSrcMac: z.string().optional(),
  innerDstMac: z.string().optional(),
  innerSrc: z.string(),
  innerDst: z.string(),
  /** icmp, icmp6, tcp, udp, or the IP protocol number as text */
  protocol: z.string(),
  /** id and seq for echo request/reply (ICMP 8/0, ICMPv6 128/129) only */
  icmp: z.object({ type: z.number().int(), code: z.number().int(), id: z.number().int().optional(), seq: z.number().int().optional() }).optional(),
  tcp: z.object({ srcPort: z.number().int(), dstPort: z.number().int(), flags: z.string(), seq: z.number().int() }).optional(),
  udp: z.object({ srcPort: z.number().int(), dstPort: z.number().int() }).optional(),
  /** the packet was cut by the snap length or ended early; fields after the cut are absent */
  truncated: z.boolean().optional(),
});
export type CaptureRecord = z.infer<typeof CaptureRecord>;

export const CaptureStatus = z.enum(['running', 'done', 'failed']);
export type CaptureStatus = z.infer<typeof CaptureStatus>;

export const CaptureStarted = z.object({ id: z.string(), status: CaptureStatus });
export type CaptureStarted = z.infer<typeof CaptureStarted>;

/**
 * The state of a device in the node's latest snapshot when it could not be captured: `down` (no UP
 * flag or operstate DOWN), `missing` (no such link), `up`, or `unknown` (no snapshot of the links);
 * `renamed` when the live links show the snapshot's interface index under another name (#18).
 */
export const DeviceState = z.enum(['up', 'down', 'missing', 'unknown', 'renamed']);
export type DeviceState = z.infer<typeof DeviceState>;

/**
 * One device of a capture job (each is captured by its own tcpdump): `starting` until tcpdump has
 * opened it, `listening` while it captures, `captured` when its file is decoded, `failed` when it
 * could not be captured (its `state` from the snapshot then says why, e.g. down or missing).
 */
export const DeviceCapture = z.object({
  interface: z.string(),
  status: z.enum(['starting', 'listening', 'captured', 'failed']),
  state: DeviceState.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** renamed: the name its interface index has now; renamed or gone: when the snapshot still showed it (#18) */
  renamedTo: z.string().optional(),
  snapshotAt: z.string().optional(),
});
export type DeviceCapture = z.infer<typeof DeviceCapture>;

/**
 * Kernel drop reasons counted during the capture window on this node (skb:kfree_skb, Linux ≥ 5.17):
 * by reason and the kernel function that dropped; kernel-wide, so other traffic of the node counts
 * too. `available: false` with `why` when tracefs, the permission or the kernel support is missing.
 */
export const DropReasons = z.object({
  available: z.boolean(),
  counts: z.array(z.object({ reason: z.string(), location: z.string(), count: z.number().int() })),
  /** drops counted in total (counts keeps the most frequent pairs) */
  total: z.number().int(),
  why: z.string().optional(),
});
export type DropReasons = z.infer<typeof DropReasons>;

export const CaptureResult = z.object({
  id: z.string(),
  node: z.string(),
  status: CaptureStatus,
  request: CaptureRequest,
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  /** present when done */
  records: z.array(CaptureRecord).optional(),
  /** packets in the file (records + undecodable ones) */
  packets: z.number().int().optional(),
  warnings: z.array(z.string()).default([]),
  /** present when failed (every device failed) */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** each device's own outcome: a job is done when at least one device was captured */
  devices: z.array(DeviceCapture).optional(),
  /** kernel drop reasons of the window (when done or failed) */
  drops: DropReasons.optional(),
});
export type CaptureResult = z.infer<typeof CaptureResult>;

/**
 * ICMP echo probes from this node. The probe is matched in captures by ICMP identifier and sequence:
 * `id` becomes the echo identifier (`ping -e id`), sequences run 1..count.
 */
export const ProbeRequest = z
  .object({
    target: IpAddress,
    /** `tunnel`: the node's tunnel IP of the target's family; `node`: its node IP; or an IP of this node */
    source: z.union([z.literal('tunnel'), z.literal('node'), IpAddress]),
    count: z.number().int().min(1).max(20).default(3),
    intervalMs: z.number().int().min(200).max(1000).default(200),
    /** ICMP echo identifier; the agent picks one when absent */
    id: z.number().int().min(1).max(65535).optional(),
    /**
     * a pod of this node: the probe leaves from that pod's own network namespace with the pod's IP
     * as source (`source` is then not used), so its workload hops and egress policy are on the path
     */
    pod: IpAddress.optional(),
    /** ICMP payload bytes, sent with don't-fragment (`ping -M do -s`) so MTU faults show */
    size: z.number().int().min(16).max(8952).optional(),
  })
  .strict();
export type ProbeRequest = z.infer<typeof ProbeRequest>;
export type ProbeRequestInput = z.input<typeof ProbeRequest>;

export const ProbeResult = z.object({
  id: z.number().int(),
  node: z.string(),
  source: z.string(),
  target: z.string(),
  sent: z.number().int(),
  received: z.number().int(),
  /** round-trip time per answered sequence number */
  rtts: z.array(z.object({ seq: z.number().int(), ms: z.number() })),
  startedAt: z.string(),
  /** ping's own complaint when it could not send at all */
  error: z.string().optional(),
});
export type ProbeResult = z.infer<typeof ProbeResult>;
