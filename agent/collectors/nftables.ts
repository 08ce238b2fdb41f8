/**
 * Calico's native nftables dataplane (FelixConfiguration `nftablesMode: Enabled`): tables
 * `ip calico` / `ip6 calico`. Detected with `nft list chains`; read with `nft -j list ruleset`
 * (bounded: timeout and output cap) through our own parser (parsers/nft-json.ts), then reduced to
 * the SAME snapshot shapes the iptables collector gives (`Iptables`: chains, DROP/REJECT rules with
 * counters, `cali:` ids, comments and set matches, idle policy drops, encapsulation guards; and
 * `IpSets`: the guarding sets' members), so every check reads either dataplane unchanged.
 *
 * Families: `ip` tables are ipv4, `ip6` tables ipv6; tables of other families (`inet`, `arp`,
 * `bridge`, `netdev`) are not summarised, and a warning says how many rules that leaves out.
 * Chain counters: nftables chains have none (only rules with a `counter` statement count), so a
 * chain summary's packets/bytes are 0. A guarding set's range members become the CIDRs covering
 * them (the membership checks read addresses and CIDRs). The commands are run through `Host` (IO); the reductions
 * (`summariseNftRuleset`, `nftIpSets`) are pure. Stateless.
 */
import { ok, unavailable, type Collected, type Unavailable, type UnavailableReason } from '../../contract/result.js';
import { isPolicyChain, type EncapGuard, type IpSets, type Iptables, type IptablesDropRule } from '../../contract/snapshot.js';
import { parseNftJson, parseNftTableNames, type NftJsonError, type NftRuleset, type NftTableName } from '../parsers/nft-json.js';
import { parseNftListChains, parseNftListFlowtables } from '../parsers/nft-chains-text.js';
import { deriveEncapGuards, encapOf } from '../derive/encap-guards.js';
import { parseIp } from '../../common/net.js';
import { nftFamily, nftPolicyRule } from '../derive/nft-policy-rule.js';
import type { PolicyRule } from '../derive/policy-rule.js';
import { RUN_REASON, firstLine } from './run-command.js';
import type { RunResult } from '../exec/runner.js';
import type { CollectorConfig, Host } from './types.js';

/**
 * The tables probe (#17): every table for next to nothing (nft fetches tables and flowtables only;
 * `list chains` costs nft 0.03–0.07 s of CPU a read on a 100k-rule iptables-nft node).
 */
export const NFT_LIST_TABLES_ARGV = ['nft', 'list', 'flowtables'] as const;
/** which tables hold chains (text: #17, half the nft CPU of the JSON form): run when the probe shows a calico table */
export const NFT_LIST_CHAINS_ARGV = ['nft', 'list', 'chains'] as const;
/**
 * The probe older agents ran: bundles they recorded (`snapshot --save`) hold its output and not the
 * text forms', so the bundle replay (host/replay.ts) answers the text probes with it, and the probes
 * read either form.
 */
export const NFT_LIST_TABLES_JSON_ARGV = ['nft', '-j', 'list', 'chains'] as const;
export const NFT_LIST_RULESET_ARGV = ['nft', '-j', 'list', 'ruleset'] as const;
/** Felix's table name in both families */
export const CALICO_NFT_TABLE = 'calico';
/**
 * Output caps. A parsed JSON ruleset holds about 10 times its text in memory (measured: 16 MiB of
 * `nft -j list ruleset`, 60k rules, peaked at +160 MiB RSS parsed and reduced), so 8 MiB (~30k
 * rules, ~+85 MiB) is what fits beside the agent's other work in its 256 MiB limit; a larger
 * ruleset is unavailable('output-too-large'), never a crash. The chain list (~150 bytes a chain)
 * and one set are small.
 */
export const NFT_TABLES_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
export const NFT_RULESET_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
export const NFT_SET_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
export const nftTimeoutMs = (config: CollectorConfig): number => Math.max(config.timeoutMs, 60_000);

/** The sets whose members may send encapsulated traffic (what ipsets.hostSets carries). */
export const NFT_HOST_SETS = [
  'cali40all-hosts-net',
  'cali60all-hosts-net',
  'cali40all-vxlan-net',
  'cali60all-vxlan-net',
  'felix-calico-hosts-4',
  'felix-calico-hosts-6',
] as const;

