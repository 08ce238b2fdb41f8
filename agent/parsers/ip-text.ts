/**
 * Pure parsers for iproute2 PLAIN-TEXT output, for releases without `-j` (iproute2 < 4.13, e.g. 4.11
 * on CentOS/RHEL 7) or that ignore it. They produce the same contract types as ip-json.ts, with the
 * same defaults (protocol `boot`, scope `global`, table `main` when iproute2 leaves them out), and
 * never throw: bad input is a typed ParseError with its 1-based line.
 *
 * Written for the format of iproute2's print functions (field order as in ip/ipaddress.c
 * print_linkinfo / print_addrinfo, ip/iplink_vxlan.c vxlan_print_opt, ip/link_iptnl.c,
 * ip/iproute.c print_route / print_rta_multipath, ip/ipneigh.c print_neigh), old and new spacing:
 *   `N: name[@peer]: <FLAGS> mtu M qdisc Q [master X] state S ...`   link / address header
 *   `    link/ether MAC brd MAC [link-netnsid N] ...`                 link type and address
 *   `    vxlan id 4096 local X dev Y srcport 0 0 dstport 4789 nolearning ...` (-d: kind + options)
 *   `    RX: bytes packets errors dropped overrun mcast` + a row of numbers (-s), TX likewise
 *   `    inet A/P [brd B] [peer P/N] scope S ...`, `inet6 A/P scope S ...`   (ip addr)
 *   `[type ]dst [via [inet6] G] [dev D] [table T] [proto P] [scope S] [src X] [metric M] [flags]`
 *   `\tnexthop via G dev D weight W [flags]`                           (ECMP next hops)
 *   `dst dev D [lladdr L] [router] STATE...`                           (ip neigh)
 */
