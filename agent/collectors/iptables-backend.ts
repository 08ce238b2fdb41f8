/**
 * Which iptables backend (legacy or nft) holds the node's rules, decided exactly as Felix does
 * (projectcalico/calico felix/environment/feature_detect_linux.go DetectBackend, itself a copy of
 * kubernetes-sigs/iptables-wrappers):
 *   1. the nft mangle tables (ip6 first) hold KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY → nft;
 *   2. else the same with the legacy mangle tables → legacy;
 *   3. else count rule lines of full `*-legacy-save` and `*-nft-save` dumps of both families:
 *      legacy ≥ nft → legacy (a tie, e.g. no rules at all, is legacy), else nft.
 * Like Felix, a command that fails counts as empty output, and each binary falls back to the plain
 * `ip[6]tables[-save]` when the backend-specific one is not installed (FindBestBinary).
 *
 * Cost (#17): what Felix reads, read as cheaply as it can be read.
 * - Stage 1 asks for the two chains by name (`ip[6]tables-nft -t mangle -S KUBE-IPTABLES-HINT`,
 *   then `-S KUBE-KUBELET-CANARY`), which prints `-N <chain>` when the chain exists and fails
 *   otherwise: iptables-nft fetches only that chain, where `iptables-nft-save -t mangle` fetches the
 *   whole nft ruleset (measured with 100k rules in the filter table: 0.35 s of CPU and 118 MiB, as
 *   much as the full dump; the chain query ~0). The legacy mangle table is its own kernel blob, so
 *   stage 2 keeps `ip[6]tables-legacy-save -t mangle` (~0).
 * - Stage 3 reads the full dumps with `-c` and counts their rule lines (lines starting with '-' or,
 *   with counters, '['), so that the larger dump of each family is kept and handed to the
 *   collector (`BackendDecision.dumps`) instead of being read a second time.
 * - Stage 1's queries of the two families run at the same time (#17; the decision reads both, so
 *   it does not depend on which answers first; each prints one chain). Stages 2 and 3 read one
 *   table or dump at a time: at most one output that may be large is received at once (memory).
 * `decideBackend` is the pure part; `detectIptablesBackend` runs the commands through `Host`.
 * Stateless.
 */
import { releaseStdoutBytes, type RunResult } from '../exec/runner.js';
import type { IptablesDump } from '../parsers/iptables-save.js';
import type { CollectorConfig, Host } from './types.js';

export type IptablesBackend = 'legacy' | 'nft';
export type Family = 4 | 6;

/** A successful `-c` dump read while deciding, with the command that printed it. */
export interface SavedDump {
  argv: [string, ...string[]];
  result: Extract<RunResult, { ok: true }>;
}

export interface BackendDecision {
  backend: IptablesBackend;
  reason: string;
  /** full `-c` dumps of the decided backend read by stage 3, per family, for the collector to use */
  dumps?: Partial<Record<Family, SavedDump>>;
}

/** What the decision has seen so far; the stages Felix runs in order. */
export interface BackendEvidence {
  /** what the nft mangle tables say of the hint chains (`-S <chain>` output, '' when absent) */
  nftMangle: { v4: string; v6: string };
  legacyMangle?: { v4: string; v6: string };
  /** rule-line counts (countRuleLines) of the full dumps, both families summed; counted as they
   * arrive so the dumps themselves (tens of MB on a big node) are not held */
  full?: { legacy: number; nft: number };
}

const HINTS = ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY'] as const;

export const hasKubernetesChains = (output: string): boolean => output.includes(HINTS[0]) || output.includes(HINTS[1]);

/** The reason of a decision taken at stage 1 (the nft mangle tables hold a kube hint chain). */
export const NFT_HINT_REASON = 'kube hint chain (KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY) in the nft mangle table';

/**
 * Whether a parsed dump's mangle table holds a kube hint chain: what stage 1 asks the nft mangle
 * tables, read from an iptables-nft dump instead (the daemon's re-check of a remembered stage-1
 * decision, agent/collectors/iptables.ts).
 */
export const dumpHasKubernetesChains = (dump: IptablesDump): boolean =>
  dump.tables.some((t) => t.name === 'mangle' && t.chains.some((c) => c.name === HINTS[0] || c.name === HINTS[1]));

/**
 * Felix's countRulesInIptableOutput: lines whose first byte is '-'. With `withCounters` (a `-c`
 * dump, whose rule lines start with `[packets:bytes] -A`), lines starting with '[' count too: the
 * same number as Felix's count of the dump without counters.
 */
export const countRuleLines = (output: string | Uint8Array, withCounters = false): number => {
  let n = 0;
  let pos = 0;
  const len = output.length;
  // the output as text, or as the bytes a command printed (#17: a dump is not decoded to be counted)
  const bytes = typeof output === 'string' ? null : output;
  const text = typeof output === 'string' ? output : '';
  while (pos < len) {
    const c = bytes === null ? text.charCodeAt(pos) : (bytes[pos] as number);
    if (c === 45 || (withCounters && c === 91)) n++;
    const nl = bytes === null ? text.indexOf('\n', pos) : bytes.indexOf(10, pos);
    if (nl < 0) break;
    pos = nl + 1;
  }
  return n;
};

