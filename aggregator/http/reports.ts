/**
 * POST /v1/reports: validate (contract Report), check sequence and delta hashes in the store,
 * count the outcome. The body's `sections` object is kept as it arrived (before zod parsing) so
 * data hashes are checked against the exact JSON the agent hashed. Entry-level deltas
 * (contract/delta.ts) are applied by the store; splices that do not fit the held list are a 400
 * SECTION_DELTA_INVALID, an unknown base or a wrong resulting hash a 409 SECTIONS_REQUIRED.
 * Chunked sections (contract/chunks.ts) whose chunks the store lacks are a 409 that names them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Report, ReportAccepted } from '../../contract/report.js';
import { SECTION_NAMES } from '../../contract/snapshot.js';
import { recordNodeReport, type ReportOutcome, type SectionForm } from '../metrics.js';
import type { AggregatorAppDeps } from './app.js';
import { withExtra } from '../../common/http.js';
import { SectionDeltaInvalid, SectionHashMismatch, SectionsRequired, StaleReport } from './errors.js';
import { Gate } from './gate.js';
import { ConflictBody, errorResponses } from './schemas.js';
import { bodyWithin, REPORT_LIMITS } from '../../common/json-limits.js';
import createError from '@fastify/error';
import { callerOf } from './caller.js';
import { reportValidatorCompiler } from './report-validation.js';

const outcomeOf = (status: number, noted: ReportOutcome | undefined): ReportOutcome | undefined => {
  if (noted) return noted;
  if (status === 401) return 'unauthorized';
  if (status === 413) return 'too_large';
  if (status === 400) return 'invalid';
  return undefined;
};

const FindingForAnotherNode = createError('FINDING_NODE_MISMATCH', '%s', 400);
const NotThisNode = createError('NODE_IDENTITY', '%s', 403);
const UnknownNode = createError('UNKNOWN_NODE', '%s', 403);
const TooManyNodes = createError('TOO_MANY_NODES', '%s', 429);

/** without a datastore to say which nodes exist: the store's bound (~60 KiB a node at 5000 nodes) */
export const DEFAULT_MAX_NODES = 10_000;

