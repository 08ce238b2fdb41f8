import { describe, expect, it } from 'vitest';
import { buildPolicyIndex, felixChainNames, felixPolicyIds, lengthLimitedId, tierFromPolicyName } from '../../../aggregator/diagnose/policy-names.js';
import { describeRuleHit, namePolicies, policyOf } from '../../../aggregator/diagnose/rule-hits.js';
import type { RuleHit } from '../../../contract/diagnosis.js';

// Expected values are Felix's own (Apache-2.0, github.com/projectcalico/calico):
//   libcalico-go/lib/hash/unique_id_test.go          GetLengthLimitedID vectors
//   felix/rules/policy_test.go @ v3.26.0             PolicyID{Name: "long-policy-name-that-gets-hashed"}
//   felix/rules/policy_test.go @ v3.30.0             the same name, empty tier: id "/long-…"
//   felix/rules/policy_test.go @ v3.32.0             GlobalNetworkPolicy "long-…": id "gnp/long-…"; ProfileID "long-…"
//   felix/fv/iptables_force_programming_test.go @ v3.31.0   GlobalNetworkPolicy "policy-1" created through
//                                                    the client → chains cali-pi-/cali-po-_l_CMLPBmpkyZIIwB62k
// #18
describe('Felix chain names', () => {
  it('lengthLimitedId matches libcalico-go GetLengthLimitedID on its unit-test vectors', () => {
    expect(lengthLimitedId('felix', '1234', 10)).toBe('felix1234');
    expect(lengthLimitedId('felix', '123456', 11)).toBe('felix123456');
    expect(lengthLimitedId('felix', '_2345', 10)).toBe('felix_kMQI');
    expect(lengthLimitedId('felix', '12345678910', 13)).toBe('felix_Y2QCZIS');
  });

  it('policy and profile chains hash long ids as Felix 3.26, 3.30 and 3.32 did', () => {
    const long = 'long-policy-name-that-gets-hashed';
    expect(lengthLimitedId('cali-po-', long, 28)).toBe('cali-po-_ffOMcf6pikpiZ6hgKcW'); // 3.26: the name alone
    expect(lengthLimitedId('cali-pi-', `/${long}`, 28)).toBe('cali-pi-_FJ9yUkNpzshVDh2n7mg'); // 3.30: tier "" + "/" + name
    expect(lengthLimitedId('cali-pi-', `gnp/${long}`, 28)).toBe('cali-pi-_PymyFHQQg3808jiz1OJ'); // 3.32: kind/name
    expect(lengthLimitedId('cali-pri-', long, 28)).toBe('cali-pri-_ffOMcf6pikpiZ6hgKc'); // profile: one character less of hash
    expect(lengthLimitedId('cali-pro-', long, 28)).toBe('cali-pro-_ffOMcf6pikpiZ6hgKc');
    // nftables mode: 256 characters, no hash
    expect(lengthLimitedId('cali-pi-', `gnp/${long}`, 256)).toBe(`cali-pi-gnp/${long}`);
  });

  it('every release\'s id for each kind', () => {
    expect(felixPolicyIds({ kind: 'KubernetesNetworkPolicy', namespace: 'calico-apiserver', name: 'allow-apiserver' })).toEqual([
      'calico-apiserver/knp.default.allow-apiserver',
      'default/calico-apiserver/knp.default.allow-apiserver',
      'knp/calico-apiserver/allow-apiserver',
    ]);
    expect(felixPolicyIds({ kind: 'GlobalNetworkPolicy', name: 'policy-1' })).toEqual(
      expect.arrayContaining(['policy-1', 'default.policy-1', 'default/default.policy-1', 'gnp/policy-1', 'gnp/default.policy-1']),
    );
    expect(felixPolicyIds({ kind: 'NetworkPolicy', namespace: 'shop', name: 'tier1.deny', tier: 'tier1' })).toEqual(['shop/tier1.deny', 'tier1/shop/tier1.deny', 'np/shop/tier1.deny']);
    expect(felixPolicyIds({ kind: 'Profile', name: 'kns.shop' })).toEqual(['kns.shop']);
    expect(tierFromPolicyName('knp.default.x')).toBe('default');
    expect(tierFromPolicyName('security.x')).toBe('security');
    expect(tierFromPolicyName('x')).toBe('default');
  });

  it('the datastore\'s GlobalNetworkPolicy "policy-1" owns the chains Felix 3.31 programmed for it', () => {
    const chains = felixChainNames({ kind: 'GlobalNetworkPolicy', name: 'policy-1', tier: 'default' }).map((c) => c.chain);
    expect(chains).toEqual(expect.arrayContaining(['cali-pi-_l_CMLPBmpkyZIIwB62k', 'cali-po-_l_CMLPBmpkyZIIwB62k', 'cali-pi-gnp/policy-1']));
    const index = buildPolicyIndex([{ kind: 'GlobalNetworkPolicy', name: 'policy-1', tier: 'default' }]);
    expect(index.lookup('cali-po-_l_CMLPBmpkyZIIwB62k')).toEqual({ ref: { kind: 'GlobalNetworkPolicy', name: 'policy-1', tier: 'default' }, direction: 'egress' });
    // the nftables dataplane's table prefix
    expect(index.lookup('filter-cali-pi-gnp/policy-1')?.direction).toBe('ingress');
  });

  it('an unknown chain, a chain two policies could own, and a non-policy chain get no name', () => {
    const index = buildPolicyIndex([
      { kind: 'GlobalNetworkPolicy', name: 'policy-1' },
      // two listings that Felix would name alike: ambiguous, so not named
      { kind: 'NetworkPolicy', namespace: 'a', name: 'dup' },
      { kind: 'NetworkPolicy', namespace: 'a', name: 'default.dup' },
    ]);
    expect(index.lookup('cali-pi-_AAAAAAAAAAAAAAAAAAA')).toBeNull();
    expect(index.lookup('cali-pi-a/default.dup')).toBeNull();
    expect(index.lookup('cali-FORWARD')).toBeNull();
  });
});

