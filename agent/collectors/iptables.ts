/**
 * iptables: detect the backend as Felix does (iptables-backend.ts), then read
 * `ip[6]tables-<backend>-save -c` for both families with our own parser and reduce it to what
 * the checks need: per-family totals, builtin and cali-* chains (not the per-workload
 * cali-tw-/cali-fw-/cali-pri-/cali-pro- chains, which scale with pods), and every DROP/REJECT rule
 * with its counters, Calico rule id, comments and ipset matches; and the rules that guard
 * encapsulated traffic (derive/encap-guards.ts), from the rules of the non-per-workload chains
 * that match a protocol (`iptablesPolicyRule` maps a parsed rule to the backend-neutral PolicyRule).
 *
 * Failure mapping: a family whose command or output fails is `unavailable` on its own (an IPv6
 * failure keeps IPv4 and the other way round); the section is unavailable only when both fail,
 * with the IPv4 reason. iptables-nft's "Table `x' is incompatible" → `incompatible`; missing
 * binary, timeout, output cap → the runner's reason; other parse errors → `invalid-output`.
 * Empty output (no table loaded, e.g. ip6tables modules absent) is zero tables, not an error.
 * Calico's native nftables dataplane (`ip calico` / `ip6 calico` tables and no cali-* chains in
 * iptables) is read instead through nftables.ts into the same section (backend `nftables`).
 * `collectIptables` (one-shot) is stateless; the daemon's collector (`iptablesCollector` with an
 * `IptablesMemory`) keeps, between reads, what lets it skip unchanged chains and backend detection.
 */
import { ok, unavailable, type Collected, type UnavailableReason } from '../../contract/result.js';
import { isPolicyChain, type EncapGuard, type IptablesDropRule, type Iptables, type Sections } from '../../contract/snapshot.js';
import { deriveEncapGuards, encapOf } from '../derive/encap-guards.js';
import type { PolicyRule } from '../derive/policy-rule.js';
import { parseIptablesSave, parseIptablesSaveBytes, ruleMatches, type IptablesChain, type IptablesDump, type IptablesRule, type IptablesTable } from '../parsers/iptables-save.js';
import { fixStdoutBytes, releaseStdoutBytes, type RunResult } from '../exec/runner.js';
import { detectIptablesBackend, dumpHasKubernetesChains, NFT_HINT_REASON, SAVE_MAX_OUTPUT_BYTES, saveBinaries, saveTimeoutMs, type BackendDecision, type Family, type IptablesBackend, type SavedDump } from './iptables-backend.js';
import { BOTH_DATAPLANES_WARNING, NFT_UNREADABLE_WARNING } from '../derive/mode.js';
import { NFT_LIST_CHAINS_ARGV, nftIptablesSection, probeNftTables, readNftRuleset } from './nftables.js';
import { RUN_REASON } from './run-command.js';
import type { Collector, CollectorConfig, Host } from './types.js';

type FamilyName = 'ipv4' | 'ipv6';
type ChainSummary = Iptables['chains'][number];
type FamilyTotals = { tables: string[]; chains: number; rules: number; caliChains: number };


/** Per-workload chains: one set per pod, left out of `chains` to keep the snapshot bounded. */
const PER_WORKLOAD = ['cali-tw-', 'cali-fw-', 'cali-pri-', 'cali-pro-'] as const;
export const isSummarisedChain = (name: string, builtin: boolean): boolean =>
  builtin || (name.startsWith('cali-') && !PER_WORKLOAD.some((p) => name.startsWith(p)));

/**
 * A copy of `s` that does not keep the whole dump alive: V8 substrings of 13+ chars are views
 * into their parent (here a 15 MB dump), so every string the snapshot keeps is copied.
 */
const detach = (s: string): string => (s.length < 13 ? s : (' ' + s).slice(1));

const firstLine = (s: string): string => s.trim().split('\n')[0]?.trim() ?? '';

