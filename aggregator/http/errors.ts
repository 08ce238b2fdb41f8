/**
 * The aggregator's catalogue of coded errors (house rule 6; the shared ones, UNAUTHORIZED,
 * NOT_FOUND, CONFLICT, BAD_REQUEST, …, are in common/http.ts). Every error body is built by
 * common/http.ts installErrorHandler from one of these: `{statusCode, code, error, message}` plus
 * the `extra` fields an error carries (withExtra), e.g. `details`.
 */
import createError from '@fastify/error';

export const DiagnosisBusy = createError('DIAGNOSIS_BUSY', '%s', 429);
export const UnknownEndpoint = createError('UNKNOWN_ENDPOINT', '%s', 404);
/** a report whose seq is not newer than the held one from the same agent */
export const StaleReport = createError('STALE_REPORT', '%s', 409);
/** hash-only sections the store does not hold at that hash; extra: `sections` (the agent resends them in full) */
export const SectionsRequired = createError('SECTIONS_REQUIRED', '%s', 409);
export const SectionHashMismatch = createError('SECTION_HASH_MISMATCH', '%s', 400);
export const SectionDeltaInvalid = createError('SECTION_DELTA_INVALID', '%s', 400);