const hit = (chain: string, comments: string[] = []): RuleHit => ({
  node: 'node2',
  family: 'ipv4',
  table: 'filter',
  chain,
  index: 3,
  target: 'DROP',
  caliId: 'qyh8oVkkvbq0ffGN',
  comments,
  rule: `-A ${chain} -m comment --comment "cali:qyh8oVkkvbq0ffGN" -j DROP`,
  packets: 3,
});

// #18
describe('rule hits named from the datastore', () => {
  const index = buildPolicyIndex([
    { kind: 'NetworkPolicy', namespace: 'shop', name: 'default.deny-from-frontend-namespace', tier: 'default' },
    { kind: 'KubernetesNetworkPolicy', namespace: 'calico-apiserver', name: 'allow-apiserver' },
    { kind: 'Profile', name: 'ksa.calico-apiserver.calico-apiserver' },
  ]);

  it('a DROP in a hashed policy chain names the policy with kind, namespace, tier and direction', () => {
    const chain = lengthLimitedId('cali-pi-', 'default/shop/default.deny-from-frontend-namespace', 28);
    expect(chain.startsWith('cali-pi-_')).toBe(true);
    const [named] = namePolicies([hit(chain)], index);
    expect(named!.policy).toEqual({ name: 'default.deny-from-frontend-namespace', source: 'datastore', direction: 'ingress', kind: 'NetworkPolicy', namespace: 'shop', tier: 'default' });
    expect(describeRuleHit(named!)).toContain('(policy shop/default.deny-from-frontend-namespace, NetworkPolicy, tier default, ingress; name from the datastore)');
  });

  it('profiles and Kubernetes NetworkPolicies are named; a chain the datastore does not produce keeps what the comments say', () => {
    const profile = namePolicies([hit(lengthLimitedId('cali-pro-', 'ksa.calico-apiserver.calico-apiserver', 28))], index)[0]!;
    expect(profile.policy).toMatchObject({ kind: 'Profile', name: 'ksa.calico-apiserver.calico-apiserver', direction: 'egress', source: 'datastore' });
    const knp = namePolicies([hit(lengthLimitedId('cali-pi-', 'knp/calico-apiserver/allow-apiserver', 28))], index)[0]!;
    expect(knp.policy).toMatchObject({ kind: 'KubernetesNetworkPolicy', namespace: 'calico-apiserver', name: 'allow-apiserver' });
    const unknown = namePolicies([hit('cali-pi-_notInTheDatastore0000')], index)[0]!;
    expect(unknown.policy).toEqual({ name: null, source: 'unknown', direction: 'ingress' });
  });

  it('Felix 3.32 comments give kind and namespace; profile comments name the profile', () => {
    expect(policyOf('cali-pi-_x', ['NetworkPolicy shop/deny ingress'])).toEqual({ name: 'deny', source: 'comment', kind: 'NetworkPolicy', namespace: 'shop', direction: 'ingress' });
    expect(policyOf('cali-po-_x', ['GlobalNetworkPolicy a.b egress'])).toEqual({ name: 'a.b', source: 'comment', kind: 'GlobalNetworkPolicy', direction: 'egress' });
    expect(policyOf('cali-pri-_x', ['Profile kns.shop ingress'])).toEqual({ name: 'kns.shop', source: 'comment', kind: 'Profile', direction: 'ingress' });
    expect(policyOf('cali-pri-kns.shop', [])).toEqual({ name: 'kns.shop', source: 'chain-name', kind: 'Profile', direction: 'ingress' });
  });
});