type FamilyName = 'ipv4' | 'ipv6';
type ChainSummary = Iptables['chains'][number];
type FamilyTotals = { tables: string[]; chains: number; rules: number; caliChains: number };

const parseReason = (e: NftJsonError): UnavailableReason => (e.code === 'too-large' ? 'output-too-large' : 'invalid-output');
const describeError = (e: NftJsonError): string =>
  `${e.code}: ${e.message}${e.path !== undefined && !e.message.startsWith(e.path) ? ` at ${e.path}` : ''}`;

/** Runs one bounded `nft -j …` command and parses it. */
const runNft = async (host: Host, config: CollectorConfig, argv: readonly [string, ...string[]], maxOutputBytes: number): Promise<Collected<NftRuleset>> =>
  runNftResult(argv, await host.run({ argv, timeoutMs: nftTimeoutMs(config), maxOutputBytes }), maxOutputBytes);

/** A finished `nft -j …` run's stdout, or unavailable(reason) when it did not run or exited non-zero. */
const outputOf = (argv: readonly [string, ...string[]], r: RunResult): string | Unavailable => {
  const cmd = argv.join(' ');
  if (!r.ok) return unavailable(RUN_REASON[r.kind], `${cmd}: ${r.message}`);
  if (r.exitCode !== 0) {
    const why = firstLine(r.stderr) || `exit code ${r.exitCode}`;
    const reason: UnavailableReason = /operation not permitted|permission denied/i.test(r.stderr) ? 'permission-denied' : /protocol not supported/i.test(r.stderr) ? 'not-present' : 'command-failed';
    return unavailable(reason, `${cmd}: exit ${r.exitCode}: ${why}`);
  }
  return r.stdout;
};

/** A finished `nft -j …` run as a parsed ruleset or unavailable(reason). */
const runNftResult = (argv: readonly [string, ...string[]], r: RunResult, maxOutputBytes: number): Collected<NftRuleset> => {
  const out = outputOf(argv, r);
  if (typeof out !== 'string') return out;
  const p = parseNftJson(out, { maxChars: maxOutputBytes });
  if (!p.ok) return unavailable(parseReason(p.error), `${argv.join(' ')}: ${describeError(p.error)}`);
  return ok(p.value);
};

export interface NftTablesProbe {
  /** every table, as `family name` */
  tables: string[];
  /** Felix's tables among them (`ip calico`, `ip6 calico`) */
  calico: string[];
}

/**
 * Probes run once per Host: a snapshot hands one Host to all its collectors (agent/snapshot.ts), so
 * the iptables and ipsets collectors share one probe. It is `nft list flowtables`, which prints
 * every table, not `list tables` (#17: on an iptables-nft node with 100k rules, `list tables` makes
 * nft fetch its whole cache, ~6 s of CPU and 340 MiB each time). Felix's tables always hold chains:
 * when a calico table is listed, `nft list chains` says whether it holds any, as the probe did
 * before, so an empty table left behind is not taken for the nftables dataplane.
 */
const probes = new WeakMap<Host, Promise<Collected<NftTablesProbe>>>();

/** Which tables exist, and whether Felix's nftables dataplane is among them. */
export const probeNftTables = (host: Host, config: CollectorConfig): Promise<Collected<NftTablesProbe>> => {
  let p = probes.get(host);
  if (p === undefined) {
    p = probeOnce(host, config);
    probes.set(host, p);
  }
  return p;
};