/** The pure decision: a backend, or which further evidence Felix would gather next. */
export function decideBackend(ev: BackendEvidence): BackendDecision | { need: 'legacy-mangle' | 'full' } {
  if (hasKubernetesChains(ev.nftMangle.v6) || hasKubernetesChains(ev.nftMangle.v4)) {
    return { backend: 'nft', reason: NFT_HINT_REASON };
  }
  if (ev.legacyMangle === undefined) return { need: 'legacy-mangle' };
  if (hasKubernetesChains(ev.legacyMangle.v6) || hasKubernetesChains(ev.legacyMangle.v4)) {
    return { backend: 'legacy', reason: 'kube hint chain (KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY) in the legacy mangle table' };
  }
  if (ev.full === undefined) return { need: 'full' };
  const { legacy, nft } = ev.full;
  return legacy >= nft
    ? { backend: 'legacy', reason: `no kube hint chains; legacy has ${legacy} rules, nft ${nft} (legacy wins ties)` }
    : { backend: 'nft', reason: `no kube hint chains; nft has ${nft} rules, legacy ${legacy}` };
}

/** Felix's FindBestBinary candidates, best first: `ip6tables-nft-save`, then `ip6tables-save`. */
export const saveBinaries = (family: Family, backend: IptablesBackend): [string, string] => {
  const v = family === 6 ? '6' : '';
  return [`ip${v}tables-${backend}-save`, `ip${v}tables-save`];
};

/**
 * Bound for one full dump. A 100k-rule node prints ~16 MB and a one-shot snapshot of it peaks at
 * ~126 MiB (the dump is held once, as bytes, and given back as it is reduced); a read holds the
 * bytes, the parse's line index and the summary, so 40 MiB (~250k rules) is what fits the agent's
 * 256 MiB memory limit. A larger dump is reported unavailable('output-too-large') (#16).
 */
export const SAVE_MAX_OUTPUT_BYTES = 40 * 1024 * 1024;
export const saveTimeoutMs = (config: CollectorConfig): number => Math.max(config.timeoutMs, 60_000);

/** Felix's FindBestBinary candidates for the `ip[6]tables` command itself. */
const listBinaries = (family: Family, backend: IptablesBackend): [string, string] => {
  const v = family === 6 ? '6' : '';
  return [`ip${v}tables-${backend}`, `ip${v}tables`];
};

/**
 * Runs `<binary> args` over `binaries`, falling back when the first is missing; null on failure (as
 * Felix: empty). `stdoutAs: 'bytes'` for full dumps, which are counted and parsed as bytes (#17).
 */
const runBest = async (host: Host, config: CollectorConfig, binaries: [string, string], args: string[], stdoutAs: 'text' | 'bytes' = 'text'): Promise<SavedDump | null> => {
  for (const bin of binaries) {
    const argv: [string, ...string[]] = [bin, ...args];
    const r = await host.run({ argv, timeoutMs: saveTimeoutMs(config), maxOutputBytes: SAVE_MAX_OUTPUT_BYTES, stdoutAs });
    if (r.ok) return { argv, result: r };
    if (r.kind !== 'missing-binary') return null;
  }
  return null;
};

const outputOf = async (host: Host, config: CollectorConfig, family: Family, backend: IptablesBackend, args: string[]): Promise<string> =>
  (await runBest(host, config, saveBinaries(family, backend), args))?.result.stdout ?? '';

/** The nft mangle table's kube hint chains, asked for by name (stdout `-N <chain>` when present). */
const nftHintOf = async (host: Host, config: CollectorConfig, family: Family): Promise<string> => {
  let out = '';
  for (const chain of HINTS) {
    const r = await runBest(host, config, listBinaries(family, 'nft'), ['-t', 'mangle', '-S', chain]);
    if (r !== null && r.result.exitCode === 0) out += r.result.stdout;
    if (hasKubernetesChains(out)) break;
  }
  return out;
};

/** The IO part: gathers evidence stage by stage, as Felix does, until `decideBackend` decides. */
export async function detectIptablesBackend(host: Host, config: CollectorConfig): Promise<BackendDecision> {
  const pair = async (backend: IptablesBackend, args: string[]) => ({
    v6: await outputOf(host, config, 6, backend, args),
    v4: await outputOf(host, config, 4, backend, args),
  });
  // stage 3: per family, the larger dump (legacy on a tie) is kept; the smaller one is dropped at once
  const kept: Partial<Record<Family, { backend: IptablesBackend; rules: number; dump: SavedDump }>> = {};
  const countBoth = async (backend: IptablesBackend): Promise<number> => {
    let total = 0;
    for (const family of [6, 4] as const) {
      const d = await runBest(host, config, saveBinaries(family, backend), ['-c'], 'bytes');
      const rules = d === null ? 0 : countRuleLines(d.result.stdoutBytes ?? d.result.stdout, true);
      total += rules;
      const k = kept[family];
      if (d !== null && d.result.exitCode === 0 && (k === undefined || rules > k.rules)) {
        if (k !== undefined) releaseStdoutBytes(k.dump.result);
        kept[family] = { backend, rules, dump: d };
      } else if (d !== null) releaseStdoutBytes(d.result);
    }
    return total;
  };
  const [v6, v4] = await Promise.all([nftHintOf(host, config, 6), nftHintOf(host, config, 4)]);
  const ev: BackendEvidence = { nftMangle: { v6, v4 } };
  for (;;) {
    const d = decideBackend(ev);
    if ('backend' in d) {
      if (ev.full === undefined) return d;
      const dumps: Partial<Record<Family, SavedDump>> = {};
      for (const family of [4, 6] as const) {
        const k = kept[family];
        if (k !== undefined && k.backend === d.backend) dumps[family] = k.dump;
        else if (k !== undefined) releaseStdoutBytes(k.dump.result);
      }
      return { ...d, dumps };
    }
    if (d.need === 'legacy-mangle') ev.legacyMangle = await pair('legacy', ['-t', 'mangle']);
    else ev.full = { legacy: await countBoth('legacy'), nft: await countBoth('nft') };
  }
}
