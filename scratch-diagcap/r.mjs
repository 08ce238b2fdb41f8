import { CaptureManager } from '/work/wt/diagcap/dist/agent/capture/manager.js';
import { DropTracer, nodeTraceFs } from '/work/wt/diagcap/dist/agent/capture/drop-reasons.js';
import { execRunner } from '/work/wt/diagcap/dist/agent/exec/runner.js';
import pino from 'pino';
const tr = process.argv[2];
const m = new CaptureManager({ runner: execRunner, logger: pino({level:'silent'}), node: 'x', dir: '/tmp/diagcap-repro-caps', now: Date.now, ...(tr ? { dropTracer: (id) => new DropTracer(nodeTraceFs, tr, id) } : {}) });
const s = m.start({ interfaces: ['lo'], peers: [], match: [{ kind: 'icmp' }], durationSeconds: 2, maxPackets: 100 });
const r = await m.wait(s.id);
console.log(JSON.stringify({ status: r.status, error: r.error, devices: r.devices, drops: r.drops && { available: r.drops.available, total: r.drops.total, why: r.drops.why } }));
