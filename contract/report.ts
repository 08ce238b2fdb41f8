/**
 * What an agent pushes to the aggregator (POST /v1/reports).
 *
 * Delta design: every snapshot section travels as `{hash, data?}`. The agent sends `data` only when
 * the section's hash differs from the last one the aggregator acknowledged (or when asked for a full
 * report). The aggregator keeps the data it has per (node, section, hash); when a report names a hash
 * it does not hold, it answers 409 `sections-required` with the section names, and the agent resends
 * those sections in full at once. In steady state a report carries only hashes, counters that
 * change every interval (iptables drop counters, link stats) make their sections change, so those
 * are sent; everything else is a few hundred bytes.
 */
import { z } from 'zod';
import { CheckStatus, Finding } from './finding.js';
import { Identity, Mode, SECTION_NAMES, Sections, type SectionName } from './snapshot.js';

/** Node names are Kubernetes node names (RFC 1123 subdomains); anything else is refused. */
export const NodeName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'node name must be an RFC 1123 subdomain (lower-case letters, digits, "-" and ".")');

export const SectionHash = z.string().regex(/^[0-9a-f]{16,64}$/);

const reportSection = <T extends z.ZodType>(data: T) => z.object({ hash: SectionHash, data: data.optional() });

const S = Sections.shape;
export const ReportSections = z.object({
  links: reportSection(S.links),
  addresses: reportSection(S.addresses),
  routes: reportSection(S.routes),
  neighbours: reportSection(S.neighbours),
  fdb: reportSection(S.fdb),
  sysctls: reportSection(S.sysctls),
  iptables: reportSection(S.iptables),
  ipsets: reportSection(S.ipsets),
  felix: reportSection(S.felix),
  bgp: reportSection(S.bgp),
} satisfies Record<SectionName, z.ZodType>);
export type ReportSections = z.infer<typeof ReportSections>;

export const Report = z.object({
  schemaVersion: z.literal(1),
  node: NodeName,
  /** random per agent process: a restarted agent starts a new sequence */
  agentId: z.string().min(8).max(64),
  /** strictly increasing per agentId */
  seq: z.number().int().nonnegative(),
  agentVersion: z.string().max(64),
  intervalSeconds: z.number().positive(),
  takenAt: z.string(),
  sentAt: z.string(),
  mode: Mode,
  identity: Identity,
  sections: ReportSections,
  checks: z.array(CheckStatus),
  findings: z.array(Finding),
  /** URL the aggregator reaches this agent on for captures and probes (http://IP:port) */
  agentUrl: z.string().url().optional(),
});
export type Report = z.infer<typeof Report>;

export const ReportAccepted = z.object({
  accepted: z.literal(true),
  node: z.string(),
  seq: z.number().int(),
});
export const SectionsRequired = z.object({
  code: z.literal('SECTIONS_REQUIRED'),
  message: z.string(),
  sections: z.array(z.enum(SECTION_NAMES)),
});
export type SectionsRequired = z.infer<typeof SectionsRequired>;

/** A coded error body, the shape every 4xx/5xx of both services uses (house rule 6). */
export const ErrorBody = z.object({
  statusCode: z.number().int(),
  code: z.string(),
  error: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
