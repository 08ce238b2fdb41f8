/**
 * The body validator of POST /v1/reports (issue #17: the steady report's cost).
 *
 * A steady report carries most sections as `{hash}` alone (seven of ten in a quiet cluster). The
 * contract schema (contract/report.ts Report) walks each of them through its full section schema
 * (data, delta or chunks, each optional, and a refinement), building a copy of a one-key object.
 * This validator checks such a section directly, with the same rule the schema applies to it
 * (exactly one own key, `hash`, a SectionHash), and runs the schema on everything else: a variant of
 * Report whose hash-only sections pass through as they are. What a body is accepted as is the same:
 * for a hash-only section the schema's output is `{hash}` too, and a body the variant refuses is
 * handed to the full schema, so a refusal carries exactly the issues it always did.
 *
 * Before both (issue #17, same-check.ts): a body the schema would give back as it is (every key in
 * the schema's order, nothing it strips; what the agent sends) is taken as it is, without the copy
 * the schema's parse makes of every object and array in it.
 *
 * State: the variant schemas, built on first use per set of hash-only sections (at most 2^10,
 * in practice a handful), held for the process.
 */
import type { FastifyRouteSchemaDef, FastifyValidationResult } from 'fastify/types/schema.js';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Report, ReportSections, SectionHash } from '../../contract/report.js';
import { SECTION_NAMES } from '../../contract/snapshot.js';
import { sameCheck } from './same-check.js';

/** Passes a section already checked as `{hash}` through unchanged (the schema's output would equal it). */
const CheckedHashOnly = z.any();

const variants = new Map<number, z.ZodType>();

const variantFor = (mask: number): z.ZodType => {
  let v = variants.get(mask);
  if (v === undefined) {
    const shape: Record<string, z.ZodType> = {};
    SECTION_NAMES.forEach((name, k) => {
      if (mask & (1 << k)) shape[name] = CheckedHashOnly;
    });
    v = Report.extend({ sections: ReportSections.extend(shape) });
    variants.set(mask, v);
  }
  return v;
};

/** Whether `section` is exactly `{hash}` with a valid section hash: what every section schema accepts and outputs as is. */
export const isHashOnly = (section: unknown): boolean => {
  if (section === null || typeof section !== 'object' || Array.isArray(section) || Object.getPrototypeOf(section) !== Object.prototype) return false;
  let keys = 0;
  for (const key in section) {
    if (key !== 'hash' || !Object.hasOwn(section, key)) return false;
    keys++;
  }
  return keys === 1 && SectionHash.safeParse((section as { hash: unknown }).hash).success;
};

/** Which sections of a raw report body are hash-only, as a bit per SECTION_NAMES index (0: none, or not an object). */
export const hashOnlyMask = (body: unknown): number => {
  if (body === null || typeof body !== 'object') return 0;
  const sections = (body as { sections?: unknown }).sections;
  if (sections === null || typeof sections !== 'object' || Array.isArray(sections)) return 0;
  let mask = 0;
  SECTION_NAMES.forEach((name, k) => {
    if (Object.hasOwn(sections, name) && isHashOnly((sections as Record<string, unknown>)[name])) mask |= 1 << k;
  });
  return mask;
};

/** Validates a body as the contract Report schema does; on success the same value, on failure the full schema's error. */
export const reportValidatorCompiler = <S>(route: FastifyRouteSchemaDef<S>): FastifyValidationResult => {
  // the route's body schema is contract Report (reports.ts): the full validator fastify would compile for it
  const full = validatorCompiler(route as unknown as FastifyRouteSchemaDef<z.ZodType>);
  if (route.httpPart !== 'body' || route.schema !== (Report as unknown)) return full;
  const sameAsParsed = sameCheck(Report);
  return (data: unknown) => {
    // the body as the schema would give it back: no copy needed
    if (sameAsParsed(data)) return { value: data };
    const mask = hashOnlyMask(data);
    if (mask !== 0) {
      const r = variantFor(mask).safeParse(data);
      if (r.success) return { value: r.data };
    }
    return full(data);
  };
};
