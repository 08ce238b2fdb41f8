/**
 * ipsets: `ipset save`, reduced to Calico's host sets (with members: the sets Felix's rules guarding
 * encapsulated traffic match — cali40all-vxlan-net / cali60all-vxlan-net for VXLAN in current
 * releases, cali40all-hosts-net / cali60all-hosts-net for IPIP and older VXLAN, felix-calico-hosts-4/6
 * in the oldest; see derive/encap-guards.ts) and the size of every cali* set. No ipset binary is
 * `missing-binary`; no ipset support in the kernel ("Cannot open session to kernel") `not-present`.
 * Any other failure of `ipset save` (non-zero exit, e.g. an old ipset without `save`) falls back to
 * `ipset list` (issue #2); when that fails too, the `ipset save` failure is reported, with the
 * fallback's reason in the detail.
 */
import type { Collector } from './types.js';
import { ok, unavailable, type UnavailableReason } from '../../contract/result.js';
import type { IpSets } from '../../contract/snapshot.js';
import { nftIpSets, probeNftTables, readNftHostSets } from './nftables.js';
import { parseIpsetList, parseIpsetSave } from '../parsers/ipset.js';
import { fromParsed, runCommand } from './run-command.js';

export const IPSET_ARGV = ['ipset', 'save'] as const;
export const IPSET_LIST_ARGV = ['ipset', 'list'] as const;
export const HOST_SETS = [
  'cali40all-vxlan-net',
  'cali60all-vxlan-net',
  'cali40all-hosts-net',
  'cali60all-hosts-net',
  'felix-calico-hosts-4',
  'felix-calico-hosts-6',
] as const;

const classify = (stderr: string): UnavailableReason | null =>
  /cannot open session to kernel|protocol not supported|kernel support/i.test(stderr) ? 'not-present' : null;

/**
 * With Calico's native nftables dataplane the guarding sets are nft sets of the `ip calico` /
 * `ip6 calico` tables (ipset has none then): their members are read with
 * `nft -j list set <family> calico <name>` (nftables.ts readNftHostSets) and merged into the section. A calico table whose listing
 * fails makes the section unavailable with that reason (a set we cannot read is unknown, never empty).
 */
export const collectIpsets: Collector<'ipsets'> = async (host, config, context) => {
  const fromIpset = await collectIpsetSets(host, config, context);
  const probe = await probeNftTables(host, config);
  if (probe.status !== 'ok' || probe.data.calico.length === 0) return fromIpset;
  const merged: IpSets = fromIpset.status === 'ok' ? { hostSets: [...fromIpset.data.hostSets], caliSetSizes: { ...fromIpset.data.caliSetSizes } } : { hostSets: [], caliSetSizes: {} };
  for (const t of probe.data.calico) {
    const family = t.split(' ')[0] as string;
    const r = await readNftHostSets(host, config, family);
    if (r.status !== 'ok') return unavailable(r.reason, `${r.detail} (Calico nftables table ${t} present)`);
    const sets = nftIpSets(r.data);
    merged.hostSets.push(...sets.hostSets);
    Object.assign(merged.caliSetSizes, sets.caliSetSizes);
  }
  return ok(merged);
};

const collectIpsetSets: Collector<'ipsets'> = async (host, config) => {
  const r = await runCommand(host, config, IPSET_ARGV, { classify });
  let sets;
  if (r.ok) sets = fromParsed(IPSET_ARGV.join(' '), parseIpsetSave(r.out.stdout));
  else if (r.unavailable.reason !== 'command-failed') return r.unavailable;
  else {
    const l = await runCommand(host, config, IPSET_LIST_ARGV, { classify });
    if (!l.ok) return { ...r.unavailable, detail: `${r.unavailable.detail}; fallback ${l.unavailable.detail}` };
    sets = fromParsed(IPSET_LIST_ARGV.join(' '), parseIpsetList(l.out.stdout));
  }
  if (sets.status !== 'ok') return sets;
  const hostSets = sets.data.filter((s) => (HOST_SETS as readonly string[]).includes(s.name));
  const caliSetSizes: Record<string, number> = {};
  for (const s of sets.data) if (s.name.startsWith('cali')) caliSetSizes[s.name] = s.members.length;
  return ok({ hostSets, caliSetSizes });
};
