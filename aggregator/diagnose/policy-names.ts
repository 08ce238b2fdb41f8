/**
 * Which datastore policy a Felix policy or profile chain belongs to (#18, pure). Felix names the
 * chains of a policy `cali-pi-<id>` (ingress) / `cali-po-<id>` (egress) and of a profile
 * `cali-pri-<name>` / `cali-pro-<name>`, through libcalico-go's `hash.GetLengthLimitedID`: the id
 * itself when prefix + id fits the chain name limit (iptables 28, nftables 256), else `_` + the
 * base64url SHA-256 of the id cut to fit. The id changed over releases (felix/rules/policy.go
 * PolicyChainName, felix/types/policy_id.go):
 *
 *   up to 3.28   the v1 name:             `<ns>/<tier>.<name>`, `<tier>.<name>` (global),
 *                                         `<ns>/knp.default.<name>` (Kubernetes)
 *   3.29 – 3.31  `<tier>/` + the v1 name: `default/<ns>/knp.default.<name>`, …
 *   3.32 on      kind/namespace/name:     `np/<ns>/<name>`, `gnp/<name>`, `knp/<ns>/<name>`
 *
 * Profiles keep their name in every release (`kns.<namespace>`, `ksa.<namespace>.<serviceaccount>`).
 * The index computes every form for every policy the datastore lists and maps a chain back only
 * when exactly one policy produces it: an unknown or ambiguous chain gets no name, never a guess.
 */
import { createHash } from 'node:crypto';

export type PolicyKind = 'NetworkPolicy' | 'GlobalNetworkPolicy' | 'KubernetesNetworkPolicy' | 'Profile';

/** One policy or profile as the datastore lists it. */
export interface PolicyRef {
  kind: PolicyKind;
  /** namespaced kinds only */
  namespace?: string;
  /** the name as listed (a Calico policy's stored name may carry its tier: `default.allow-dns`) */
  name: string;
  /** Calico policies: the tier (Kubernetes NetworkPolicies are in `default`) */
  tier?: string;
}

/** iptables' chain name limit as Felix applies it (felix/iptables/table.go MaxChainNameLength) */
export const IPTABLES_CHAIN_MAX = 28;
/** nftables' name limit (knftables.NameLengthMax), Felix's limit in nftables mode */
export const NFTABLES_CHAIN_MAX = 256;

const SHORTENED = '_';

/** libcalico-go hash.GetLengthLimitedID, byte for byte (Go's len() counts bytes). */
export const lengthLimitedId = (prefix: string, suffix: string, maxLength: number): string => {
  const s = suffix === '' ? SHORTENED : suffix;
  const total = Buffer.byteLength(prefix) + Buffer.byteLength(s);
  if (total > maxLength || (total === maxLength && s.startsWith(SHORTENED))) {
    const hash = createHash('sha256').update(s, 'utf8').digest('base64url');
    return prefix + SHORTENED + hash.slice(0, Math.max(0, maxLength - 1 - Buffer.byteLength(prefix)));
  }
  return prefix + s;
};

/** libcalico-go names.TierFromPolicyName (3.29 – 3.31): the tier a stored policy name carries. */
export const tierFromPolicyName = (name: string): string => {
  if (name.startsWith('knp.default.') || name.startsWith('ossg.')) return 'default';
  const dot = name.indexOf('.');
  return dot < 0 ? 'default' : name.slice(0, dot);
};

const uniq = (xs: readonly string[]): string[] => [...new Set(xs)];

/** Every id Felix 3.x gave this policy's chains (see the header); profiles: their name. */
export const felixPolicyIds = (p: PolicyRef): string[] => {
  const ns = p.namespace ?? '';
  switch (p.kind) {
    case 'Profile':
      return [p.name];
    case 'KubernetesNetworkPolicy': {
      const v1 = `${ns}/knp.default.${p.name}`;
      return [v1, `default/${v1}`, `knp/${ns}/${p.name}`];
    }
    case 'NetworkPolicy':
    case 'GlobalNetworkPolicy': {
      // the stored name: the API server (projectcalico.org/v3) shows default-tier names without
      // the `default.` that 3.28 – 3.31 stored; 3.32 stores new names without a tier prefix
      const tier = p.tier ?? 'default';
      const stored = uniq([p.name, p.name.includes('.') ? p.name : `${tier}.${p.name}`]);
      const out: string[] = [];
      for (const b of stored) {
        const v1 = p.kind === 'NetworkPolicy' ? `${ns}/${b}` : b;
        out.push(v1, `${tierFromPolicyName(b)}/${v1}`, p.kind === 'NetworkPolicy' ? `np/${ns}/${b}` : `gnp/${b}`);
      }
      return uniq(out);
    }
  }
};

export type ChainDirection = 'ingress' | 'egress';

const PREFIXES: readonly { prefix: string; direction: ChainDirection; profile: boolean }[] = [
  { prefix: 'cali-pi-', direction: 'ingress', profile: false },
  { prefix: 'cali-po-', direction: 'egress', profile: false },
  { prefix: 'cali-pri-', direction: 'ingress', profile: true },
  { prefix: 'cali-pro-', direction: 'egress', profile: true },
];

/** Every chain name Felix gives this policy (both directions, iptables and nftables limits). */
export const felixChainNames = (p: PolicyRef): { chain: string; direction: ChainDirection }[] => {
  const out: { chain: string; direction: ChainDirection }[] = [];
  const seen = new Set<string>();
  for (const { prefix, direction, profile } of PREFIXES) {
    if (profile !== (p.kind === 'Profile')) continue;
    for (const id of felixPolicyIds(p))
      for (const max of [IPTABLES_CHAIN_MAX, NFTABLES_CHAIN_MAX]) {
        const chain = lengthLimitedId(prefix, id, max);
        if (!seen.has(chain)) {
          seen.add(chain);
          out.push({ chain, direction });
        }
      }
  }
  return out;
};

/** The Felix chain part of a chain name (`filter-cali-pi-…` in Calico's nftables table → `cali-pi-…`); null for other chains. */
export const felixPolicyChain = (chain: string): { chain: string; direction: ChainDirection; profile: boolean } | null => {
  const m = /(?:^|-)(cali-p(r?)([io])-.*)$/.exec(chain);
  if (!m?.[1]) return null;
  return { chain: m[1], direction: m[3] === 'i' ? 'ingress' : 'egress', profile: m[2] === 'r' };
};

const refKey = (r: PolicyRef): string => [r.kind, r.namespace ?? '', r.name].join('\u0000');

export interface PolicyIndex {
  /** the one policy whose chain this is; null when none or more than one produce it */
  lookup(chain: string): { ref: PolicyRef; direction: ChainDirection } | null;
  readonly size: number;
}

export const buildPolicyIndex = (refs: readonly PolicyRef[]): PolicyIndex => {
  const byChain = new Map<string, { refs: Map<string, PolicyRef>; direction: ChainDirection }>();
  for (const ref of refs)
    for (const { chain, direction } of felixChainNames(ref)) {
      const e = byChain.get(chain) ?? { refs: new Map<string, PolicyRef>(), direction };
      e.refs.set(refKey(ref), ref);
      byChain.set(chain, e);
    }
  return {
    size: refs.length,
    lookup: (chain) => {
      const c = felixPolicyChain(chain);
      if (!c) return null;
      const e = byChain.get(c.chain);
      if (!e || e.refs.size !== 1) return null;
      const [ref] = [...e.refs.values()];
      return ref ? { ref, direction: e.direction } : null;
    },
  };
};
