/**
 * The report body validator (aggregator/http/report-validation.ts) must accept and refuse exactly
 * what the contract Report schema does, with the same value and the same error: checked on steady
 * reports (most sections hash-only), full ones, and seeded mutations of the hash-only sections and
 * of their neighbours.
 */
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ackedOf, meshSnapshot, toReport } from '../../../bench/aggregator-mesh.js';
import { mulberry32 } from '../../../bench/prng.js';
import { hashOnlyMask, isHashOnly, reportValidatorCompiler } from '../../../aggregator/http/report-validation.js';
import { Report } from '../../../contract/report.js';
import { SECTION_NAMES } from '../../../contract/snapshot.js';

const route = { schema: Report, httpPart: 'body', method: 'POST', url: '/v1/reports' } as unknown as FastifyRouteSchemaDef<z.ZodType>;
const full = validatorCompiler(route) as (data: unknown) => { value?: unknown; error?: Error & { validation?: unknown } };
const fast = reportValidatorCompiler(route) as (data: unknown) => { value?: unknown; error?: Error & { validation?: unknown } };

const fullReport = (): Record<string, unknown> => JSON.parse(JSON.stringify(toReport(meshSnapshot(3, 8, 1), { agentId: 'agent-00000003', seq: 1 })));
/** a steady report: every section hash-only but links, iptables and sysctls (as the agent sends one when counters moved) */
const steadyReport = (): Record<string, unknown> => {
  const first = toReport(meshSnapshot(3, 8, 1), { agentId: 'agent-00000003', seq: 1 });
  const acked = ackedOf(first);
  for (const name of ['links', 'iptables', 'sysctls']) acked.delete(name);
  return JSON.parse(JSON.stringify(toReport(meshSnapshot(3, 8, 2), { agentId: 'agent-00000003', seq: 2 }, acked)));
};

const same = (body: unknown, what: string): void => {
  const a = full(structuredClone(body));
  const b = fast(structuredClone(body));
  if (a.error) {
    expect(b.error, what).toBeDefined();
    expect(b.error!.message, what).toBe(a.error.message);
    expect(b.error!.validation, what).toEqual(a.error.validation);
  } else {
    expect(b.error, what).toBeUndefined();
    expect(b.value, what).toStrictEqual(a.value);
  }
};

describe('report body validation', () => {
  it('accepts a steady report as the contract schema does, its hash-only sections as {hash}', () => {
    const body = steadyReport();
    const mask = hashOnlyMask(body);
    expect(SECTION_NAMES.filter((_, k) => mask & (1 << k))).toEqual(['addresses', 'routes', 'neighbours', 'fdb', 'ipsets', 'felix', 'bgp']);
    same(body, 'steady');
    const r = fast(body).value as { sections: Record<string, unknown> };
    expect(r.sections.routes).toStrictEqual({ hash: (body.sections as Record<string, { hash: string }>).routes!.hash });
  });

  it('accepts a full report as the contract schema does (no section is hash-only)', () => {
    const body = fullReport();
    expect(hashOnlyMask(body)).toBe(0);
    same(body, 'full');
  });

  it('takes as hash-only exactly one own key, hash, holding a section hash', () => {
    const h = 'a'.repeat(64);
    expect(isHashOnly({ hash: h })).toBe(true);
    expect(isHashOnly({ hash: 'A'.repeat(64) })).toBe(false);
    expect(isHashOnly({ hash: 'a'.repeat(15) })).toBe(false);
    expect(isHashOnly({ hash: h, data: null })).toBe(false);
    expect(isHashOnly({ hash: h, extra: 1 })).toBe(false);
    expect(isHashOnly({ hash: 7 })).toBe(false);
    expect(isHashOnly([h])).toBe(false);
    expect(isHashOnly(Object.assign(Object.create({ inherited: 1 }) as object, { hash: h }))).toBe(false);
    expect(isHashOnly(null)).toBe(false);
  });

  it('refuses what the contract schema refuses, with the same error, over seeded mutations of steady reports', () => {
    const rnd = mulberry32(17);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const values: unknown[] = [null, 7, 'x', 'a'.repeat(64), 'A'.repeat(64), 'a'.repeat(15), 'a'.repeat(65), [], {}, { hash: 'b'.repeat(16) }, { hash: 'b'.repeat(16), data: 3 }, { hash: 'b'.repeat(16), delta: {} }, { hash: 'b'.repeat(16), extra: true }, { hash: 'b'.repeat(16), chunks: [] }];
    let refused = 0;
    for (let c = 0; c < 600; c++) {
      const body = steadyReport();
      const sections = body.sections as Record<string, unknown>;
      const mutations = 1 + Math.floor(rnd() * 3);
      const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
      for (let m = 0; m < mutations; m++) {
        const name = pick(SECTION_NAMES);
        const r = rnd();
        const section = isObject(body.sections) ? (body.sections as Record<string, unknown>)[name] : undefined;
        if (r < 0.3 && isObject(body.sections)) sections[name] = pick(values) as Record<string, unknown>;
        else if (r < 0.55 && isObject(section)) section.hash = pick(values);
        else if (r < 0.7 && isObject(section)) section[pick(['data', 'delta', 'chunks', 'other'])] = pick(values);
        else if (r < 0.8 && isObject(body.sections)) delete sections[name];
        else if (r < 0.9) body[pick(['node', 'seq', 'agentId', 'mode', 'checks', 'identity'])] = pick(values);
        else body.sections = pick(values);
      }
      const result = full(structuredClone(body));
      if (result.error) refused++;
      same(body, `case ${c}`);
    }
    // the mutations reach both outcomes
    expect(refused).toBeGreaterThan(100);
    expect(refused).toBeLessThan(600);
  });
});
