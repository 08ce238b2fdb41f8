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
 *
 * Entry-level delta (issue #3; contract/delta.ts): routes, neighbours and fdb may instead travel as
 * `{hash, delta: {base, splices}}`, edits of the section acknowledged at hash `base`; ipsets as
 * `{hash, delta: {base, hostSets: [{name, type, family, splices}], caliSetSizes}}` (splices of each
 * host set's members). The aggregator applies them to the lists it holds and checks `hash` on the
 * result; an unknown base or a hash that does not match is a 409 SECTIONS_REQUIRED for that
 * section (the agent then sends it in full). Splices that do not fit the held list are a 400
 * SECTION_DELTA_INVALID; a malformed delta fails the schema (400 INVALID_REQUEST).
 *
 * Chunks (issue #17; contract/chunks.ts): routes, neighbours and fdb may also travel as
 * `{hash, chunks: [{hash, data?}]}`, content-defined chunks of the list; a chunk without data must be
 * one the aggregator holds, else it answers 409 SECTIONS_REQUIRED with `chunks: {section: [hashes]}`
 * and the agent resends those chunks' data. An aggregator that predates chunks drops the unknown
 * `chunks` key, sees a section with a hash it does not hold and asks for it in full (a plain 409).
 */
import { z } from 'zod';
import { CHUNK_SECTIONS, MAX_CHUNK_ENTRIES, MAX_CHUNKS } from './chunks.js';
import { MAX_DELTA_HOST_SETS, MAX_DELTA_INSERTS, MAX_SPLICES, spliceError } from './delta.js';
import { CheckStatus, Finding } from './finding.js';
import { FdbEntry, Identity, IpSet, IpSets, Mode, Neighbour, Route, SECTION_NAMES, Sections, type SectionName } from './snapshot.js';

/** Node names are Kubernetes node names (RFC 1123 subdomains); anything else is refused. */
export const NodeName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'node name must be an RFC 1123 subdomain (lower-case letters, digits, "-" and ".")');

export const SectionHash = z.string().regex(/^[0-9a-f]{16,64}$/);

const reportSection = <T extends z.ZodType>(data: T) => z.object({ hash: SectionHash, data: data.optional() });

const splices = <E extends z.ZodType>(entry: E) =>
  z
    .array(
      z.object({
        at: z.number().int().nonnegative(),
        remove: z.number().int().nonnegative(),
        insert: z.array(entry).max(MAX_DELTA_INSERTS),
      }),
    )
    .max(MAX_SPLICES)
    .superRefine((list, ctx) => {
      const order = spliceError(Number.MAX_SAFE_INTEGER, list);
      if (order !== null) ctx.addIssue({ code: 'custom', message: order });
    });

type Spliced = { splices: { insert: unknown[] }[] };
const checkTotals = (parts: Spliced[], ctx: z.RefinementCtx): void => {
  const count = parts.reduce((n, p) => n + p.splices.length, 0);
  if (count > MAX_SPLICES) ctx.addIssue({ code: 'custom', message: `${count} splices in all; at most ${MAX_SPLICES} (send the section in full)` });
  const inserts = parts.reduce((n, p) => n + p.splices.reduce((m, s) => m + s.insert.length, 0), 0);
  if (inserts > MAX_DELTA_INSERTS) ctx.addIssue({ code: 'custom', message: `${inserts} inserted entries in all; at most ${MAX_DELTA_INSERTS} (send the section in full)` });
};

/** Edits of the acknowledged list (contract/delta.ts): sorted, disjoint, indexes into the base list. */
export const ListDeltaSchema = <E extends z.ZodType>(entry: E) =>
  z.object({ base: SectionHash, splices: splices(entry) }).superRefine((d, ctx) => checkTotals([d], ctx));

/** Edits of the acknowledged ipsets section: per host set, splices of the base set's members (contract/delta.ts). */
export const IpsetsDeltaSchema = z
  .object({
    base: SectionHash,
    hostSets: z.array(z.object({ name: IpSet.shape.name, type: IpSet.shape.type, family: IpSet.shape.family, splices: splices(z.string()) })).max(MAX_DELTA_HOST_SETS),
    caliSetSizes: IpSets.shape.caliSetSizes,
  })
  .superRefine((d, ctx) => {
    checkTotals(d.hostSets, ctx);
    if (new Set(d.hostSets.map((s) => s.name)).size !== d.hostSets.length) ctx.addIssue({ code: 'custom', path: ['hostSets'], message: 'host set names repeat' });
  });

const deltaSection = <T extends z.ZodType, D extends z.ZodType>(data: T, delta: D) =>
  z
    .object({ hash: SectionHash, data: data.optional(), delta: delta.optional() })
    .refine((s) => s.data === undefined || s.delta === undefined, { message: 'a section carries data or delta, not both', path: ['delta'] });

export const ChunkHash = z.string().regex(/^[0-9a-f]{64}$/);
/** A list section in content-defined chunks (contract/chunks.ts): chunk hashes, data on those the aggregator asked for. */
export const ChunksSchema = <E extends z.ZodType>(entry: E) =>
  z.array(z.object({ hash: ChunkHash, data: z.array(entry).min(1).max(MAX_CHUNK_ENTRIES).optional() })).min(1).max(MAX_CHUNKS);

/** A list section that may also travel as a delta or in chunks (one of data, delta, chunks). */
const listSection = <E extends z.ZodType, T extends z.ZodType>(entry: E, data: T) =>
  z
    .object({ hash: SectionHash, data: data.optional(), delta: ListDeltaSchema(entry).optional(), chunks: ChunksSchema(entry).optional() })
    .refine((s) => [s.data, s.delta, s.chunks].filter((x) => x !== undefined).length <= 1, { message: 'a section carries data or delta, not both; chunks travel alone', path: ['delta'] });

const S = Sections.shape;
export const ReportSections = z.object({
  links: reportSection(S.links),
  addresses: reportSection(S.addresses),
  routes: listSection(Route, S.routes),
  neighbours: listSection(Neighbour, S.neighbours),
  fdb: listSection(FdbEntry, S.fdb),
  sysctls: reportSection(S.sysctls),
  iptables: reportSection(S.iptables),
  ipsets: deltaSection(S.ipsets, IpsetsDeltaSchema),
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
  /** with node identities: the key the aggregator will present when it calls this agent */
  agentKey: z.string().max(128).optional(),
});
export const SectionsRequired = z.object({
  code: z.literal('SECTIONS_REQUIRED'),
  message: z.string(),
  sections: z.array(z.enum(SECTION_NAMES)),
  /**
   * For sections sent in chunks (contract/chunks.ts): the chunk hashes the aggregator does not
   * hold; the agent resends the section in chunks with data on these. A section listed in
   * `sections` but not here is wanted in full (an aggregator that does not take chunks never names any).
   */
  chunks: z.partialRecord(z.enum(CHUNK_SECTIONS), z.array(ChunkHash)).optional(),
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