const probeOnce = async (host: Host, config: CollectorConfig): Promise<Collected<NftTablesProbe>> => {
  const argv = NFT_LIST_TABLES_ARGV;
  const r = await host.run({ argv, timeoutMs: nftTimeoutMs(config), maxOutputBytes: NFT_TABLES_MAX_OUTPUT_BYTES });
  const out = outputOf(argv, r);
  // nft could not be run: the chain listing would fail alike. An nft that does not know flowtables
  // (non-zero exit) or prints them otherwise (a syntax error) leaves the chain listing to answer.
  if (typeof out !== 'string' && out.reason !== 'command-failed') return out;
  const p = typeof out === 'string' ? parseProbeListing(out, parseNftListFlowtables) : null;
  if (p !== null && !p.ok && p.error.code !== 'syntax' && p.error.code !== 'invalid-shape') return unavailable(parseReason(p.error), `${argv.join(' ')}: ${describeError(p.error)}`);
  const listed = p?.ok === true ? p.value : null;
  if (listed !== null && !listed.some(isCalicoTable)) return probed(listed);
  const chains = await probeChains(host, config);
  // every table from the cheap listing; which of Felix's hold chains from the chain listing
  return chains.status === 'ok' && listed !== null ? ok({ ...chains.data, tables: probed(listed).data.tables }) : chains;
};

/** `nft list chains`, or its JSON form for a listing the text parser does not know. */
const probeChains = async (host: Host, config: CollectorConfig): Promise<Collected<NftTablesProbe>> => {
  const argv = NFT_LIST_CHAINS_ARGV;
  const r = await host.run({ argv, timeoutMs: nftTimeoutMs(config), maxOutputBytes: NFT_TABLES_MAX_OUTPUT_BYTES });
  const out = outputOf(argv, r);
  if (typeof out !== 'string') return out;
  // `list chains` names each chain's table. Only the names are read (#17: ~17k chains on a 100k-rule
  // iptables-nft node).
  const p = parseProbeListing(out, parseNftListChains);
  if (!p.ok) {
    // A line the text parser does not know (another nft version's listing) is not a broken host:
    // the JSON form, whose shape nft keeps stable, answers instead; if it fails too, the text's error stands
    const json = p.error.code === 'syntax' || p.error.code === 'invalid-shape' ? await probeJson(host, config) : null;
    return json ?? unavailable(parseReason(p.error), `${argv.join(' ')}: ${describeError(p.error)}`);
  }
  return probed(p.value);
};

/** The probe's JSON form (the fallback above): its tables, or null when it fails in any way. */
const probeJson = async (host: Host, config: CollectorConfig): Promise<Collected<NftTablesProbe> | null> => {
  const argv = NFT_LIST_TABLES_JSON_ARGV;
  const out = outputOf(argv, await host.run({ argv, timeoutMs: nftTimeoutMs(config), maxOutputBytes: NFT_TABLES_MAX_OUTPUT_BYTES }));
  if (typeof out !== 'string') return null;
  const p = parseNftTableNames(out, { maxChars: NFT_TABLES_MAX_OUTPUT_BYTES });
  return p.ok ? probed(p.value) : null;
};

/**
 * A probe's listing in nft's text form, or in the JSON form a bundle of an older agent answers with
 * (`nft -j list chains`; the text form never starts with `{`).
 */
