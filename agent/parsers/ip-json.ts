/**
 * Pure parsers for iproute2 JSON output (`ip -j ...`): links, addresses, routes, neighbours.
 * They keep what the checks need, accept unknown extra fields, and never throw: bad input is a
 * typed `ParseError` (see iproute-json.ts for the tolerated quirks of old iproute2 releases).
 *
 * Field names follow iproute2 (ip/ipaddress.c print_linkinfo, ip/iplink_vxlan.c vxlan_print_opt,
 * ip/iproute.c print_route, ip/ipneigh.c print_neigh), checked against output recorded from
 * iproute2 6.1 (test/fixtures/ip/SOURCES.md).
 */
import type { Address, Link, LinkStats, Neighbour, Route, VxlanInfo } from '../../contract/snapshot.js';
import { parsed, parseError, type Parsed } from '../../contract/result.js';
import { bool, counter, int, isObject, obj, str, strings, visitJsonEntries, type JsonObject } from './iproute-json.js';

export type Family = 'inet' | 'inet6';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$/i;

const entryError = (what: string, index: number, why: string): Parsed<never> =>
  parseError('invalid-shape', `${what} entry ${index}: ${why}`);

const stats = (o: JsonObject): LinkStats | null => {
  const s = obj(o, 'stats64') ?? obj(o, 'stats');
  if (!s) return null;
  const rx = obj(s, 'rx');
  const tx = obj(s, 'tx');
  if (!rx || !tx) return null;
  const v = {
    rxPackets: counter(rx, 'packets'),
    rxBytes: counter(rx, 'bytes'),
    rxErrors: counter(rx, 'errors'),
    rxDropped: counter(rx, 'dropped'),
    txPackets: counter(tx, 'packets'),
    txBytes: counter(tx, 'bytes'),
    txErrors: counter(tx, 'errors'),
    txDropped: counter(tx, 'dropped'),
  };
  for (const x of Object.values(v)) if (x === null) return null;
  return v as LinkStats;
};

const vxlan = (linkinfo: JsonObject | null): VxlanInfo | null => {
  if (!linkinfo || str(linkinfo, 'info_kind') !== 'vxlan') return null;
  const d = obj(linkinfo, 'info_data');
  if (!d) return { id: null, port: null, local: null, link: null, learning: null };
  return {
    id: int(d, 'id'),
    port: int(d, 'port'),
    // iproute2 prints an IPv6 source as "local6"
    local: str(d, 'local') ?? str(d, 'local6'),
    link: str(d, 'link'),
    learning: bool(d, 'learning'),
  };
};

/** `ip -j -d -s link show` (also accepts output without -d / -s: kind, vxlan and stats are then null). */
export const parseIpLinks = (text: string): Parsed<Link[]> => {
  const entries = visitJsonEntries<JsonObject>(text, 'link', (e, _i, out) => {
    out.push(e);
    return undefined;
  });
  if (!entries.ok) return entries;
  const raw = entries.value;
  const nameByIndex = new Map<number, string>();
  for (const e of raw) {
    const idx = int(e, 'ifindex');
    const name = str(e, 'ifname');
    if (idx !== null && name !== null) nameByIndex.set(idx, name);
  }
  const links: Link[] = [];
  for (const [i, e] of raw.entries()) {
    const ifindex = int(e, 'ifindex');
    const name = str(e, 'ifname');
    const mtu = int(e, 'mtu');
    if (ifindex === null) return entryError('link', i, 'missing ifindex');
    if (name === null) return entryError('link', i, 'missing ifname');
    if (mtu === null) return entryError('link', i, `${name}: missing mtu`);
    const linkinfo = obj(e, 'linkinfo');
    const address = str(e, 'address');
    // `link` is the peer/underlay name when iproute2 could resolve it; `link_index` alone is an
    // index in this namespace unless `link_netnsid` says it lives in another one.
    let parent = str(e, 'link');
    const linkIndex = int(e, 'link_index');
    if (parent === null && linkIndex !== null && !('link_netnsid' in e)) parent = nameByIndex.get(linkIndex) ?? null;
    links.push({
      ifindex,
      name,
      kind: linkinfo ? str(linkinfo, 'info_kind') : null,
      flags: strings(e, 'flags'),
      operstate: str(e, 'operstate') ?? 'UNKNOWN',
      mtu,
      mac: address !== null && MAC.test(address) ? address.toLowerCase() : null,
      master: str(e, 'master'),
      parent,
      vxlan: vxlan(linkinfo),
      stats: stats(e),
    });
  }
  return parsed(links);
};

