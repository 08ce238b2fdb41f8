/**
 * The plain values behind contract/finding.ts's zod schemas (severity levels, the rule id pattern),
 * in a module without zod so the CLI can check an aggregator answer it only prints without loading
 * zod (#17: cold start). contract/finding.ts builds its schemas from these.
 */

/** The severities, most severe first (the one severity order). */
export const SEVERITY_LEVELS = ['critical', 'warning', 'info'] as const;

/** A stable kebab-case rule id: users alert and filter on it. */
export const RULE_ID_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
