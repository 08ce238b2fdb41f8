/**
 * Read routes for responders and dashboards: findings, nodes, one node's latest report, the
 * cluster map. They read the engine's last pass and the store; nothing here mutates.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFound } from '../../common/http.js';
import type { Finding } from '../../contract/finding.js';
import { nodeIsStale } from '../cluster/node-state.js';
import type { AggregatorAppDeps } from './app.js';
import { ClusterResponse, errorResponses, FindingsQuery, FindingsResponse, NodeParams, NodeResponse, NodesResponse } from './schemas.js';

const countBySeverity = (findings: readonly Finding[]): Map<string, { critical: number; warning: number; info: number }> => {
  const out = new Map<string, { critical: number; warning: number; info: number }>();
  for (const f of findings) {
    let c = out.get(f.node);
    if (!c) out.set(f.node, (c = { critical: 0, warning: 0, info: 0 }));
    c[f.severity]++;
  }
  return out;
};

export const queryRoutes = (scope: FastifyInstance, deps: AggregatorAppDeps): void => {
  const { store, engine, clock, staleAfterIntervals } = deps;
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/v1/findings',
    { schema: { summary: 'Active findings, filtered', querystring: FindingsQuery, response: { 200: FindingsResponse, 400: errorResponses[400], 401: errorResponses[401] } } },
    async (request) => {
      const { node, rule, severity } = request.query;
      const findings = engine
        .findings()
        .filter((f) => (node === undefined || f.node === node) && (rule === undefined || f.rule === rule) && (severity === undefined || f.severity === severity));
      return { findings };
    },
  );

  app.get('/v1/nodes', { schema: { summary: 'Reporting nodes', response: { 200: NodesResponse, 401: errorResponses[401] } } }, async () => {
    const now = clock.now();
    const counts = countBySeverity(engine.findings());
    const nodes = store
      .nodes()
      .sort((a, b) => a.node.localeCompare(b.node))
      .map((s) => ({
        name: s.node,
        lastReport: s.receivedAt,
        takenAt: s.report.takenAt,
        stale: nodeIsStale(s, now, staleAfterIntervals),
        mode: s.report.mode,
        agentVersion: s.report.agentVersion,
        seq: s.report.seq,
        findings: counts.get(s.node) ?? { critical: 0, warning: 0, info: 0 },
      }));
    return { nodes };
  });

  app.get(
    '/v1/nodes/:name',
    { schema: { summary: "A node's latest resolved report and its findings", params: NodeParams, response: { 200: NodeResponse, 400: errorResponses[400], 401: errorResponses[401], 404: errorResponses[404] } } },
    async (request) => {
      const { name } = request.params;
      const s = store.get(name);
      if (!s) throw new NotFound(`no report from node ${name}`);
      return {
        name: s.node,
        receivedAt: s.receivedAt,
        stale: nodeIsStale(s, clock.now(), staleAfterIntervals),
        report: s.report,
        findings: engine.findings().filter((f) => f.node === name),
      };
    },
  );

  app.get('/v1/cluster', { schema: { summary: 'The cluster map of the last correlation pass', response: { 200: ClusterResponse, 401: errorResponses[401] } } }, async () => engine.clusterMap());
};
