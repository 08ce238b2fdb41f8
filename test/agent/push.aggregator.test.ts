/**
 * The agent's pusher against the real aggregator (engineer D's startAggregator) on 127.0.0.1:
 * the delta protocol end to end, including an aggregator restart that forgets every section.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createPusher } from '../../agent/push.js';
import type { PushOutcome } from '../../agent/metrics.js';
import { resolveAggregatorConfig } from '../../aggregator/config.js';
import { startAggregator } from '../../aggregator/main.js';
import { sampleSnapshot } from './snapshot-sample.js';

const silent = pino({ level: process.env.CDC_DEBUG ? 'debug' : 'silent' });

const start = async (port = 0) => {
  const cfg = resolveAggregatorConfig({ listen: `127.0.0.1:${port === 0 ? 1 : port}`, tokenFile: '/nonexistent', kube: 'off' }, {});
  if (!cfg.ok) throw new Error(cfg.message);
  const config = { ...cfg.config, listen: { ...cfg.config.listen, port } };
  return startAggregator({ config, token: 's3cret', logger: silent, registry: new Registry(), processMetrics: false });
};

describe('report push to the real aggregator (issue #3)', () => {
  it('is accepted, sends deltas, and recovers the sections a restarted aggregator asks for', async () => {
    let agg = await start();
    const port = Number(new URL(agg.address).port);
    const outcomes: PushOutcome[] = [];
    const p = createPusher({
      aggregatorUrl: agg.address,
      token: () => 's3cret',
      node: 'node-a',
      intervalSeconds: 30,
      agentVersion: '0.1.0',
      now: () => Date.now(),
      logger: silent,
      onOutcome: (o) => outcomes.push(o),
      timers: { setTimeout: () => null, clearTimeout: () => {} },
    });
    try {
      p.offer({ snapshot: sampleSnapshot({ takenAt: new Date().toISOString() }), checks: [], findings: [] });
      await p.idle();
      p.offer({ snapshot: sampleSnapshot({ takenAt: new Date().toISOString() }), checks: [], findings: [] });
      await p.idle();
      expect(outcomes).toEqual(['accepted', 'accepted']);

      // restart: a new aggregator on the same port holds none of the sections the agent thinks it has
      await agg.stop();
      agg = await start(port);
      p.offer({ snapshot: sampleSnapshot({ takenAt: new Date().toISOString() }), checks: [], findings: [] });
      await p.idle();
      expect(outcomes.slice(2)).toEqual(['sections-required', 'accepted']);
      expect(p.state()).toMatchObject({ failures: 0, lastOutcome: 'accepted' });
    } finally {
      await p.stop();
      await agg.stop();
    }
  });
});