/** `--dport N`, `--dports a,b,c` (ranges `a:b` of up to 64 ports expanded), not negated. */
const portsOf = (values: string[]): number[] => {
  const out: number[] = [];
  for (const v of values.join(',').split(',')) {
    const [lo, hi] = v.split(':');
    const a = Number(lo);
    const b = hi === undefined ? a : Number(hi);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > 65535 || b < a || b - a > 64) continue;
    for (let p = a; p <= b; p++) out.push(p);
  }
  return out;
};

/** A parsed iptables-save rule as the backend-neutral PolicyRule (pure). */
export function iptablesPolicyRule(family: FamilyName, table: string, rule: IptablesRule): PolicyRule {
  let protocol: string | null = null;
  const dports: number[] = [];
  let dstTypeLocal: boolean | null = null;
  const sources: string[] = [];
  for (const m of ruleMatches(rule)) {
    for (const o of m.options) {
      if ((o.flag === '-s' || o.flag === '--source' || o.flag === '--src') && m.module === null && !o.negated) sources.push(...o.values.flatMap((v) => v.split(',')));
      if ((o.flag === '-p' || o.flag === '--protocol') && m.module === null) protocol = o.negated ? null : (o.values[0] ?? null);
      else if ((o.flag === '--dport' || o.flag === '--dports' || o.flag === '--destination-port' || o.flag === '--destination-ports') && !o.negated) dports.push(...portsOf(o.values));
      else if (m.module === 'addrtype' && o.flag === '--dst-type' && o.values[0] === 'LOCAL') dstTypeLocal = !o.negated;
    }
  }
  const caliId = rule.caliId;
  return {
    family,
    table,
    chain: rule.chain,
    index: rule.index,
    verdict: rule.target,
    protocol,
    dports,
    matchSets: rule.matchSets.map((m) => ({ name: m.name, negated: m.negated, direction: m.direction })),
    dstTypeLocal,
    packets: rule.packets ?? 0,
    bytes: rule.bytes ?? 0,
    caliId,
    comments: rule.comments.filter((c) => !(caliId !== null && c === `cali:${caliId}`)),
    text: rule.text,
    sources,
  };
}

/** Cheap text test for rules that may match an encapsulation (iptables-save writes `-p X`). */
const mayMatchEncap = (text: string): boolean => {
  const at = text.indexOf(' -p ');
  if (at < 0) return false;
  const p = text.slice(at + 4, text.indexOf(' ', at + 4) >>> 0);
  return p === 'udp' || p === '17' || p === '4' || p === 'ipencap' || p === 'ipip';
};

export interface FamilyDump {
  dump: IptablesDump;
  /** stderr lines the tool printed (warnings) */
  warnings: string[];
}

/** One family's save command and what it answered. */
export interface SaveRun {
  argv: [string, ...string[]];
  result: RunResult;
}

/**
 * Runs the save command for one family (with Felix's fallback binary); `saved` is that command's
 * output when backend detection has just read it (#17: the dump is read once).
 */
export async function runSave(host: Host, config: CollectorConfig, family: Family, backend: IptablesBackend, saved?: SavedDump): Promise<SaveRun> {
  if (saved !== undefined) return { argv: saved.argv, result: saved.result };
  const [best, fallback] = saveBinaries(family, backend);
  const argv: [string, ...string[]] = [best, '-c'];
  const r = await host.run({ argv, timeoutMs: saveTimeoutMs(config), maxOutputBytes: SAVE_MAX_OUTPUT_BYTES, stdoutAs: 'bytes' });
  if (r.ok || r.kind !== 'missing-binary') return { argv, result: r };
  const argv2: [string, ...string[]] = [fallback, '-c'];
  return { argv: argv2, result: await host.run({ argv: argv2, timeoutMs: saveTimeoutMs(config), maxOutputBytes: SAVE_MAX_OUTPUT_BYTES, stdoutAs: 'bytes' }) };
}