const parseProbeListing = (out: string, text: typeof parseNftListChains): ReturnType<typeof parseNftListChains> =>
  /^\s*\{/.test(out) ? parseNftTableNames(out, { maxChars: NFT_TABLES_MAX_OUTPUT_BYTES }) : text(out, { maxChars: NFT_TABLES_MAX_OUTPUT_BYTES });

/** Felix's table name in a family it uses (`ip calico`, `ip6 calico`) */
const isCalicoTable = (t: NftTableName): boolean => t.name === CALICO_NFT_TABLE && nftFamily(t.family) !== null;

const probed = (named: readonly NftTableName[]): { status: 'ok'; data: NftTablesProbe } => {
  const tables = named.map((t) => `${t.family} ${t.name}`);
  const calico = [...new Set(named.filter(isCalicoTable).map((t) => `${t.family} ${t.name}`))];
  return ok({ tables, calico });
};

export const readNftRuleset = (host: Host, config: CollectorConfig): Promise<Collected<NftRuleset>> =>
  runNft(host, config, NFT_LIST_RULESET_ARGV, NFT_RULESET_MAX_OUTPUT_BYTES);

/** The guarding set names of one family: `cali40…` / `felix-…-4` for ip, `cali60…` / `felix-…-6` for ip6. */
export const hostSetNamesFor = (family: string): string[] =>
  NFT_HOST_SETS.filter((n) => (family === 'ip6' ? n.startsWith('cali60') || n.endsWith('-6') : n.startsWith('cali40') || n.endsWith('-4')));

/**
 * The guarding sets of one Calico table with their elements, one small `nft -j list set <family>
 * calico <name>` each (not the whole table again: the iptables collector parses the ruleset at the
 * same time). A set nft says does not exist ("No such file or directory") is absent, not an error.
 */
export const readNftHostSets = async (host: Host, config: CollectorConfig, family: string): Promise<Collected<NftRuleset>> => {
  const out: NftRuleset = { metainfo: null, tables: [], chains: [], sets: [], maps: [], other: {} };
  for (const name of hostSetNamesFor(family)) {
    const argv = ['nft', '-j', 'list', 'set', family, CALICO_NFT_TABLE, name] as const;
    const r = await host.run({ argv, timeoutMs: nftTimeoutMs(config), maxOutputBytes: NFT_SET_MAX_OUTPUT_BYTES });
    if (r.ok && r.exitCode !== 0 && /no such file or directory/i.test(r.stderr)) continue;
    const p = await runNftResult(argv, r, NFT_SET_MAX_OUTPUT_BYTES);
    if (p.status !== 'ok') return p;
    out.sets.push(...p.data.sets);
  }
  return ok(out);
};

/** Felix's nft chain names carry the iptables table as a prefix: `filter-cali-tw-…`. */
const chainBase = (name: string): string => name.replace(/^(filter|nat|mangle|raw)-/, '');
/** Per-workload chains: one set per pod, left out of `chains` to keep the snapshot bounded. */
const PER_WORKLOAD = ['cali-tw-', 'cali-fw-', 'cali-pri-', 'cali-pro-'] as const;
const isSummarised = (name: string, base: boolean): boolean => {
  const b = chainBase(name);
  return base || (b.startsWith('cali-') && !PER_WORKLOAD.some((p) => b.startsWith(p)));
};

export interface NftSummary {
  ipv4: FamilyTotals;
  ipv6: FamilyTotals;
  chains: ChainSummary[];
  dropRules: IptablesDropRule[];
  idlePolicyDropRules: number;
  encapGuards: EncapGuard[];
  warnings: string[];
}

/** The pure reduction of a ruleset to the `Iptables` section's shapes (both families). */
export const summariseNftRuleset = (rs: NftRuleset): NftSummary => {
  const totals = (family: string): FamilyTotals => ({
    tables: rs.tables.filter((t) => t.family === family).map((t) => t.name),
    chains: 0,
    rules: 0,
    caliChains: 0,
  });
  const fam: Record<FamilyName, FamilyTotals> = { ipv4: totals('ip'), ipv6: totals('ip6') };
  const chains: ChainSummary[] = [];
  const dropRules: IptablesDropRule[] = [];
  const policyRules: PolicyRule[] = [];
  const skipped = new Map<string, number>();
  let idle = 0;
  for (const chain of rs.chains) {
    const family = nftFamily(chain.family);
    if (family === null) {
      const k = `${chain.family} ${chain.table}`;
      skipped.set(k, (skipped.get(k) ?? 0) + chain.rules.length);
      continue;
    }
    const t = fam[family];
    t.chains++;
    t.rules += chain.rules.length;
    const calico = chain.table === CALICO_NFT_TABLE;
    if (calico || chainBase(chain.name).startsWith('cali-')) t.caliChains++;
    const table = `${chain.family} ${chain.table}`;
    if (isSummarised(chain.name, chain.hook !== null)) {
      chains.push({
        family,
        table,
        chain: chain.name,
        policy: chain.policy === null ? null : chain.policy.toUpperCase(),
        packets: 0,
        bytes: 0,
        rules: chain.rules.length,
      });
    }
    const policyChain = isPolicyChain(chain.name);
    for (const rule of chain.rules) {
      const p = nftPolicyRule(rule);
      if (p === null) continue;
      policyRules.push(p);
      if (p.verdict !== 'DROP' && p.verdict !== 'REJECT') continue;
      if (p.packets === 0 && policyChain) {
        idle++;
        continue;
      }
      const encap = encapOf(p);
      dropRules.push({
        family,
        table,
        chain: chain.name,
        index: p.index,
        target: p.verdict,
        packets: p.packets,
        bytes: p.bytes,
        caliId: p.caliId,
        comments: p.comments,
        matchSets: p.matchSets,
        rule: p.text,
        // a drop of encapsulated traffic, and whose (as the iptables collector gives it)
        ...(encap !== null ? { encapsulation: encap, ...(p.sources !== undefined ? { sources: p.sources } : {}) } : {}),
      });
    }
  }
  const warnings = [...skipped].map(([t, n]) => `nft table ${t} (${n} rule(s)) not summarised: only ip and ip6 tables map to the ipv4/ipv6 sections`);
  return { ipv4: fam.ipv4, ipv6: fam.ipv6, chains, dropRules, idlePolicyDropRules: idle, encapGuards: deriveEncapGuards(policyRules), warnings };
};

/** The `Iptables` section for the nftables dataplane, with the detection evidence as backendReason. */
export const nftIptablesSection = (rs: NftRuleset, backendReason: string, extraWarnings: string[] = []): Iptables => {
  const s = summariseNftRuleset(rs);
  return {
    backend: 'nftables',
    backendReason,
    ipv4: ok(s.ipv4),
    ipv6: ok(s.ipv6),
    chains: s.chains,
    dropRules: s.dropRules,
    warnings: [...extraWarnings, ...s.warnings],
    idlePolicyDropRules: s.idlePolicyDropRules,
    encapGuards: s.encapGuards,
  };
};

const formatIp = (family: 'inet' | 'inet6', v: bigint): string => {
  if (family === 'inet') return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 0xffn)).join('.');
  const g = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((sh) => ((v >> sh) & 0xffffn).toString(16));
  // RFC 5952: the longest run (≥ 2) of zero groups, the first of equals, becomes `::`
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.len < 2) return g.join(':');
  return `${g.slice(0, best.at).join(':')}::${g.slice(best.at + best.len).join(':')}`;
};

