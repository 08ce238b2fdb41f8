/**
 * Request and response schemas of the aggregator API (zod; the OpenAPI document is generated
 * from them). Wire types of reports and findings live in contract/.
 */
import { z } from 'zod';
import { ClusterMap } from '../../contract/cluster.js';
import { Finding, RuleId, Severity } from '../../contract/finding.js';
import { ErrorBody, NodeName, Report, SectionsRequired } from '../../contract/report.js';
import { Mode, SECTION_NAMES, Sections } from '../../contract/snapshot.js';

/** ErrorBody plus the section list of a 409 SECTIONS_REQUIRED (contract SectionsRequired). */
export const ConflictBody = ErrorBody.extend({ sections: z.array(z.enum(SECTION_NAMES)).optional(), chunks: SectionsRequired.shape.chunks });

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
} as const;

export const FindingsQuery = z.object({
  node: NodeName.optional(),
  rule: RuleId.optional(),
  severity: Severity.optional(),
  /**
   * flat (default): every finding; roots: only findings no other explains (#18); groups: each root
   * with the findings it explains (`consequences`); the filters select roots in the last two
   */
  view: z.enum(['flat', 'roots', 'groups']).default('flat'),
});

export const FindingGroup = z.object({ root: Finding, consequences: z.array(Finding) });
export const FindingsFlatResponse = z.object({ findings: z.array(Finding) });
export const FindingsGroupsResponse = z.object({ groups: z.array(FindingGroup) });
export const FindingsResponse = z.union([FindingsFlatResponse, FindingsGroupsResponse]);

export const SeverityCounts = z.object({ critical: z.number().int(), warning: z.number().int(), info: z.number().int() });

export const NodeSummary = z.object({
  name: z.string(),
  /** when the aggregator accepted the node's latest report */
  lastReport: z.string(),
  /** when the agent took the snapshot */
  takenAt: z.string(),
  stale: z.boolean(),
  mode: Mode,
  agentVersion: z.string(),
  seq: z.number().int(),
  findings: SeverityCounts,
});
export const NodesResponse = z.object({ nodes: z.array(NodeSummary) });

export const NodeParams = z.object({ name: NodeName });

export const ResolvedReportSchema = Report.extend({ sections: Sections });
export const NodeResponse = z.object({
  name: z.string(),
  receivedAt: z.string(),
  stale: z.boolean(),
  report: ResolvedReportSchema,
  findings: z.array(Finding),
});

export const ClusterResponse = ClusterMap;

export const Health = z.object({ status: z.string() });
export const Ready = z.object({
  status: z.enum(['ready', 'not-ready']),
  nodes: z.number().int(),
  lastPass: z.string().nullable(),
});

/** GET /v1/version: the aggregator's version and how many reporting nodes run each agent version. */
export const VersionResponse = z.object({
  version: z.string(),
  agents: z.array(z.object({ version: z.string(), nodes: z.number().int() })),
});