export const reportRoutes = (scope: FastifyInstance, deps: AggregatorAppDeps): void => {
  const { store, engine, metrics, clock } = deps;
  const rawSections = new WeakMap<FastifyRequest, unknown>();
  const outcomes = new WeakMap<FastifyRequest, ReportOutcome>();
  const log = deps.logger.child({ component: 'reports' });
  const gate = new Gate(deps.maxConcurrentReports ?? 4);
  const releases = new WeakMap<FastifyRequest, () => void>();
  const release = (request: FastifyRequest): void => releases.get(request)?.();

  scope.withTypeProvider<ZodTypeProvider>().post(
    '/v1/reports',
    {
      schema: {
        summary: 'Push a node report (delta by section hash)',
        body: Report,
        response: { 200: ReportAccepted, 400: errorResponses[400], 401: errorResponses[401], 409: ConflictBody, 413: errorResponses[400] },
      },
      // issue #17: the contract schema, with hash-only sections checked without a copy (report-validation.ts)
      validatorCompiler: reportValidatorCompiler,
      // runs after the scope's bearer check, before the body is read
      onRequest: async (request) => {
        releases.set(request, await gate.acquire());
      },
      onRequestAbort: async (request) => release(request),
      preValidation: async (request) => {
        await bodyWithin(REPORT_LIMITS)(request);
        const body = request.body as { sections?: unknown } | null | undefined;
        if (body && typeof body === 'object') rawSections.set(request, body.sections);
        const length = Number(request.headers['content-length']);
        if (Number.isFinite(length) && length > 0) metrics.reportBytes.observe(length);
      },
      onResponse: async (request, reply) => {
        release(request);
        const outcome = outcomeOf(reply.statusCode, outcomes.get(request));
        if (outcome) metrics.reportsTotal.inc({ outcome });
      },
    },
    async (request) => {
      const report = request.body;
      // #16: with node identities a credential reports for its own node only
      if (deps.authenticator?.mode === 'kubernetes') {
        const caller = callerOf(request);
        if (caller?.kind !== 'node') throw new NotThisNode('reports need an agent credential bound to a node (its projected service-account token)');
        if (caller.node !== report.node) throw new NotThisNode(`this credential belongs to node ${caller.node}, not to ${report.node}`);
      }
      // #16: 100k invented node names took the aggregator past its memory limit
      if (!store.get(report.node)) {
        const names = deps.knownNodes?.() ?? null;
        if (names !== null && !names.has(report.node)) throw new UnknownNode(`no node ${report.node} in the cluster: reports are taken only for the cluster's nodes`);
        if (names === null && store.size >= (deps.maxNodes ?? DEFAULT_MAX_NODES)) throw new TooManyNodes(`the aggregator holds reports of ${store.size} nodes, its limit (--max-nodes): a new node is refused until the datastore confirms it or nodes leave`);
      }
      // #16: an agent speaks for its own node only: a finding planted in another node's name is refused
      const foreign = report.findings.find((f) => f.node !== report.node);
      if (foreign) {
        outcomes.set(request, 'invalid');
        throw new FindingForAnotherNode(`report from ${report.node} carries a finding for node ${foreign.node} (${foreign.rule})`);
      }
      const started = clock.monotonic();
      const receivedAtMs = clock.now();
      // issue #17: one inc per form present (a steady report: two), not one per section
      const forms: Record<SectionForm, number> = { full: 0, delta: 0, chunked: 0, unchanged: 0 };
      for (const name of SECTION_NAMES) {
        const s = report.sections[name] as { data?: unknown; delta?: unknown; chunks?: unknown };
        forms[s.data !== undefined ? 'full' : s.delta !== undefined ? 'delta' : s.chunks !== undefined ? 'chunked' : 'unchanged']++;
      }
      for (const [form, n] of Object.entries(forms) as [SectionForm, number][]) if (n > 0) metrics.reportSections.inc({ form }, n);
      const result = store.ingest(report, new Date(receivedAtMs).toISOString(), rawSections.get(request));
      switch (result.kind) {
        case 'accepted': {
          const state = store.get(report.node);
          if (state) recordNodeReport(metrics, state.report, receivedAtMs);
          metrics.ingestDuration.observe((clock.monotonic() - started) / 1000);
          outcomes.set(request, 'accepted');
          if (result.restarted) log.info({ report: { node: report.node, agentId: report.agentId, seq: report.seq } }, 'agent restarted');
          engine.notify();
          return { accepted: true as const, node: report.node, seq: report.seq, ...(deps.agentKeyFor ? { agentKey: deps.agentKeyFor(report.node) } : {}) };
        }
        case 'stale':
          outcomes.set(request, 'stale');
          throw withExtra(new StaleReport(`report seq ${result.seq} is not newer than seq ${result.lastSeq} from the same agent; ignored`), {
            details: { seq: result.seq, lastSeq: result.lastSeq },
          });
        case 'sections-required':
          outcomes.set(request, 'sections_required');
          throw withExtra(
            new SectionsRequired(
              result.chunks
                ? `the aggregator does not hold these sections at the hashes sent: ${result.sections.join(', ')}; resend the chunked ones with data on the chunks listed, the others in full`
                : `the aggregator does not hold these sections at the hashes sent; send them in full: ${result.sections.join(', ')}`,
            ),
            { sections: result.sections, ...(result.chunks ? { chunks: result.chunks } : {}) },
          );
        case 'hash-mismatch':
          outcomes.set(request, 'invalid');
          throw withExtra(new SectionHashMismatch(`section data does not match its hash: ${result.sections.join(', ')}`), { details: { sections: result.sections } });
        case 'delta-invalid':
          outcomes.set(request, 'invalid');
          throw withExtra(new SectionDeltaInvalid(`section delta does not fit the list held for its base: ${result.problems.map((p) => `${p.section}: ${p.message}`).join('; ')}`), {
            details: { problems: result.problems },
          });
      }
    },
  );
};
