/**
 * Kernel parameters read from /proc/sys (no `sysctl` binary needed): IP forwarding, per-interface
 * rp_filter / forwarding / proxy_arp for all, default, the uplinks and Calico's tunnel devices
 * (absent ones skipped), every cali* device summarised, and the conntrack fill level.
 * The section is unavailable only when /proc/sys/net/ipv4/ip_forward itself cannot be read.
 */
import type { Collector, Host } from './types.js';
import { ok, unavailable } from '../../contract/result.js';
import type { InterfaceSysctls, Sysctls } from '../../contract/snapshot.js';
import { parseSysctlInt } from '../parsers/sysctl.js';
import { fileReason } from './run-command.js';

export const TUNNEL_DEVICES = ['tunl0', 'vxlan.calico', 'vxlan-v6.calico', 'wireguard.cali'] as const;
const CONF = '/proc/sys/net/ipv4/conf';
/** cali* devices read at once (each is three small reads). */
const BATCH = 64;

const readInt = async (host: Host, path: string): Promise<number | null> => {
  const r = await host.readFile(path, 4096);
  if (!r.ok) return null;
  const v = parseSysctlInt(r.text);
  return v.ok ? v.value : null;
};

/** The three per-interface values; null when the interface has no conf directory. */
const readIface = async (host: Host, scope: string): Promise<InterfaceSysctls | null> => {
  const [rpFilter, forwarding, proxyArp] = await Promise.all([
    readInt(host, `${CONF}/${scope}/rp_filter`),
    readInt(host, `${CONF}/${scope}/forwarding`),
    readInt(host, `${CONF}/${scope}/proxy_arp`),
  ]);
  if (rpFilter === null && forwarding === null && proxyArp === null) return null;
  return { scope, rpFilter, forwarding, proxyArp };
};

export const collectSysctls: Collector<'sysctls'> = async (host, _config, context) => {
  const fwd = await host.readFile('/proc/sys/net/ipv4/ip_forward', 4096);
  if (!fwd.ok) return unavailable(fileReason(fwd), `/proc/sys/net/ipv4/ip_forward: ${fwd.message}`);
  const fwdValue = parseSysctlInt(fwd.text);

  const scopes = [...new Set(['all', 'default', ...context.uplinks, ...TUNNEL_DEVICES])];
  const interfaces = (await Promise.all(scopes.map((s) => readIface(host, s)))).filter((x): x is InterfaceSysctls => x !== null);

  const dir = await host.listDir(CONF);
  const cali = dir.ok ? dir.entries.filter((n) => n.startsWith('cali')).sort() : [];
  const workloadDevices: Sysctls['workloadDevices'] = { count: 0, rpFilter: {}, proxyArpOff: [], forwardingOff: [] };
  for (let i = 0; i < cali.length; i += BATCH) {
    const batch = await Promise.all(cali.slice(i, i + BATCH).map((n) => readIface(host, n)));
    for (const d of batch) {
      if (!d) continue; // the device went away between listing and reading
      workloadDevices.count++;
      const key = d.rpFilter === null ? 'unknown' : String(d.rpFilter);
      workloadDevices.rpFilter[key] = (workloadDevices.rpFilter[key] ?? 0) + 1;
      if (d.proxyArp !== 1) workloadDevices.proxyArpOff.push(d.scope);
      if (d.forwarding !== 1) workloadDevices.forwardingOff.push(d.scope);
    }
  }

  const [ipv6Forwarding, ctCount, ctMax] = await Promise.all([
    readInt(host, '/proc/sys/net/ipv6/conf/all/forwarding'),
    readInt(host, '/proc/sys/net/netfilter/nf_conntrack_count'),
    readInt(host, '/proc/sys/net/netfilter/nf_conntrack_max'),
  ]);
  return ok({
    ipv4Forward: fwdValue.ok ? fwdValue.value : null,
    ipv6Forwarding,
    interfaces,
    workloadDevices,
    conntrack: ctCount !== null && ctMax !== null ? { count: ctCount, max: ctMax } : null,
  });
};
