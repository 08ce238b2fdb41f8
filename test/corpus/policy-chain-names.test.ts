/**
 * Felix's policy and profile chain names against real Felix outputs of the shared corpus, read in
 * place (the 9506hqwy/k8s_study_notes listings carry no licence that allows copying them). In these
 * dumps the first rule of each chain carries Felix's `Policy <id> ingress` / `Profile <name> …`
 * comment, and in Calico's flow-log NFLOG prefixes `API0|<id>` the v1 id; the chain it sits in must
 * be the name computed from the datastore policy that produces that id (#18).
 */
import { describe, expect, it } from 'vitest';
import { buildPolicyIndex, felixChainNames, type PolicyRef } from '../../aggregator/diagnose/policy-names.js';
import { corpusText } from './corpus.js';

/** The listing's chains with the Policy/Profile comment of their first rule (`iptables -n -L`). */
const commentedChains = (text: string): { chain: string; what: 'Policy' | 'Profile'; id: string }[] => {
  const out: { chain: string; what: 'Policy' | 'Profile'; id: string }[] = [];
  let chain: string | null = null;
  for (const line of text.split('\n')) {
    const h = /^Chain (cali-p\S+)/.exec(line);
    if (h?.[1]) {
      chain = h[1];
      continue;
    }
    const c = /\/\* (Policy|Profile) (\S+) (?:ingress|egress) \*\//.exec(line);
    if (chain && c?.[1] && c[2]) {
      out.push({ chain, what: c[1] as 'Policy' | 'Profile', id: c[2] });
      chain = null;
    }
  }
  return out;
};

/** The datastore object a Felix v1 id came from (`<ns>/knp.default.<name>`, `kns.<ns>`, `ksa.<ns>.<sa>`). */
const refOf = (what: 'Policy' | 'Profile', id: string): PolicyRef => {
  if (what === 'Profile') return { kind: 'Profile', name: id };
  const [ns, name] = id.split('/') as [string, string];
  return name.startsWith('knp.default.') ? { kind: 'KubernetesNetworkPolicy', namespace: ns, name: name.slice('knp.default.'.length) } : { kind: 'NetworkPolicy', namespace: ns, name };
};

describe('Felix chain names from the corpus (read in place)', () => {
  it('every commented policy/profile chain of a 2024 iptables listing is the one computed for its policy', () => {
    const chains = commentedChains(corpusText('iptables-list', '9506hqwy-2024-controller-iptables-n-L-filter-calico-kube.txt'));
    // Policy calico-apiserver/knp.default.allow-apiserver, 5 ksa./kns. profiles hashed, 2 kns. profiles whole
    expect(chains.length).toBeGreaterThanOrEqual(8);
    expect(chains.some((c) => c.chain.startsWith('cali-pi-_'))).toBe(true);
    for (const c of chains) {
      const ref = refOf(c.what, c.id);
      expect(felixChainNames(ref).map((n) => n.chain), `${c.chain} ← ${c.what} ${c.id}`).toContain(c.chain);
      expect(buildPolicyIndex([ref]).lookup(c.chain)?.ref).toEqual(ref);
    }
  });

  it('a later (3.29+) nft listing: the chain holding the NFLOG prefix API0|<id> is computed from tier "default" + id', () => {
    const text = corpusText('nft', '9506hqwy-controller-nft-list-ruleset-ip-iptables-nft-calico.txt');
    const m = /chain (cali-pi-\S+) \{\n[^\n]*\n[^\n]*log prefix "API0\|([^"]+)"/.exec(text);
    expect(m).not.toBeNull();
    const [, chain, id] = m as unknown as [string, string, string];
    const ref = refOf('Policy', id);
    expect(buildPolicyIndex([ref]).lookup(chain)?.ref).toEqual(ref);
  });
});