/** `ip -j addr show` (both families; other families such as `link` are skipped). */
export const parseIpAddrs = (text: string): Parsed<Address[]> =>
  visitJsonEntries<Address>(text, 'address', (e, i, out) => {
    const ifname = str(e, 'ifname');
    if (ifname === null) return entryError('address', i, 'missing ifname');
    const infos = e['addr_info'];
    if (infos === undefined) return undefined;
    if (!Array.isArray(infos)) return entryError('address', i, `${ifname}: addr_info is not an array`);
    for (const a of infos) {
      if (!isObject(a)) return entryError('address', i, `${ifname}: addr_info entry is not an object`);
      const family = str(a, 'family');
      if (family !== 'inet' && family !== 'inet6') continue;
      const local = str(a, 'local');
      const prefixlen = int(a, 'prefixlen');
      if (local === null || prefixlen === null) return entryError('address', i, `${ifname}: address without local/prefixlen`);
      out.push({ ifname, family, local, prefixlen, scope: str(a, 'scope') ?? 'global' });
    }
    return undefined;
  });

const familyOf = (addr: string | null): Family | null => {
  if (addr === null) return null;
  if (addr.includes(':')) return 'inet6';
  if (addr.includes('.')) return 'inet';
  return null;
};

/** `via` is an object (`{"family":"inet6","host":"fe80::1"}`) for routes with a gateway of another family. */
const gatewayOf = (o: JsonObject): string | null => {
  const gw = str(o, 'gateway');
  if (gw !== null) return gw;
  const via = obj(o, 'via');
  return via ? str(via, 'host') : null;
};

const cidr = (dst: string, family: Family): string =>
  dst === 'default' || dst.includes('/') ? dst : `${dst}/${family === 'inet6' ? 128 : 32}`;

/**
 * iproute2 5.9/5.10 print a non-unicast route's type as a bare string inside the object
 * (`{"broadcast","dst":"127.0.0.0",...}`, iproute2/iproute2 issue #37), which is not JSON and is in
 * every `table all` dump (the local table). Rewritten to `{"type":"broadcast",...}` before parsing.
 */
const BARE_TYPE = /\{"(unicast|local|broadcast|anycast|multicast|blackhole|unreachable|prohibit|throw|nat|xresolve)",/g;
export const repairRouteJson = (text: string): string => text.replace(BARE_TYPE, '{"type":"$1",');

/**
 * `ip -j route show table all` / `ip -j -6 route show table all`. `family` is what the command asked
 * for; each route's own family is taken from its addresses when they say (an unfiltered
 * `ip route show table all` prints both families).
 */
export const parseIpRoutes = (text: string, family: Family): Parsed<Route[]> =>
  visitJsonEntries<Route>(repairRouteJson(text), 'route', (e, i, out) => {
    const dst = str(e, 'dst');
    if (dst === null || dst === '') return entryError('route', i, 'missing dst');
    const nh = e['nexthops'];
    if (nh !== undefined && !Array.isArray(nh)) return entryError('route', i, `${dst}: nexthops is not an array`);
    const nexthops: Route['nexthops'] = [];
    for (const n of (nh as unknown[] | undefined) ?? []) {
      if (!isObject(n)) return entryError('route', i, `${dst}: nexthop is not an object`);
      nexthops.push({ gateway: gatewayOf(n), dev: str(n, 'dev'), flags: strings(n, 'flags') });
    }
    const gateway = gatewayOf(e);
    const fam =
      (dst === 'default' ? null : familyOf(dst.split('/')[0] ?? null)) ??
      familyOf(str(e, 'gateway')) ??
      familyOf(str(e, 'prefsrc')) ??
      familyOf(nexthops[0]?.gateway ?? null) ??
      family;
    const metric = int(e, 'metric');
    out.push({
      family: fam,
      type: str(e, 'type') ?? 'unicast',
      dst: cidr(dst, fam),
      gateway,
      dev: str(e, 'dev'),
      // iproute2 omits the protocol when it is `boot`, the scope when `global`, the table when `main`
      protocol: str(e, 'protocol') ?? (int(e, 'protocol') !== null ? String(int(e, 'protocol')) : 'boot'),
      scope: str(e, 'scope') ?? 'global',
      flags: strings(e, 'flags'),
      table: str(e, 'table') ?? (int(e, 'table') !== null ? String(int(e, 'table')) : 'main'),
      metric,
      prefsrc: str(e, 'prefsrc'),
      nexthops,
    });
    return undefined;
  });

/** `ip -j neigh show` (prints both families when no family is given). */
export const parseIpNeigh = (text: string): Parsed<Neighbour[]> =>
  visitJsonEntries<Neighbour>(text, 'neighbour', (e, i, out) => {
    const dst = str(e, 'dst');
    const dev = str(e, 'dev');
    if (dst === null) return entryError('neighbour', i, 'missing dst');
    if (dev === null) return entryError('neighbour', i, `${dst}: missing dev`);
    const fam = familyOf(dst);
    // other families (e.g. bridge/mdb entries some tools mix in) are not neighbours we check
    if (fam === null) return undefined;
    const lladdr = str(e, 'lladdr');
    out.push({
      family: fam,
      dst,
      dev,
      lladdr: lladdr === null ? null : lladdr.toLowerCase(),
      state: strings(e, 'state'),
      // iproute2 prints `"router": null` for NTF_ROUTER entries
      router: 'router' in e,
    });
    return undefined;
  });
