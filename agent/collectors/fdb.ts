/**
 * FDB entries of Calico's VXLAN devices: `bridge -j fdb show dev <dev>` for each of vxlan.calico /
 * vxlan-v6.calico the links collector saw (a node's bridges can hold thousands of unrelated
 * entries). Without a links result, `bridge -j fdb show` filtered to those devices.
 */
import type { Collector, CollectorConfig, Host } from './types.js';
import { ok, type Collected, type Parsed } from '../../contract/result.js';
import type { FdbEntry } from '../../contract/snapshot.js';
import { parseBridgeFdbJson, parseBridgeFdbText } from '../parsers/bridge-fdb.js';
import { runAndParse } from './run-command.js';

export const VXLAN_DEVICES = ['vxlan.calico', 'vxlan-v6.calico'] as const;

/**
 * Old iproute2 prints nothing for an empty table, and releases whose `bridge` ignores -j print the
 * plain-text form, which is read as such.
 */
const parse =
  (dev?: string) =>
  (text: string): Parsed<FdbEntry[]> => {
    const p = parseBridgeFdbJson(text, dev);
    if (p.ok) return p;
    if (p.error.code === 'empty') return { ok: true, value: [] };
    if (p.error.code === 'incompatible') return parseBridgeFdbText(text, dev);
    return p;
  };

/** `bridge -j fdb show [dev X]`, or the text form when this `bridge` has no -j at all. */
const readFdb = async (host: Host, config: CollectorConfig, dev?: string): Promise<Collected<FdbEntry[]>> => {
  const filter = dev === undefined ? [] : ['dev', dev];
  const json = await runAndParse(host, config, ['bridge', '-j', 'fdb', 'show', ...filter], parse(dev));
  if (json.status === 'ok' || json.reason !== 'incompatible') return json;
  return runAndParse(host, config, ['bridge', 'fdb', 'show', ...filter], (t) => parseBridgeFdbText(t, dev));
};

export const collectFdb: Collector<'fdb'> = async (host, config, context) => {
  if (context.linkNames === null) {
    const all = await readFdb(host, config);
    if (all.status !== 'ok') return all;
    return ok(all.data.filter((e) => (VXLAN_DEVICES as readonly string[]).includes(e.dev)));
  }
  const names = context.linkNames;
  const devs = VXLAN_DEVICES.filter((d) => names.includes(d));
  const results = await Promise.all(devs.map((d) => readFdb(host, config, d)));
  const out: FdbEntry[] = [];
  for (const r of results) {
    if (r.status !== 'ok') return r;
    out.push(...r.data);
  }
  return ok(out);
};
