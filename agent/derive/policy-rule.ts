/**
 * A policy rule reduced to what the encapsulation-guard derivation and the drop checks read,
 * whatever the policy dataplane it came from: iptables (legacy or nft, via our iptables-save
 * parser) or Calico's native nftables dataplane (via `nft -j list ruleset`). Pure data.
 */
export interface PolicyRule {
  family: 'ipv4' | 'ipv6';
  /** iptables table (`filter`) or nftables `family table` (`ip calico`) */
  table: string;
  chain: string;
  /** 1-based position in its chain */
  index: number;
  /** ACCEPT, DROP, REJECT, RETURN, or the chain jumped / gone to; null when the rule has none */
  verdict: string | null;
  /** the protocol matched (`udp`, `ipencap`, `4`, …), null when none */
  protocol: string | null;
  /** destination ports matched (`--dport`, `--dports`, `udp dport`) */
  dports: number[];
  /** sets matched, with polarity and direction (`src`, `dst`, `src,dst`) */
  matchSets: { name: string; negated: boolean; direction: string }[];
  /** `-m addrtype --dst-type LOCAL` (or `fib daddr type local`): true, negated: false, absent: null */
  dstTypeLocal: boolean | null;
  packets: number;
  bytes: number;
  /** the `cali:<id>` rule id, when Felix wrote it */
  caliId: string | null;
  /** every comment except the cali: id */
  comments: string[];
  /** the rule as the tool printed it */
  text: string;
  /** source addresses / CIDRs matched (`-s`, `ip saddr`), not negated; absent when not read */
  sources?: string[];
}
