/**
 * Pure parsers for the bridge forwarding database: `bridge -j fdb show` and its plain-text form
 * `bridge fdb show` (what older hosts and saved bundles have). Never throw.
 *
 * When the command was filtered by device (`bridge fdb show dev vxlan.calico`), iproute2 leaves the
 * device out of every entry (bridge/fdb.c prints `dev`/`ifname` only without a dev filter); pass it
 * as `defaultDev`.
 */
import type { FdbEntry } from '../../contract/snapshot.js';
import { parsed, parseError, type Parsed } from '../../contract/result.js';
import { int, str, strings, visitJsonEntries } from './iproute-json.js';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** NUD states bridge/fdb.c state_n2a prints; an empty string there means a dynamic entry. */
const STATES = new Set(['permanent', 'static', 'stale', 'noarp', 'reachable', 'delay', 'probe', 'incomplete', 'failed']);
/** Flag words printed without a value. */
const FLAGS = new Set(['self', 'master', 'router', 'extern_learn', 'offload', 'sticky', 'locked', 'blackhole']);
/** Keywords followed by one value. */
const KEYED = new Set(['dev', 'dst', 'port', 'vni', 'src_vni', 'via', 'vlan', 'nhid', 'master']);

/** `bridge -j fdb show [dev X]`. */
export const parseBridgeFdbJson = (text: string, defaultDev?: string): Parsed<FdbEntry[]> =>
  visitJsonEntries<FdbEntry>(text, 'fdb', (e, i, out) => {
    const mac = str(e, 'mac');
    if (mac === null) return parseError('invalid-shape', `fdb entry ${i}: missing mac`);
    const dev = str(e, 'ifname') ?? str(e, 'dev') ?? defaultDev ?? null;
    if (dev === null) return parseError('invalid-shape', `fdb entry ${i}: ${mac}: no device (pass the dev filter)`);
    const state = str(e, 'state');
    out.push({
      mac: mac.toLowerCase(),
      dev,
      dst: str(e, 'dst'),
      flags: strings(e, 'flags'),
      state: state === null || state === '' ? null : state,
      vni: int(e, 'vni'),
      port: int(e, 'port'),
    });
    return undefined;
  });

/** `bridge fdb show [dev X]` plain text, one entry per line. */
export const parseBridgeFdbText = (text: string, defaultDev?: string): Parsed<FdbEntry[]> => {
  const out: FdbEntry[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const lineNo = i + 1;
    const tokens = line.split(/\s+/);
    const mac = tokens[0] ?? '';
    if (!MAC.test(mac)) return parseError('syntax', `expected a MAC address, got ${JSON.stringify(mac.slice(0, 40))}`, lineNo);
    const entry: FdbEntry = { mac: mac.toLowerCase(), dev: defaultDev ?? '', dst: null, flags: [], state: null, vni: null, port: null };
    for (let t = 1; t < tokens.length; t++) {
      const tok = tokens[t] ?? '';
      const next = tokens[t + 1];
      // `master` is both a flag (NTF_MASTER) and `master <bridge>` (NDA_MASTER)
      if (KEYED.has(tok) && next !== undefined && !(tok === 'master' && (FLAGS.has(next) || STATES.has(next)))) {
        t++;
        if (tok === 'dev') entry.dev = next;
        else if (tok === 'dst') entry.dst = next;
        else if (tok === 'port' || tok === 'vni') {
          if (!/^\d+$/.test(next)) return parseError('syntax', `${tok} is not a number: ${JSON.stringify(next.slice(0, 20))}`, lineNo);
          entry[tok] = Number(next);
        }
        continue;
      }
      if (FLAGS.has(tok)) entry.flags.push(tok);
      else if (STATES.has(tok)) entry.state = tok;
      else if (tok === 'used' || tok === 'updated') {
        // `-s` timers: "used 12/34"; skip the value
        t++;
      } else return parseError('syntax', `unknown word ${JSON.stringify(tok.slice(0, 40))}`, lineNo);
    }
    if (entry.dev === '') return parseError('syntax', `${entry.mac}: no device (pass the dev filter)`, lineNo);
    out.push(entry);
  }
  return parsed(out);
};
