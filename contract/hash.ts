import { hash } from 'node:crypto';

/**
 * Hash of one snapshot section as it travels in a report: sha256 (hex) of its JSON text.
 * Both sides compute it the same way; JSON.stringify is deterministic for our schema-built
 * objects because collectors build them with a fixed key order.
 * Issue #17: the one-shot `crypto.hash` (no Hash object per call); the aggregator hashes every
 * section that arrives with data, three per steady report.
 */
export const hashSection = (section: unknown): string => hash('sha256', JSON.stringify(section));