/** A save command's answer as the parsed dump, or unavailable (the failure mapping of the header). */
export function parseSave({ argv, result: r }: SaveRun): Collected<FamilyDump> {
  const cmd = argv.join(' ');
  if (!r.ok) return unavailable(RUN_REASON[r.kind], `${cmd}: ${r.message}`);
  if (r.exitCode !== 0) return unavailable('command-failed', `${cmd}: exit ${r.exitCode}: ${firstLine(r.stderr) || 'no message'}`);
  // iptables-nft prints its warnings on stderr, sometimes without a newline between them
  const warnings = [...new Set(r.stderr.split(/\n|(?=# Warning:)/).map((l) => l.replace(/^#\s*/, '').trim()).filter((l) => l.length > 0))];
  // #17: the dump is read in place from the bytes the command printed (a host that answers with
  // text, e.g. a replayed bundle, gives the same dump)
  const p = r.stdoutBytes === undefined ? parseIptablesSave(r.stdout) : parseIptablesSaveBytes(r.stdoutBytes);
  if (!p.ok) {
    if (p.error.code === 'empty') return ok({ dump: { tables: [], generatedBy: null, hasCounters: false, warnings: [] }, warnings });
    const reason: UnavailableReason = p.error.code === 'incompatible' ? 'incompatible' : 'invalid-output';
    return unavailable(reason, `${cmd}: ${p.error.code}: ${p.error.message}`);
  }
  return ok({ dump: p.value, warnings: [...warnings, ...p.value.warnings.map((w) => w.message)] });
}

/**
 * What the reduction knows of one candidate rule of a chain (a rule the text pre-filter passed):
 * everything but its counters, which are read from each dump.
 */
interface Candidate {
  /** 0-based position in its chain */
  i: number;
  isDrop: boolean;
  /** the text may match an encapsulation (`mayMatchEncap`) */
  encapText: boolean;
  /** the rule as a PolicyRule, strings detached; made on first need (encapText only) */
  mapped?: PolicyRule;
  /** the drop entry listed for it last; a read lists it again as is when its counters have not moved, else a copy with the new ones */
  drop?: IptablesDropRule;
}

interface ChainMemo {
  /** `IptablesChain.fingerprintInto` of the rules the candidates were read from, and their count */
  h0: number;
  h1: number;
  rules: number;
  /** the chain's name (detached) and what follows from it */
  name: string;
  summarised: boolean;
  policyChain: boolean;
  guardChain: boolean;
  candidates: Candidate[];
  /** the number of the last reduction whose dump held the chain (`FamilyMemory.reductions`) */
  seen: number;
}

/**
 * The daemon's memory of one family's last reduction (#17 goal 2): per chain, a fingerprint of its
 * rules without their counters and its candidate rules. A chain whose rules are printed as at the
 * last read (Felix rewrites a few chains per interval, the rest keep their text while their counters
 * move) keeps its candidates and only takes the new counters: its rules are not filtered, tokenized
 * or mapped again. The result is the same as `summariseFamily` without memory (test/agent/collectors/
 * iptables-memory.test.ts). Holds no text of a dump (its strings are detached): a fingerprint and
 * the candidates' derived fields per chain of the last dump; chains gone from it are forgotten.
 * Updated in place, chain by chain: a read leaves no copy of the ~17k chains' entries behind.
 * State: one instance per family per daemon.
 */
export class FamilyMemory {
  /** per process: the fingerprints cannot be precomputed from outside */
  readonly seed = (Math.random() * 0x100000000) >>> 0;
  /** per table, per chain */
  readonly chains = new Map<string, Map<string, ChainMemo>>();
  /** how many reductions used this memory: each marks the chains its dump holds (`ChainMemo.seen`) */
  reductions = 0;
}

/** A PolicyRule whose strings do not keep the dump alive (see `detach`), for the memory. */
const detachedPolicyRule = (m: PolicyRule): PolicyRule => ({
  ...m,
  table: detach(m.table),
  chain: detach(m.chain),
  verdict: m.verdict === null ? null : detach(m.verdict),
  protocol: m.protocol === null ? null : detach(m.protocol),
  matchSets: m.matchSets.map((x) => ({ name: detach(x.name), negated: x.negated, direction: detach(x.direction) })),
  caliId: m.caliId === null ? null : detach(m.caliId),
  comments: m.comments.map(detach),
  text: detach(m.text),
  ...(m.sources === undefined ? {} : { sources: m.sources.map(detach) }),
});

/** The least input `summariseFamily` gives back at a time (bytes; 1 MiB is ~6000 rules). */
const RELEASE_STEP = 1 << 20;

/** Reverses list[from..] in place. */
const reverseFrom = <T>(list: T[], from: number): void => {
  for (let a = from, b = list.length - 1; a < b; a++, b--) {
    const x = list[a] as T;
    list[a] = list[b] as T;
    list[b] = x;
  }
};

/** The chain being reduced (`FamilyReduction.chain`) and what follows from its name for its rules. */
interface ChainAt {
  table: string;
  /** the chain's name, detached */
  name: string;
  policyChain: boolean;
  guardChain: boolean;
}

/**
 * One family's reduction (`summariseFamily`), fed its chains last to first. Each chain's results
 * are added to lists in that order and put in dump order once at the end (`results`), and one
 * object says which chain is being reduced: a 100k-rule dump has ~17k chains and ~30k candidate
 * rules, and an object, an array or a closure per chain or per rule was a third of what a read
 * allocated, much of it kept until the last chain was reduced (#17).
 */
class FamilyReduction {
  readonly totals: FamilyTotals;
  /** the chains' results, last chain first, and within a chain last rule first (`#chainDone`) */
  readonly #summaries: ChainSummary[] = [];
  readonly #drops: IptablesDropRule[] = [];
  readonly #encaps: PolicyRule[] = [];
  #idle = 0;
  /** where the drops and guards of the chain being reduced start in the lists (added in its order) */
  #dropsFrom = 0;
  #encapsFrom = 0;
  readonly #at: ChainAt = { table: '', name: '', policyChain: false, guardChain: false };
  /** Felix repeats a few comments ("Drop if no profiles matched") on every workload: one copy each */
  readonly #shared = new Map<string, string>();
  /** the fingerprint of the chain being reduced (`IptablesChain.fingerprintInto`) */
  readonly #fp = new Int32Array(2);
  /** this reduction's number in `memory` */
  readonly #mark: number;

  constructor(
    readonly family: FamilyName,
    readonly memory: FamilyMemory | undefined,
    dump: IptablesDump,
  ) {
    this.totals = { tables: dump.tables.map((t) => t.name), chains: 0, rules: 0, caliChains: 0 };
    this.#mark = memory === undefined ? 0 : ++memory.reductions;
  }

  intern(c: string): string {
    let v = this.#shared.get(c);
    if (v === undefined) {
      v = detach(c);
      this.#shared.set(v, v);
    }
    return v;
  }

  /** Reduces one chain of `table`, the one before the chain reduced last. */
  chain(table: IptablesTable, chain: IptablesChain): void {
    const { totals, memory } = this;
    const fp = this.#fp;
    totals.chains++;
    totals.rules += chain.ruleCount;
    if (chain.name.startsWith('cali-')) totals.caliChains++;
    if (memory !== undefined) chain.fingerprintInto(memory.seed, fp);
    const known = memory?.chains.get(table.name);
    const kept = known?.get(chain.name);
    // the same rules as at the last read: what depends on the chain's name and rules is kept
    const memo = kept !== undefined && kept.rules === chain.ruleCount && kept.h0 === fp[0] && kept.h1 === fp[1] ? kept : undefined;
    const summarised = memo?.summarised ?? isSummarisedChain(chain.name, chain.builtin);
    const at = this.#at;
    this.#dropsFrom = this.#drops.length;
    this.#encapsFrom = this.#encaps.length;
    at.table = table.name;
    at.name = memo?.name ?? detach(chain.name);
    at.policyChain = memo?.policyChain ?? isPolicyChain(chain.name);
    // Felix guards encapsulated traffic in its shared chains (felix-* in the oldest releases), never
    // in per-workload ones
    at.guardChain = memo?.guardChain ?? (summarised || chain.name.startsWith('felix-'));
    if (summarised) {
      this.#summaries.push({ family: this.family, table: table.name, chain: at.name, policy: chain.policy, packets: chain.packets, bytes: chain.bytes, rules: chain.ruleCount });
    }
    if (memo !== undefined) {
      // only the counters are new
      memo.seen = this.#mark;
      for (let k = 0; k < memo.candidates.length; k++) {
        const c = memo.candidates[k] as Candidate;
        const n = chain.ruleCountersAt(c.i);
        this.#emit(chain, c, n?.packets ?? 0, n?.bytes ?? 0, null);
      }
      this.#chainDone();
      return;
    }
    const candidates: Candidate[] = [];
    for (let i = 0; i < chain.ruleCount; i++) {
      // cheap text pre-filter, so only candidate rules get materialised and tokenized
      // (iptables-save always writes the target as `-j X`)
      const text = chain.ruleTextAt(i);
      const dropText = text.includes(' -j DROP') || text.includes(' -j REJECT');
      const encapText = mayMatchEncap(text);
      if (!dropText && !(encapText && at.guardChain)) continue;
      const rule = chain.ruleAt(i);
      const target = rule.target;
      const c: Candidate = { i, isDrop: target === 'DROP' || target === 'REJECT', encapText };
      candidates.push(c);
      this.#emit(chain, c, rule.packets ?? 0, rule.bytes ?? 0, rule);
    }
    this.#chainDone();
    if (memory === undefined) return;
    const chains = known ?? new Map<string, ChainMemo>();
    if (known === undefined) memory.chains.set(detach(table.name), chains);
    chains.set(at.name, { h0: fp[0] as number, h1: fp[1] as number, rules: chain.ruleCount, name: at.name, summarised, policyChain: at.policyChain, guardChain: at.guardChain, candidates, seen: this.#mark });
  }

  /** Puts the chain's drops and guards last first in the lists, as its chain is in them. */
  #chainDone(): void {
    reverseFrom(this.#drops, this.#dropsFrom);
    reverseFrom(this.#encaps, this.#encapsFrom);
  }

  /** Lists candidate `c` of `chain` with this dump's counters; `made` is its rule when already made. */
  #emit(chain: IptablesChain, c: Candidate, packets: number, bytes: number, made: IptablesRule | null): void {
    const at = this.#at;
    if (c.isDrop && packets === 0 && at.policyChain) {
      this.#idle++;
      return;
    }
    let rule = made;
    if (c.encapText && c.mapped === undefined) {
      rule ??= chain.ruleAt(c.i);
      c.mapped = detachedPolicyRule(iptablesPolicyRule(this.family, at.table, rule));
    }
    const mapped = c.encapText ? (c.mapped as PolicyRule) : null;
    if (mapped !== null && at.guardChain) this.#encaps.push({ ...mapped, packets, bytes });
    if (!c.isDrop) return;
    if (c.drop !== undefined) {
      // the entry is read only once made: one whose counters have not moved is listed again as is
      if (c.drop.packets !== packets || c.drop.bytes !== bytes) c.drop = { ...c.drop, packets, bytes };
      this.#drops.push(c.drop);
      return;
    }
    const r = rule ?? chain.ruleAt(c.i);
    const d: IptablesDropRule = {
      family: this.family,
      table: at.table,
      chain: at.name,
      index: r.index,
      target: r.target as string,
      packets,
      bytes,
      caliId: r.caliId === null ? null : detach(r.caliId),
      comments: r.comments.filter((x) => !(r.caliId !== null && x === `cali:${r.caliId}`)).map((x) => this.intern(x)),
      matchSets: r.matchSets.map((m) => ({ name: detach(m.name), negated: m.negated, direction: detach(m.direction) })),
      rule: detach(r.text),
    };
    const encap = mapped === null ? null : encapOf(mapped);
    if (encap !== null) {
      d.encapsulation = encap;
      if (mapped !== null && mapped.sources !== undefined && mapped.sources.length > 0) d.sources = mapped.sources.map(detach);
    }
    c.drop = d;
    this.#drops.push(d);
  }

  /** The results in dump order, once every chain is reduced; the memory forgets the chains its dump did not hold. */
  results(): { chains: ChainSummary[]; dropRules: IptablesDropRule[]; idlePolicyDropRules: number; encapCandidates: PolicyRule[] } {
    const { memory } = this;
    if (memory !== undefined) {
      for (const [table, chains] of memory.chains) {
        chains.forEach((memo, name) => {
          if (memo.seen !== this.#mark) chains.delete(name);
        });
        if (chains.size === 0) memory.chains.delete(table);
      }
    }
    return { chains: this.#summaries.reverse(), dropRules: this.#drops.reverse(), idlePolicyDropRules: this.#idle, encapCandidates: this.#encaps.reverse() };
  }
}

/**
 * The pure reduction of one family's dump into the snapshot's shapes. With `memory` (the daemon),
 * the chains whose rules have not changed since the last reduction with it are reduced from what it
 * kept (FamilyMemory); the result is the same as without.
 * The chains are reduced last to first (#17): with `releaseInput`, for a dump read in place from a
 * command's bytes, the input past the rule lines of the chains still to reduce is given back after
 * each chain (`IptablesChain.releaseInputFrom`), so the dump's bytes shrink while the summary
 * grows, and the dump must not be read afterwards.
 * Its loops index their arrays: this runs once per read, mostly before V8 optimises it, when a
 * `for … of` allocates an iterator result per element.
 */
export function summariseFamily(
  family: FamilyName,
  dump: IptablesDump,
  memory?: FamilyMemory,
  opts: { releaseInput?: boolean } = {},
): { totals: FamilyTotals; chains: ChainSummary[]; dropRules: IptablesDropRule[]; idlePolicyDropRules: number; encapGuards: EncapGuard[] } {
  const reduction = new FamilyReduction(family, memory, dump);
  /** every chain in dump order, and the index of its table (no pair per chain: #17) */
  const order: IptablesChain[] = [];
  const tableOf: number[] = [];
  for (let t = 0; t < dump.tables.length; t++) {
    const { chains } = dump.tables[t] as IptablesTable;
    for (let k = 0; k < chains.length; k++) {
      order.push(chains[k] as IptablesChain);
      tableOf.push(t);
    }
  }
  /** with releaseInput: how much of the input the chains before each one read (its prefix maximum) */
  const needed: number[] | null = opts.releaseInput === true ? [] : null;
  if (needed !== null) {
    let most = 0;
    for (let k = 0; k < order.length; k++) {
      needed.push(most);
      most = Math.max(most, (order[k] as IptablesChain).inputEnd);
    }
  }
  /** how much of the input is still held (given back in steps of RELEASE_STEP: each step is a system call) */
  let held = Infinity;
  for (let k = order.length - 1; k >= 0; k--) {
    const chain = order[k] as IptablesChain;
    reduction.chain(dump.tables[tableOf[k] as number] as IptablesTable, chain);
    const keep = needed?.[k];
    if (keep !== undefined && (held - keep >= RELEASE_STEP || keep === 0)) {
      chain.releaseInputFrom(keep);
      held = keep;
    }
  }
  const { chains, dropRules, idlePolicyDropRules, encapCandidates } = reduction.results();
  const encapGuards = deriveEncapGuards(encapCandidates).map((g) => ({
    ...g,
    set: detach(g.set),
    chain: detach(g.chain),
    drop: { ...g.drop, caliId: g.drop.caliId === null ? null : detach(g.drop.caliId), comments: g.drop.comments.map((c) => reduction.intern(c)) },
  }));
  return { totals: reduction.totals, chains, dropRules, idlePolicyDropRules, encapGuards };
}

/**
 * The policy section: iptables as Felix's iptables dataplane writes it, or Calico's native nftables
 * dataplane (nftables.ts) when the nft probe shows Felix's `ip calico` / `ip6 calico` tables
 * and iptables holds no cali-* chains (Felix removes them when it switches). When both exist the
 * iptables rules are read and a warning says so; the mode then reports the dataplane as unknown.
 * With `memory` (the daemon's, agent/main.ts), reads after the first re-reduce only the chains
 * whose rules changed and keep a stage-1 nft backend decision while the dumps confirm it
 * (`IptablesMemory`); the section is the same as without.
 */
export const iptablesCollector = (memory?: IptablesMemory): Collector<'iptables'> => async (host, config) => {
  // the probe does not depend on the dumps: it runs while they are read (#17); awaited below, so a
  // probe that throws is still this collector's crash
  const probing = probeNftTables(host, config);
  probing.catch(() => undefined);
  const ipt = await collectIptablesRules(host, config, memory);
  const probe = await probing;
  const caliChains = ipt.status === 'ok' ? [ipt.data.ipv4, ipt.data.ipv6].reduce((n, f) => n + (f.status === 'ok' ? f.data.caliChains : 0), 0) : 0;
  if (probe.status !== 'ok') {
    // no Calico rules in iptables and nft unreadable: the nftables dataplane cannot be ruled out
    if (ipt.status === 'ok' && caliChains === 0) return ok({ ...ipt.data, warnings: [...(ipt.data.warnings ?? []), `${NFT_UNREADABLE_WARNING} (${probe.reason}: ${probe.detail})`] });
    return ipt;
  }
  if (probe.data.calico.length === 0) return ipt;
  const tables = probe.data.calico.join(', ');
  if (ipt.status === 'ok' && caliChains > 0) {
    return ok({ ...ipt.data, warnings: [...(ipt.data.warnings ?? []), `${BOTH_DATAPLANES_WARNING}: nft ${tables}; ${caliChains} cali-* chain(s) in iptables-${ipt.data.backend} (read)`] });
  }
  const why =
    ipt.status === 'ok'
      ? `no cali-* chains in iptables (${ipt.data.backend} backend)`
      : `iptables unreadable (${ipt.reason}: ${ipt.detail})`;
  const evidence = `Calico nftables table(s) ${tables} (${NFT_LIST_CHAINS_ARGV.join(' ')}); ${why}`;
  const rs = await readNftRuleset(host, config);
  if (rs.status !== 'ok') return unavailable(rs.reason, `${rs.detail} (${evidence})`);
  return ok(nftIptablesSection(rs.data, evidence));
};

/** The one-shot collector (`calico-diag snapshot`): detects the backend and reduces every chain at each read. */
export const collectIptables: Collector<'iptables'> = iptablesCollector();

/**
 * What the daemon's iptables collector remembers between reads (#17 goal 2): per family, the last
 * reduction (FamilyMemory); and a backend decision taken at stage 1 (the nft mangle tables hold a
 * kube hint chain), which saves detection's 2–4 commands per read. The remembered decision is
 * checked again at every read, in the dumps it makes us read: when neither family's mangle table
 * holds a hint chain any more, the read is done again with a fresh detection, so a backend change
 * shows at the read that sees it. Holds no dump text.
 */
export interface IptablesMemory {
  ipv4: FamilyMemory;
  ipv6: FamilyMemory;
  nftByHint: BackendDecision | null;
}

export const createIptablesMemory = (): IptablesMemory => ({ ipv4: new FamilyMemory(), ipv6: new FamilyMemory(), nftByHint: null });

const collectIptablesRules = async (host: Host, config: CollectorConfig, memory?: IptablesMemory): Promise<Sections['iptables']> => {
  const remembered = memory?.nftByHint ?? null;
  const decision = remembered ?? (await detectIptablesBackend(host, config));
  if (memory !== undefined) memory.nftByHint = decision.backend === 'nft' && decision.reason === NFT_HINT_REASON ? { backend: decision.backend, reason: decision.reason } : null;
  let hinted = false;
  const saved = decision.dumps ?? {};
  const chains: ChainSummary[] = [];
  const dropRules: IptablesDropRule[] = [];
  const warnings: string[] = [];
  const encapGuards: EncapGuard[] = [];
  let idlePolicyDropRules = 0;
  const read = (n: Family): Promise<SaveRun> => {
    const p = runSave(host, config, n, decision.backend, saved[n]);
    delete saved[n]; // the text is the parse's now: not held by the decision too
    return p;
  };
  const family = (name: FamilyName, received: SaveRun): Collected<FamilyTotals> => {
    // The daemon (`memory`) parses a dump every other interval, so it reads it from fixed-length
    // bytes, the faster to read (`fixStdoutBytes`); the one-shot snapshot keeps them where they were
    // received, to give them back piece by piece below and keep its peak lower (#17).
    const run = memory === undefined ? received : { argv: received.argv, result: fixStdoutBytes(received.result) };
    const r = parseSave(run);
    if (r.status !== 'ok') {
      releaseStdoutBytes(run.result);
      return r;
    }
    if (remembered !== null && !hinted) hinted = dumpHasKubernetesChains(r.data.dump);
    // the dump's bytes, the largest block of a read, are given back as the reduction goes (when
    // still where they were received: the one-shot; the summary holds no text of the dump: its
    // strings are detached), then whole, not at a garbage collection (#17)
    const s = summariseFamily(name, r.data.dump, memory?.[name], { releaseInput: true });
    releaseStdoutBytes(run.result);
    for (const c of s.chains) chains.push(c);
    for (const d of s.dropRules) dropRules.push(d);
    for (const g of s.encapGuards) encapGuards.push(g);
    idlePolicyDropRules += s.idlePolicyDropRules;
    for (const w of r.data.warnings) warnings.push(`${name}: ${w}`);
    return ok(s.totals);
  };
  // One family at a time, overlapped (#17): the IPv6 dump is started once the IPv4 one has been
  // read, so the IPv6 tool fetches its ruleset from the kernel while the IPv4 dump is parsed. The
  // parse holds the event loop, so the IPv6 output waits in its pipe meanwhile: as before, at most
  // one dump's output is being received at a time, and a parsed dump (several times its text) is
  // garbage before the next one is. Awaited below, so a read that throws is this collector's crash.
  // (the IPv4 dump's bytes are given back as it is reduced, before IPv6 is parsed)
  const ipv4First = async (): Promise<{ ipv4: Collected<FamilyTotals>; reading6: Promise<SaveRun> }> => {
    const run4 = await read(4);
    const reading6 = read(6);
    reading6.catch(() => undefined);
    return { ipv4: family('ipv4', run4), reading6 };
  };
  const { ipv4, reading6 } = await ipv4First();
  const ipv6 = family('ipv6', await reading6);
  if (remembered !== null && !hinted && memory !== undefined) {
    // the remembered decision no longer holds (or cannot be checked): read again, detecting
    memory.nftByHint = null;
    return collectIptablesRules(host, config, memory);
  }
  if (ipv4.status !== 'ok' && ipv6.status !== 'ok') return ipv4;
  return ok({ backend: decision.backend, backendReason: decision.reason, ipv4, ipv6, chains, dropRules, warnings, idlePolicyDropRules, encapGuards });
};
