import { createHash } from 'node:crypto';

/**
 * Hash of one snapshot section as it travels in a report: sha256 (hex) of its JSON text.
 * Both sides compute it the same way; JSON.stringify is deterministic for our schema-built
 * objects because collectors build them with a fixed key order.
 */
export const hashSection = (section: unknown): string => createHash('sha256').update(JSON.stringify(section)).digest('hex');
