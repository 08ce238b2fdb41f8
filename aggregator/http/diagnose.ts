/**
 * Diagnose routes, added to the aggregator's authenticated /v1 scope:
 *
 *   POST /v1/diagnose        {from, to, count?, durationSeconds?} → the Diagnosis (synchronous:
 *                            capture window + ~1 s); 400/404 for ends that do not resolve,
 *                            409 when an agent URL is unknown, 429 while another diagnosis runs
 *   GET  /v1/diagnoses       the kept diagnoses, newest first (id, verdict, gap, summary)
 *   GET  /v1/diagnoses/:id   one kept diagnosis
 *
 * Counts calico_diag_diagnoses_total{verdict}. State: the DiagnosisHistory passed in (or created
 * per extension instance).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BadRequest, Conflict, NotFound } from '../../common/http.js';
import { Diagnosis, DiagnoseRequest } from '../../contract/diagnosis.js';
import { DiagnosisHistory, runDiagnosis, type DiagnoseDeps } from '../diagnose/orchestrate.js';
import type { AppExtension } from './app.js';
import { callerOf } from './caller.js';
import { bodyWithin, REQUEST_LIMITS } from '../../common/json-limits.js';
import { DiagnosisBusy, UnknownEndpoint } from './errors.js';

/** What the routes need: the diagnosis's own deps (diagnose/orchestrate.ts) plus the verdict counter and the kept history. */
export type DiagnoseRouteDeps = DiagnoseDeps & {
  /** calico_diag_diagnoses_total{verdict} */
  countVerdict?: (verdict: Diagnosis['verdict']) => void;
  history?: DiagnosisHistory;
};

export const diagnoseExtension =
  (deps: DiagnoseRouteDeps): AppExtension =>
  (scope: FastifyInstance) => {
    const history = deps.history ?? new DiagnosisHistory();
    const r = scope.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/diagnose', { schema: { summary: 'Two-node capture diagnosis', body: DiagnoseRequest }, preValidation: bodyWithin(REQUEST_LIMITS) }, async (request) => {
      if (!history.tryBegin()) throw new DiagnosisBusy('another diagnosis is running; agents capture one job at a time');
      try {
        const caller = callerOf(request);
        const who = caller?.kind === 'node' ? `node ${caller.node}` : 'a holder of the shared token';
        const requestedBy = `${who} from ${request.ip}`;
        request.log.info({ diagnose: { from: request.body.from, to: request.body.to }, requestedBy }, 'diagnosis requested');
        const out = await runDiagnosis(request.body, { ...deps, requestedBy });
        if (!out.ok) {
          if (out.status === 404) throw new UnknownEndpoint(out.message);
          if (out.status === 409) throw new Conflict(out.message);
          throw new BadRequest(out.message);
        }
        history.add(out.diagnosis);
        deps.countVerdict?.(out.diagnosis.verdict);
        return out.diagnosis;
      } finally {
        history.end();
      }
    });

    r.get('/v1/diagnoses', { schema: { summary: 'Kept diagnoses, newest first' } }, async () => ({
      diagnoses: history.list().map((d) => ({ id: d.id, at: d.at, from: d.from, to: d.to, verdict: d.verdict, gap: d.gap, summary: d.summary })),
    }));

    r.get('/v1/diagnoses/:id', { schema: { summary: 'One diagnosis', params: z.object({ id: z.string().max(64) }) } }, async (request) => {
      const d = history.get(request.params.id);
      if (!d) throw new NotFound(`no diagnosis ${request.params.id}`);
      return d;
    });
  };
