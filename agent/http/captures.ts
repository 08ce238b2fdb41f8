/**
 * Agent routes for captures and probes (registered inside the app's bearer-authenticated /v1 scope):
 *
 *   POST /v1/captures          CaptureRequest → 202 {id, status}; 400 on any invalid value or when
 *                              no interface is this node's (a missing one among others fails alone); 429 CAPTURE_BUSY while one runs
 *   GET  /v1/captures/:id      CaptureResult with each device's outcome (+ listening: every device
 *                              has been opened by its tcpdump or has failed)
 *   GET  /v1/captures/:id/pcap the capture file (application/vnd.tcpdump.pcap), ?interface=
 *   POST /v1/probes            ProbeRequest → ProbeResult (ICMP echo, matched by id/seq)
 *
 * Stateless itself: capture state is the CaptureManager's; the node's interfaces and addresses are
 * read from the latest snapshot on every request.
 */
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CaptureRequest, ProbeRequest } from '../../contract/capture.js';
import { NotFound } from '../../common/http.js';
import { CaptureBusy, CaptureInvalid, CaptureRunning, NoSnapshot, ProbeFailed, ProbeLimited, ProbeOutsideCluster, ProbeSourceInvalid, UnknownInterface } from './errors.js';
import type { CaptureManager } from '../capture/manager.js';
import { sendProbe, type SendProbeDeps } from '../capture/probe.js';
import type { ProbeLimiter } from '../capture/cluster-targets.js';
import { bodyWithin, REQUEST_LIMITS } from '../../common/json-limits.js';

/** the header the aggregator names the person or program behind a diagnosis in */
export const REQUESTED_BY_HEADER = 'x-calico-diag-requested-by';

/** who asked, for the log: the caller's address and what the aggregator says of its own caller */
const askedBy = (request: { ip: string; headers: Record<string, string | string[] | undefined> }) => {
  const by = request.headers[REQUESTED_BY_HEADER];
  return { from: request.ip, requestedBy: typeof by === 'string' ? by.slice(0, 200).replace(/[^\x20-\x7e]/g, '?') : null };
};

export interface CapturesRoutesDeps {
  manager: CaptureManager;
  /** names of this node's links from the latest snapshot; null when there is none yet */
  interfaces: () => string[] | null;
  probe: SendProbeDeps;
  /** the cluster addresses this node may probe (latest snapshot); null when there is none yet */
  clusterTargets: () => ((ip: string) => boolean) | null;
  limiter: ProbeLimiter;
}

const IdParams = z.object({ id: z.string().regex(/^[a-z0-9-]{1,40}$/) });

export const capturesRoutes =
  (deps: CapturesRoutesDeps): FastifyPluginAsync =>
  async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/captures', { schema: { body: CaptureRequest }, preValidation: bodyWithin(REQUEST_LIMITS) }, async (request, reply) => {
      const req = request.body;
      const known = deps.interfaces();
      if (known === null) throw new NoSnapshot('no snapshot yet: this node’s interfaces are unknown');
      const unknown = req.interfaces.filter((i) => i !== 'any' && !known.includes(i));
      // #18: a device the node lost (deleted, renamed) among others becomes that device's failed
      // outcome (DEVICE_MISSING) while the others are captured; only a request naming no device
      // of this node is refused.
      if (unknown.length === req.interfaces.length) throw new UnknownInterface(`no such interface on this node: ${unknown.join(', ')}`);
      if (new Set(req.interfaces).size !== req.interfaces.length) throw new CaptureInvalid('interfaces must be distinct');
      const started = deps.manager.start(req, { missing: unknown });
      if (!started.ok) throw started.code === 'busy' ? new CaptureBusy(started.message) : new CaptureInvalid(started.message);
      request.log.info({ capture: { id: started.id, interfaces: req.interfaces, peers: req.peers, durationSeconds: req.durationSeconds }, askedBy: askedBy(request) }, 'capture started');
      return reply.code(202).send({ id: started.id, status: 'running' as const });
    });

    r.get('/v1/captures/:id', { schema: { params: IdParams } }, async (request) => {
      const result = deps.manager.get(request.params.id);
      if (!result) throw new NotFound(`no capture ${request.params.id}`);
      return { ...result, listening: await deps.manager.listening(request.params.id) };
    });

    r.get(
      '/v1/captures/:id/pcap',
      { schema: { params: IdParams, querystring: z.object({ interface: z.string().regex(/^[a-zA-Z0-9._@-]{1,15}$/).optional() }) } },
      async (request, reply) => {
        const { id } = request.params;
        const result = deps.manager.get(id);
        if (!result) throw new NotFound(`no capture ${id}`);
        if (result.status === 'running') throw new CaptureRunning(`capture ${id} is still running`);
        const f = deps.manager.pcapFile(id, request.query.interface);
        if (!f) throw new NotFound(`capture ${id} has no file for that interface`);
        const stream = createReadStream(f.file);
        const opened = await new Promise<boolean>((resolve) => {
          stream.once('open', () => resolve(true));
          stream.once('error', () => resolve(false));
        });
        if (!opened) throw new NotFound(`capture ${id} has no file for ${f.iface}`);
        return reply
          .type('application/vnd.tcpdump.pcap')
          .header('content-disposition', `attachment; filename="${id}-${f.iface.replace(/[^A-Za-z0-9._-]/g, '_')}.pcap"`)
          .send(stream);
      },
    );

    r.post('/v1/probes', { schema: { body: ProbeRequest }, preValidation: bodyWithin(REQUEST_LIMITS) }, async (request) => {
      const inCluster = deps.clusterTargets();
      if (inCluster === null) throw new NoSnapshot('no snapshot yet: this node’s cluster addresses are unknown');
      if (!inCluster(request.body.target)) throw new ProbeOutsideCluster(`${request.body.target} is not a pod, node or tunnel address this node knows: probes go to cluster addresses only`);
      const slot = deps.limiter.begin();
      if ('refused' in slot) throw new ProbeLimited(slot.refused);
      request.log.info({ probe: { target: request.body.target, source: request.body.source, count: request.body.count }, askedBy: askedBy(request) }, 'probe started');
      const out = await sendProbe(request.body, deps.probe).finally(slot.done);
      if (!out.ok) {
        if (out.code === 'no-snapshot') throw new NoSnapshot(out.message);
        if (out.code === 'bad-source') throw new ProbeSourceInvalid(out.message);
        throw new ProbeFailed(out.message);
      }
      return out.result;
    });
  };
