/**
 * Which iptables backend (legacy or nft) holds the node's rules, decided exactly as Felix does
 * (projectcalico/calico felix/environment/feature_detect_linux.go DetectBackend, itself a copy of
 * kubernetes-sigs/iptables-wrappers):
 *   1. `ip6tables-nft-save -t mangle` / `iptables-nft-save -t mangle` mention KUBE-IPTABLES-HINT
 *      or KUBE-KUBELET-CANARY → nft;
 *   2. else the same with the legacy binaries → legacy;
 *   3. else count rule lines (lines starting with '-') of full `*-legacy-save` and `*-nft-save`
 *      dumps of both families: legacy ≥ nft → legacy (a tie, e.g. no rules at all, is legacy),
 *      else nft.
 * Like Felix, a command that fails counts as empty output, and each binary falls back to the plain
 * `ip[6]tables-save` when the backend-specific one is not installed (FindBestBinary).
 * `decideBackend` is the pure part; `detectIptablesBackend` runs the commands through `Host`.
 * Stateless.
 */
import type { CollectorConfig, Host } from './types.js';

export type IptablesBackend = 'legacy' | 'nft';
export type Family = 4 | 6;

export interface BackendDecision {
  backend: IptablesBackend;
  reason: string;
}

/** What the decision has seen so far; the stages Felix runs in order. */
export interface BackendEvidence {
  nftMangle: { v4: string; v6: string };
  legacyMangle?: { v4: string; v6: string };
  /** rule-line counts (countRuleLines) of the full dumps, both families summed; counted as they
   * arrive so the dumps themselves (tens of MB on a big node) are not held */
  full?: { legacy: number; nft: number };
}

const HINTS = ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY'] as const;

export const hasKubernetesChains = (output: string): boolean => output.includes(HINTS[0]) || output.includes(HINTS[1]);

/** Felix's countRulesInIptableOutput: lines whose first byte is '-'. */
export const countRuleLines = (output: string): number => {
  let n = 0;
  let pos = 0;
  const len = output.length;
  while (pos < len) {
    if (output.charCodeAt(pos) === 45) n++;
    const nl = output.indexOf('\n', pos);
    if (nl < 0) break;
    pos = nl + 1;
  }
  return n;
};

/** The pure decision: a backend, or which further evidence Felix would gather next. */
export function decideBackend(ev: BackendEvidence): BackendDecision | { need: 'legacy-mangle' | 'full' } {
  if (hasKubernetesChains(ev.nftMangle.v6) || hasKubernetesChains(ev.nftMangle.v4)) {
    return { backend: 'nft', reason: 'kube hint chain (KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY) in the nft mangle table' };
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
 * ~140 MiB; a parse holds a few times the text, so 40 MiB (~250k rules) is what fits the agent's
 * 256 MiB memory limit. A larger dump is reported unavailable('output-too-large') (#16).
 */
export const SAVE_MAX_OUTPUT_BYTES = 40 * 1024 * 1024;
export const saveTimeoutMs = (config: CollectorConfig): number => Math.max(config.timeoutMs, 60_000);

/** Runs `<binary> args`, falling back to the plain binary when the specific one is missing; '' on failure (as Felix). */
const outputOf = async (host: Host, config: CollectorConfig, family: Family, backend: IptablesBackend, args: string[]): Promise<string> => {
  for (const bin of saveBinaries(family, backend)) {
    const r = await host.run({ argv: [bin, ...args], timeoutMs: saveTimeoutMs(config), maxOutputBytes: SAVE_MAX_OUTPUT_BYTES });
    if (r.ok) return r.stdout;
    if (r.kind !== 'missing-binary') return '';
  }
  return '';
};

/** The IO part: gathers evidence stage by stage, as Felix does, until `decideBackend` decides. */
export async function detectIptablesBackend(host: Host, config: CollectorConfig): Promise<BackendDecision> {
  const pair = async (backend: IptablesBackend, args: string[]) => ({
    v6: await outputOf(host, config, 6, backend, args),
    v4: await outputOf(host, config, 4, backend, args),
  });
  const countBoth = async (backend: IptablesBackend) =>
    countRuleLines(await outputOf(host, config, 6, backend, [])) + countRuleLines(await outputOf(host, config, 4, backend, []));
  const ev: BackendEvidence = { nftMangle: await pair('nft', ['-t', 'mangle']) };
  for (;;) {
    const d = decideBackend(ev);
    if ('backend' in d) return d;
    if (d.need === 'legacy-mangle') ev.legacyMangle = await pair('legacy', ['-t', 'mangle']);
    else ev.full = { legacy: await countBoth('legacy'), nft: await countBoth('nft') };
  }
}
