/**
 * The agent's catalogue of coded errors (house rule 6; the shared ones are in common/http.ts).
 * Bodies are built by common/http.ts installErrorHandler.
 */
import createError from '@fastify/error';

export const UnknownInterface = createError('UNKNOWN_INTERFACE', '%s', 400);
export const CaptureBusy = createError('CAPTURE_BUSY', '%s', 429);
export const CaptureInvalid = createError('CAPTURE_INVALID', '%s', 400);
export const CaptureRunning = createError('CAPTURE_RUNNING', '%s', 409);
export const NoSnapshot = createError('NO_SNAPSHOT', '%s', 503);
export const ProbeSourceInvalid = createError('PROBE_SOURCE_INVALID', '%s', 400);
export const ProbeFailed = createError('PROBE_FAILED', '%s', 500);
export const ProbeOutsideCluster = createError('PROBE_TARGET_OUTSIDE_CLUSTER', '%s', 403);
export const ProbeLimited = createError('PROBE_LIMITED', '%s', 429);
