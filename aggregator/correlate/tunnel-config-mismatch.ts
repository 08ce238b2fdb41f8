/**
 * tunnel-config-mismatch: VNI, UDP port or MTU of a Calico tunnel device differ across nodes. For each
 * (tunnel kind, family, attribute) the value most nodes have is taken as the cluster's; every node
 * with another value gets a finding. When the most common value is tied with another, there is no
 * majority to judge by: every node of the group is reported, expected "one value across the cluster".
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { Tunnel } from '../../contract/snapshot.js';
import type { NodeView } from '../cluster/cluster.js';
import type { CorrelateRule } from './types.js';

export const RULE_ID = 'tunnel-config-mismatch';

const REMEDY: Record<'vni' | 'port' | 'mtu', string> = {
  vni:
    'Nodes disagree on the VXLAN VNI, so they drop each other\'s encapsulated packets. Felix sets the VNI from ' +
    'FelixConfiguration vxlanVNI (default 4096): look for a per-node FelixConfiguration (node.<name>) overriding it, ' +
    'fix it, and restart calico-node on the odd nodes (or delete their vxlan.calico so Felix recreates it).',
  port:
    'Nodes disagree on the VXLAN UDP port, so encapsulated packets go to a port the peer does not listen on. Felix ' +
    'sets it from FelixConfiguration vxlanPort (default 4789): remove per-node overrides, then restart calico-node on ' +
    'the odd nodes; make sure the firewall allows the port between all nodes.',
  mtu:
    'Tunnel MTUs differ across nodes: packets sized for the larger MTU are dropped or fragmented toward nodes with ' +
    'the smaller one. Set one MTU for the cluster (Installation spec.calicoNetwork.mtu or FelixConfiguration ' +
    'vxlanMTU/ipipMTU/wireguardMTU = smallest uplink MTU minus the overhead: VXLAN 50, IPIP 20, WireGuard 60), then ' +
    'restart calico-node; pods created before the change keep their old MTU until recreated.',
};

type Attr = 'vni' | 'port' | 'mtu';

export const tunnelConfigMismatch: CorrelateRule = {
  id: RULE_ID,
  description: 'VNI, UDP port or tunnel MTU differ across nodes (minority nodes vs the majority value)',
  run(cluster) {
    const out: FindingDraft[] = [];
    const groups = new Map<string, { n: NodeView; t: Tunnel; attr: Attr; value: number }[]>();
    for (const n of cluster.fresh) {
      for (const t of n.entry.tunnels) {
        const attrs: Attr[] = t.kind === 'vxlan' ? ['vni', 'port', 'mtu'] : ['mtu'];
        for (const attr of attrs) {
          const value = t[attr];
          if (value === null) continue;
          const key = `${t.kind}/${t.family}/${attr}`;
          let list = groups.get(key);
          if (list === undefined) groups.set(key, (list = []));
          list.push({ n, t, attr, value });
        }
      }
    }
    for (const [key, list] of groups) {
      const counts = new Map<number, number>();
      for (const e of list) counts.set(e.value, (counts.get(e.value) ?? 0) + 1);
      if (counts.size < 2) continue;
      const ranked = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]);
      const [top, second] = ranked as [[number, number], [number, number]];
      const tie = top[1] === second[1];
      const countsObj = Object.fromEntries(ranked.map(([v, c]) => [String(v), c]));
      for (const e of list) {
        if (!tie && e.value === top[0]) continue;
        out.push({
          rule: RULE_ID,
          severity: 'warning',
          node: e.n.name,
          subject: `${e.t.device}:${e.attr}`,
          summary: tie
            ? `${e.n.name}: ${e.t.device} ${e.attr} ${e.value}; nodes are split with no majority (${ranked.map(([v, c]) => `${v}×${c}`).join(', ')})`
            : `${e.n.name}: ${e.t.device} ${e.attr} is ${e.value}, ${top[1]} of ${list.length} nodes have ${top[0]}`,
          evidence: {
            seen: `${e.t.device} ${e.attr} ${e.value}`,
            expected: tie ? `one ${e.attr} across the cluster` : `${e.t.device} ${e.attr} ${top[0]} (majority)`,
            details: { device: e.t.device, attribute: e.attr, value: e.value, majority: tie ? null : top[0], counts: countsObj, group: key },
          },
          remedy: REMEDY[e.attr],
        });
      }
    }
    return out;
  },
};
