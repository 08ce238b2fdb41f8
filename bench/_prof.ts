import { MeshReports } from './aggregator.js';
import { Report } from '../contract/report.js';
import { hashSection } from '../contract/hash.js';
import { ReportStore } from '../aggregator/cluster/store.js';
const n = Number(process.argv[2] ?? 5000);
const mesh = new MeshReports(n, {});
const store = new ReportStore();
const t = { build: 0, parse: 0, zod: 0, hash: 0, ingest: 0 };
const now = () => performance.now();
for (let i = 0; i < 60; i++) {
  let a = now();
  const b = mesh.body(i, 1, { full: true });
  t.build += now() - a; a = now();
  const raw = JSON.parse(b.text);
  t.parse += now() - a; a = now();
  const r = Report.parse(raw);
  t.zod += now() - a; a = now();
  for (const k of Object.keys(raw.sections)) if (raw.sections[k].data !== undefined) hashSection(raw.sections[k].data);
  t.hash += now() - a; a = now();
  const res = store.ingest(r, new Date().toISOString(), raw.sections);
  t.ingest += now() - a;
  if (res.kind !== 'accepted') throw new Error(res.kind);
  if (i === 9) for (const k of Object.keys(t)) (t as any)[k] = 0;
}
console.log(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, (v / 50).toFixed(1)])), 'ms per report; bytes', mesh.body(0,1,{full:true}).text.length);