/**
 * An interval set's range member (`10.0.0.1-10.0.0.9`, as nft prints a range) as the exact list of
 * CIDRs covering it, so the membership checks (which read addresses and CIDRs) see every address
 * in it; null when it is not an address range.
 */
export const rangeToCidrs = (member: string): string[] | null => {
  const dash = member.indexOf('-');
  if (dash < 0) return null;
  const a = parseIp(member.slice(0, dash));
  const b = parseIp(member.slice(dash + 1));
  if (a === null || b === null || a.family !== b.family || a.value > b.value) return null;
  const bits = a.family === 'inet' ? 32n : 128n;
  const out: string[] = [];
  let lo = a.value;
  // at most 2 × bits blocks: largest aligned block that starts at lo and stays within the range
  while (lo <= b.value && out.length <= 2 * Number(bits)) {
    let size = 0n;
    while (size < bits && (lo & ((1n << (size + 1n)) - 1n)) === 0n && lo + (1n << (size + 1n)) - 1n <= b.value) size++;
    out.push(`${formatIp(a.family, lo)}/${bits - size}`);
    lo += 1n << size;
  }
  return out;
};

/** Felix's nft sets of the calico tables as the `IpSets` section: host sets with members, every cali* set's size. */
export const nftIpSets = (rs: NftRuleset): IpSets => {
  const hostSets: IpSets['hostSets'] = [];
  const caliSetSizes: Record<string, number> = {};
  for (const s of rs.sets) {
    const family = nftFamily(s.family);
    if (family === null || s.table !== CALICO_NFT_TABLE) continue;
    if (s.name.startsWith('cali')) caliSetSizes[s.name] = s.elements.length;
    if ((NFT_HOST_SETS as readonly string[]).includes(s.name)) {
      const members = s.elements.flatMap((m) => rangeToCidrs(m) ?? [m]);
      hostSets.push({ name: s.name, type: `nft:${s.type}`, family: family === 'ipv4' ? 'inet' : 'inet6', members });
    }
  }
  return { hostSets, caliSetSizes };
};
