/**
 * Pure parsers for kernel parameters: a single /proc/sys integer file, and `sysctl -a`-style text
 * (`net.ipv4.conf.all.rp_filter = 1`). Never throw.
 *
 * In sysctl's dotted keys a `.` inside one component (an interface name such as `vxlan.calico`)
 * is printed as `/` (`net.ipv4.conf.vxlan/calico.rp_filter`, seen in the recorded fixture); the
 * parser turns it back into the real name.
 */
import { parsed, parseError, type Parsed } from '../../contract/result.js';

/** The content of an integer /proc/sys file, e.g. "1\n". */
export const parseSysctlInt = (text: string): Parsed<number> => {
  const t = text.trim();
  if (t === '') return parseError('empty', 'empty value');
  if (!/^-?\d+$/.test(t)) return parseError('syntax', `not a single integer: ${JSON.stringify(t.slice(0, 40))}`, 1);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) return parseError('syntax', `integer out of range: ${t.slice(0, 40)}`, 1);
  return parsed(n);
};

export interface SysctlEntry {
  /** key components with `/` turned back into `.`: ['net','ipv4','conf','vxlan.calico','rp_filter'] */
  path: string[];
  value: string;
}

/** `sysctl -a` / `sysctl <keys>` output. Blank lines are skipped; anything else must be `key = value`. */
export const parseSysctlText = (text: string): Parsed<SysctlEntry[]> => {
  const out: SysctlEntry[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^([A-Za-z0-9_.\-/:@]+)\s*=\s*(.*)$/.exec(line);
    if (!m) return parseError('syntax', `expected "key = value", got ${JSON.stringify(line.slice(0, 60))}`, i + 1);
    const key = m[1] ?? '';
    const path = key.split('.').map((c) => c.replace(/\//g, '.'));
    if (path.some((c) => c === '')) return parseError('syntax', `empty key component in ${JSON.stringify(key.slice(0, 60))}`, i + 1);
    out.push({ path, value: (m[2] ?? '').trim() });
  }
  return parsed(out);
};

/**
 * Per-interface values from parsed sysctl text: `net.<family>.conf.<iface>.<name>` as integers.
 * Non-integer values are left out.
 */
export const confValues = (entries: SysctlEntry[], family: 'ipv4' | 'ipv6', name: string): Map<string, number> => {
  const out = new Map<string, number>();
  for (const e of entries) {
    const [net, fam, conf, iface, leaf] = e.path;
    if (e.path.length !== 5 || net !== 'net' || fam !== family || conf !== 'conf' || leaf !== name || iface === undefined) continue;
    const v = parseSysctlInt(e.value);
    if (v.ok) out.set(iface, v.value);
  }
  return out;
};