import type { Address, Link, LinkStats, Neighbour, Route, VxlanInfo } from '../../contract/snapshot.js';
import { parsed, parseError, type Parsed } from '../../contract/result.js';
import type { Family } from './ip-json.js';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$/i;
/** `12: cali1@if4: <BROADCAST,UP> mtu 1500 ...`: index, name, optional @peer, flags, the rest */
const HEADER = /^(\d+):\s+([^\s:@]+)(?:@(\S+?))?:\s+<([^>]*)>(.*)$/;
const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve']);
const ROUTE_FLAGS = new Set(['dead', 'onlink', 'pervasive', 'offload', 'trap', 'notify', 'linkdown', 'unresolved', 'rt_offload', 'rt_trap', 'rt_offload_failed']);
/** route attributes printed as `key value` (value skipped unless used) */
const ROUTE_KV = new Set([
  'from', 'tos', 'dsfield', 'realm', 'realms', 'expires', 'error', 'pref', 'mtu', 'advmss', 'rtt', 'rttvar', 'window', 'cwnd',
  'initcwnd', 'initrwnd', 'ssthresh', 'reordering', 'hoplimit', 'quickack', 'features', 'congctl', 'fastopen_no_cookie',
  'rto_min', 'nhid', 'weight', 'ipid', 'as', 'ttl-propagate', 'iif', 'oif', 'uid', 'used', 'age',
]);
/** neighbour states as ip/ipneigh.c prints them (nud_state_n2a) */
const NUD = new Set(['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'NOARP', 'PERMANENT', 'NONE']);

const tokens = (s: string): string[] => s.trim().split(/\s+/).filter((t) => t !== '');
const isIndented = (l: string): boolean => /^\s/.test(l);

const familyOf = (addr: string | null | undefined): Family | null => {
  if (addr === null || addr === undefined) return null;
  if (addr.includes(':')) return 'inet6';
  if (addr.includes('.')) return 'inet';
  return null;
};

const safeInt = (s: string | undefined): number | null => {
  if (s === undefined || !/^-?\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
};

/** The value after `key` in a token list, when present. */
const after = (toks: readonly string[], key: string): string | undefined => {
  const i = toks.indexOf(key);
  return i >= 0 ? toks[i + 1] : undefined;
};

/** Splits text into lines with their 1-based numbers, dropping blank ones. */
const lines = (text: string): { n: number; l: string }[] =>
  text
    .split('\n')
    .map((l, i) => ({ n: i + 1, l: l.replace(/\r$/, '') }))
    .filter((x) => x.l.trim() !== '');

interface Block {
  n: number;
  index: number;
  name: string;
  at: string | null;
  flags: string[];
  rest: string[];
  body: { n: number; l: string }[];
}

/**
 * Groups `ip link` / `ip addr` output into one block per device (header line + indented lines).
 * A header that does not parse is `truncated` on the last line (cut by the output cap), else `syntax`.
 */
const blocks = (text: string): Parsed<Block[]> => {
  const ls = lines(text);
  if (ls.length === 0) return parseError('empty', 'no output');
  const out: Block[] = [];
  for (const [k, { n, l }] of ls.entries()) {
    if (isIndented(l)) {
      const cur = out[out.length - 1];
      if (!cur) return parseError('syntax', `indented line before any device header: ${JSON.stringify(l.trim().slice(0, 40))}`, n);
      cur.body.push({ n, l });
      continue;
    }
    const m = HEADER.exec(l);
    const rest = m ? tokens(m[5] ?? '') : [];
    if (!m || safeInt(after(rest, 'mtu')) === null) {
      const last = k === ls.length - 1;
      return parseError(last ? 'truncated' : 'syntax', `not a device header: ${JSON.stringify(l.slice(0, 60))}`, n);
    }
    const index = safeInt(m[1]);
    if (index === null) return parseError('syntax', 'ifindex out of range', n);
    out.push({
      n,
      index,
      name: m[2] ?? '',
      at: m[3] ?? null,
      flags: (m[4] ?? '').split(',').filter((f) => f !== ''),
      rest,
      body: [],
    });
  }
  return parsed(out);
};

/** `RX: bytes packets errors dropped ...` header and the row of numbers below it, as a name → value map. */
const statsRow = (header: string, row: string | undefined): Map<string, number> | null => {
  if (row === undefined) return null;
  const names = tokens(header).slice(1);
  const values = tokens(row);
  if (values.length < names.length) return null;
  const m = new Map<string, number>();
  for (const [i, name] of names.entries()) {
    const v = safeInt(values[i]);
    if (v === null || v < 0) return null;
    m.set(name, v);
  }
  return m;
};

const vxlanInfo = (opts: readonly string[]): VxlanInfo => {
  const id = safeInt(after(opts, 'id'));
  const port = safeInt(after(opts, 'dstport'));
  return {
    id,
    port,
    local: after(opts, 'local') ?? null,
    link: after(opts, 'dev') ?? null,
    // vxlan_print_opt prints `nolearning` when the kernel says learning is off, nothing (old) or
    // `learning` (new) when on
    learning: opts.includes('nolearning') ? false : true,
  };
};

/** Words that start an indented line of `ip -d link` but are not the link kind. */
const NOT_KIND = /^(RX:|TX:|RX|TX|altname|alias|inet6?|valid_lft|vf|prop|link\/|link-netns|\d)/;

/**
 * `ip -d -s link show` (also accepts `ip link show` / `ip addr show`: kind, vxlan and stats are
 * null when the output does not carry them). Without `-d`, `link/ipip` (ARPHRD_TUNNEL, only the
 * ipip driver uses it) still gives kind `ipip`, so a tunl0 is recognised from `ip a` output.
 */
export const parseIpTextLinks = (text: string): Parsed<Link[]> => {
  const bs = blocks(text);
  if (!bs.ok) return bs;
  const out: Link[] = [];
  for (const b of bs.value) {
    let mac: string | null = null;
    let linkType: string | null = null;
    let netnsid = false;
    let kind: string | null = null;
    let vxlan: VxlanInfo | null = null;
    let rx: Map<string, number> | null = null;
    let tx: Map<string, number> | null = null;
    let seenLinkLine = false;
    for (let j = 0; j < b.body.length; j++) {
      const t = tokens(b.body[j]?.l ?? '');
      const first = t[0] ?? '';
      if (first.startsWith('link/')) {
        seenLinkLine = true;
        linkType = first.slice('link/'.length);
        const addr = t[1];
        mac = addr !== undefined && MAC.test(addr) ? addr.toLowerCase() : null;
        netnsid = t.includes('link-netnsid') || t.includes('link-netns');
        continue;
      }
      if (first === 'RX:' || first === 'TX:') {
        const next = b.body[j + 1];
        const row = next !== undefined && /^\s*\d/.test(next.l) ? next.l : undefined;
        const m = statsRow(b.body[j]?.l ?? '', row);
        if (first === 'RX:') rx = m;
        else tx = m;
        if (row !== undefined) j++;
        continue;
      }
      if (!seenLinkLine || NOT_KIND.test(first) || first.endsWith('_slave') || kind !== null) continue;
      // ip -d: the line after link/… opens with the linkinfo kind, unless it is a generic attribute
      if (/^[a-z][a-z0-9_.-]*$/.test(first) && !['promiscuity', 'addrgenmode', 'numtxqueues', 'minmtu'].includes(first)) {
        kind = first;
        if (kind === 'vxlan') vxlan = vxlanInfo(t.slice(1));
      }
    }
    if (kind === null && linkType === 'ipip') kind = 'ipip';
    const stats: LinkStats | null =
      rx && tx
        ? (() => {
            const v = [rx.get('bytes'), rx.get('packets'), rx.get('errors'), rx.get('dropped'), tx.get('bytes'), tx.get('packets'), tx.get('errors'), tx.get('dropped')];
            if (v.some((x) => x === undefined)) return null;
            const [rxBytes, rxPackets, rxErrors, rxDropped, txBytes, txPackets, txErrors, txDropped] = v as number[];
            return { rxPackets: rxPackets!, rxBytes: rxBytes!, rxErrors: rxErrors!, rxDropped: rxDropped!, txPackets: txPackets!, txBytes: txBytes!, txErrors: txErrors!, txDropped: txDropped! };
          })()
        : null;
    // `@NONE`: IFLA_LINK 0; `@ifN` with link-netnsid: the peer is in another namespace (ip -j
    // gives only link_index then); anything else is the peer/underlay name in this namespace
    const parent = b.at === null || b.at === 'NONE' || (netnsid && /^if\d+$/.test(b.at)) ? null : b.at;
    out.push({
      ifindex: b.index,
      name: b.name,
      kind,
      flags: b.flags,
      operstate: after(b.rest, 'state') ?? 'UNKNOWN',
      mtu: safeInt(after(b.rest, 'mtu')) ?? 0,
      mac,
      master: after(b.rest, 'master') ?? null,
      parent,
      vxlan,
      stats,
    });
  }
  return parsed(out);
};

/** `ip addr show` (both families; `link/…` and lifetime lines are skipped). */
export const parseIpTextAddrs = (text: string): Parsed<Address[]> => {
  const bs = blocks(text);
  if (!bs.ok) return bs;
  const out: Address[] = [];
  for (const b of bs.value) {
    for (const { n, l } of b.body) {
      const t = tokens(l);
      const family = t[0];
      if (family !== 'inet' && family !== 'inet6') continue;
      const a = t[1] ?? '';
      const [local, len] = a.split('/');
      // `inet 10.0.0.1 peer 10.0.0.2/32`: the prefix length is the peer's
      const plen = len ?? after(t, 'peer')?.split('/')[1] ?? (family === 'inet6' ? '128' : '32');
      const prefixlen = safeInt(plen);
      if (local === undefined || local === '' || familyOf(local) === null || prefixlen === null) {
        return parseError('syntax', `${b.name}: address without local/prefixlen: ${JSON.stringify(l.trim().slice(0, 60))}`, n);
      }
      out.push({ ifname: b.name, family, local, prefixlen, scope: after(t, 'scope') ?? 'global' });
    }
  }
  return parsed(out);
};

const cidr = (dst: string, family: Family): string =>
  dst === 'default' || dst.includes('/') ? dst : `${dst}/${family === 'inet6' ? 128 : 32}`;

interface Hop {
  gateway: string | null;
  dev: string | null;
  flags: string[];
  kv: Map<string, string>;
}

/** Reads `via [inet|inet6] G`, `dev D`, `key value` pairs and flags from route tokens. */
const readHop = (t: readonly string[]): Hop => {
  const hop: Hop = { gateway: null, dev: null, flags: [], kv: new Map() };
  for (let i = 0; i < t.length; i++) {
    const w = t[i] ?? '';
    if (w === 'via') {
      let g = t[i + 1];
      if (g === 'inet' || g === 'inet6') g = t[++i + 1];
      hop.gateway = g ?? null;
      i++;
    } else if (ROUTE_FLAGS.has(w)) hop.flags.push(w);
    else if (['dev', 'table', 'proto', 'scope', 'src', 'metric'].includes(w) || ROUTE_KV.has(w)) {
      let v = t[i + 1];
      if (w === 'mtu' && v === 'lock') v = t[++i + 1];
      if (v !== undefined) hop.kv.set(w, v);
      if (w === 'dev') hop.dev = v ?? null;
      i++;
    }
    // anything else (`cache`, `encap …` words, newer attributes) is skipped
  }
  return hop;
};

/**
 * `ip route show table all` / `ip -6 route show table all` (also plain `ip route`). `family` is
 * what the command asked for; a route's own family is taken from its addresses when they say.
 */
export const parseIpTextRoutes = (text: string, family: Family): Parsed<Route[]> => {
  const ls = lines(text);
  if (ls.length === 0) return parseError('empty', 'no output');
  const out: Route[] = [];
  for (const [k, { n, l }] of ls.entries()) {
    const t = tokens(l);
    if (isIndented(l)) {
      const cur = out[out.length - 1];
      if (t[0] !== 'nexthop') continue; // e.g. `cache` continuation lines
      if (!cur) return parseError('syntax', 'nexthop line before any route', n);
      const hop = readHop(t.slice(1));
      cur.nexthops.push({ gateway: hop.gateway, dev: hop.dev, flags: hop.flags });
      continue;
    }
    let i = 0;
    let type = 'unicast';
    if (ROUTE_TYPES.has(t[0] ?? '')) {
      type = t[0] ?? 'unicast';
      i = 1;
    }
    const dst = t[i];
    const addr = dst?.split('/')[0];
    if (dst === undefined || (dst !== 'default' && familyOf(addr) === null) || (dst.includes('/') && safeInt(dst.split('/')[1]) === null)) {
      const last = k === ls.length - 1;
      return parseError(last ? 'truncated' : 'syntax', `not a route: ${JSON.stringify(l.slice(0, 60))}`, n);
    }
    const hop = readHop(t.slice(i + 1));
    const prefsrc = hop.kv.get('src') ?? null;
    const fam = (dst === 'default' ? null : familyOf(addr)) ?? familyOf(hop.gateway) ?? familyOf(prefsrc) ?? family;
    const metric = hop.kv.has('metric') ? safeInt(hop.kv.get('metric')) : null;
    out.push({
      family: fam,
      type,
      dst: cidr(dst, fam),
      gateway: hop.gateway,
      dev: hop.dev,
      protocol: hop.kv.get('proto') ?? 'boot',
      scope: hop.kv.get('scope') ?? 'global',
      flags: hop.flags,
      table: hop.kv.get('table') ?? 'main',
      metric,
      prefsrc,
      nexthops: [],
    });
  }
  // a multipath route's first hop has no gateway of its own; family from the hops when still unknown
  for (const r of out) {
    if (r.dst === 'default' && r.nexthops.length > 0) r.family = familyOf(r.nexthops[0]?.gateway) ?? r.family;
  }
  return parsed(out);
};

/** `ip neigh show` (both families when none is given). */
export const parseIpTextNeigh = (text: string): Parsed<Neighbour[]> => {
  const ls = lines(text);
  if (ls.length === 0) return parseError('empty', 'no output');
  const out: Neighbour[] = [];
  for (const [k, { n, l }] of ls.entries()) {
    const t = tokens(l);
    const dst = t[0] ?? '';
    const fam = familyOf(dst);
    const dev = after(t, 'dev');
    const last = k === ls.length - 1;
    if (dev === undefined) {
      return parseError(last ? 'truncated' : 'syntax', `neighbour without dev: ${JSON.stringify(l.slice(0, 60))}`, n);
    }
    if (fam === null) continue; // not an IP neighbour
    const lladdr = after(t, 'lladdr');
    if (lladdr !== undefined && !/^[0-9a-f]{2}(:[0-9a-f]{2})+$/i.test(lladdr) && familyOf(lladdr) === null) {
      return parseError(last ? 'truncated' : 'syntax', `${dst}: bad lladdr ${JSON.stringify(lladdr)}`, n);
    }
    out.push({
      family: fam,
      dst,
      dev,
      lladdr: lladdr === undefined ? null : lladdr.toLowerCase(),
      state: t.filter((w) => NUD.has(w)),
      router: t.includes('router'),
    });
  }
  return parsed(out);
};
