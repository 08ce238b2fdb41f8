/**
 * The lab's Felix stand-in for Calico's native nftables dataplane (FelixConfiguration
 * `nftablesMode: Enabled`): instead of ipset + iptables, each node gets a `table ip calico`
 * loaded with `nft -f`, modelled on what Felix writes (felix/fv/cali-nftables-dump.txt in
 * projectcalico/calico, and the chain naming `<iptables table>-<chain>` of felix/nftables):
 *   - set cali40all-vxlan-net: every node's VXLAN source address (the node IPs);
 *   - base chains filter-INPUT / filter-FORWARD / filter-OUTPUT jumping to filter-cali-*;
 *   - filter-cali-INPUT guards VXLAN the current way: accept `udp dport 4789` from the set, then a
 *     catch-all drop of the remaining VXLAN to a local address ("… from non-allowed hosts");
 *   - workload dispatch verdict maps and, per pod, a policy chain filter-cali-tw-<iface> that
 *     accepts through the profile and ends with "Drop if no profiles matched" (idle: counts 0).
 * Every rule has a counter and a `cali:<id>;` comment. IPv4 only, like the rest of the lab.
 * Also the nftables faults (peer missing from the set, set flushed, one peer's VXLAN dropped in
 * the input chain). Pure text builders plus inject/remove through the lab's shell. Stateless.
 */
import type { ExpectedFinding, FaultParams, TrafficExpectation } from './faults.js';
import type { Lab, LabNode, LabPlan } from './topology.js';
import { VXLAN_PORT, caliRuleId } from './topology.js';

export const NFT_TABLE = 'calico';
export const NFT_VXLAN_SET = 'cali40all-vxlan-net';
export const NFT_INPUT_CHAIN = 'filter-cali-INPUT';

/** `cali:<id>;` plus the text, as Felix writes nft comments. */
const comment = (id: string, text?: string): string => `comment "${id};${text !== undefined ? ` ${text}` : ''}"`;

/** The `nft -f` script for one node (a fresh table: deleted first if present). */
export const calicoNftRuleset = (plan: LabPlan, node: LabNode): string => {
  let n = 0;
  const id = (chain: string): string => caliRuleId(`nft/${chain}/${(n += 1)}`);
  const c = (chain: string, text?: string): string => comment(id(chain), text);
  const MARK = '0x00010000';
  const accepted = `meta mark & ${MARK} == ${MARK}`;
  const lines: string[] = [
    `table ip ${NFT_TABLE} {`,
    `  set ${NFT_VXLAN_SET} {`,
    '    type ipv4_addr',
    '    flags interval',
    `    elements = { ${plan.nodes.map((p) => p.nodeIp).join(', ')} }`,
    '  }',
    '  set cali40this-host {',
    '    type ipv4_addr',
    `    elements = { 127.0.0.1, ${node.nodeIp}, ${node.tunnelIp} }`,
    '  }',
    '  map filter-cali-from-wl-dispatch {',
    '    type ifname : verdict',
    ...(node.pods.length > 0 ? [`    elements = { ${node.pods.map((p) => `"${p.caliIf}" : goto filter-cali-fw-${p.caliIf}`).join(', ')} }`] : []),
    '  }',
    '  map filter-cali-to-wl-dispatch {',
    '    type ifname : verdict',
    ...(node.pods.length > 0 ? [`    elements = { ${node.pods.map((p) => `"${p.caliIf}" : goto filter-cali-tw-${p.caliIf}`).join(', ')} }`] : []),
    '  }',
    '  chain filter-cali-pri-kns.default {',
    `    counter meta mark set meta mark | ${MARK} ${c('pri')}`,
    `    ${accepted} counter return ${c('pri', 'Return if profile accepted')}`,
    '  }',
  ];
  for (const p of node.pods) {
    for (const dir of ['tw', 'fw'] as const) {
      const ch = `filter-cali-${dir}-${p.caliIf}`;
      lines.push(
        `  chain ${ch} {`,
        `    ct state established,related counter accept ${c(ch)}`,
        `    ct state invalid counter drop ${c(ch)}`,
        `    counter meta mark set meta mark & 0xfffeffff ${c(ch)}`,
        `    counter jump filter-cali-pri-kns.default ${c(ch)}`,
        `    ${accepted} counter return ${c(ch, 'Return if profile accepted')}`,
        `    counter drop ${c(ch, 'Drop if no profiles matched')}`,
        '  }',
      );
    }
  }
  lines.push(
    '  chain filter-cali-from-wl-dispatch {',
    `    iifname vmap @filter-cali-from-wl-dispatch ${c('fwd')}`,
    `    counter drop ${c('fwd', 'Unknown interface')}`,
    '  }',
    '  chain filter-cali-to-wl-dispatch {',
    `    oifname vmap @filter-cali-to-wl-dispatch ${c('twd')}`,
    `    counter drop ${c('twd', 'Unknown interface')}`,
    '  }',
    '  chain filter-cali-from-host-endpoint {',
    '  }',
    '  chain filter-cali-to-host-endpoint {',
    '  }',
    '  chain filter-cali-wl-to-host {',
    `    counter jump filter-cali-from-wl-dispatch ${c('wl-to-host')}`,
    `    counter accept ${c('wl-to-host', 'Configured DefaultEndpointToHostAction')}`,
    '  }',
    `  chain ${NFT_INPUT_CHAIN} {`,
    `    udp dport ${VXLAN_PORT} ip saddr @${NFT_VXLAN_SET} fib daddr type local counter accept ${c('in', 'Allow IPv4 VXLAN packets from allowed hosts')}`,
    `    udp dport ${VXLAN_PORT} fib daddr type local counter drop ${c('in', 'Drop IPv4 VXLAN packets from non-allowed hosts')}`,
    `    iifname "cali*" counter goto filter-cali-wl-to-host ${c('in')}`,
    `    ${accepted} counter accept ${c('in')}`,
    `    counter meta mark set meta mark & 0xfff0ffff ${c('in')}`,
    `    counter jump filter-cali-from-host-endpoint ${c('in')}`,
    `    ${accepted} counter accept ${c('in', 'Host endpoint policy accepted packet.')}`,
    '  }',
    '  chain filter-cali-FORWARD {',
    `    counter meta mark set meta mark & 0xffe5ffff ${c('fwd')}`,
    `    iifname "cali*" counter jump filter-cali-from-wl-dispatch ${c('fwd')}`,
    `    oifname "cali*" counter jump filter-cali-to-wl-dispatch ${c('fwd')}`,
    '  }',
    '  chain filter-cali-OUTPUT {',
    `    ${accepted} counter accept ${c('out')}`,
    `    oifname "cali*" counter return ${c('out')}`,
    `    udp dport ${VXLAN_PORT} fib saddr type local ip daddr @${NFT_VXLAN_SET} counter accept ${c('out', 'Allow IPv4 VXLAN packets to other allowed hosts')}`,
    `    counter jump filter-cali-to-host-endpoint ${c('out')}`,
    '  }',
    '  chain filter-INPUT {',
    '    type filter hook input priority filter; policy accept;',
    `    counter jump ${NFT_INPUT_CHAIN} ${c('INPUT')}`,
    '  }',
    '  chain filter-FORWARD {',
    '    type filter hook forward priority filter; policy accept;',
    `    counter jump filter-cali-FORWARD ${c('FORWARD')}`,
    `    ${accepted} counter accept ${c('FORWARD', 'Policy explicitly accepted packet.')}`,
    `    counter meta mark set meta mark | ${MARK} ${c('FORWARD')}`,
    '  }',
    '  chain filter-OUTPUT {',
    '    type filter hook output priority filter; policy accept;',
    `    counter jump filter-cali-OUTPUT ${c('OUTPUT')}`,
    '  }',
    '}',
    '',
  );
  return lines.join('\n');
};

/** Loads (or reloads) the node's calico table. */
export const programNftDataplane = async (lab: Pick<Lab, 'exec'>, plan: LabPlan, node: LabNode): Promise<void> => {
  await lab.exec(node.ns, ['nft', '-f', '-'], { input: `table ip ${NFT_TABLE}\ndelete table ip ${NFT_TABLE}\n${calicoNftRuleset(plan, node)}` });
};

// ---------------------------------------------------------------- faults

export type NftFaultKind = 'nft-host-not-in-set' | 'nft-set-flushed' | 'nft-encap-drop';

export interface NftFaultDef {
  kind: NftFaultKind;
  describe(p: FaultParams): string;
  inject(lab: Lab, p: FaultParams): Promise<void>;
  remove(lab: Lab, p: FaultParams): Promise<void>;
  expected(p: FaultParams): ExpectedFinding;
  traffic: TrafficExpectation;
}

const BREAKS: TrafficExpectation = { small: 'breaks', big: 'breaks' };
export const ENCAP_DROP_COMMENT = 'lab fault: drop VXLAN from one peer';

const nftIn = (lab: Lab, node: LabNode, ...args: string[]) => lab.exec(node.ns, ['nft', ...args]);

/** Handles of the rules in the input chain whose comment contains `text`. */
const handlesWithComment = async (lab: Lab, node: LabNode, text: string): Promise<number[]> => {
  const out = await nftIn(lab, node, '-j', 'list', 'chain', 'ip', NFT_TABLE, NFT_INPUT_CHAIN);
  const doc = JSON.parse(out.stdout) as { nftables: Array<{ rule?: { handle: number; comment?: string } }> };
  return doc.nftables.flatMap((o) => (o.rule?.comment?.includes(text) ? [o.rule.handle] : []));
};

export const NFT_FAULTS: Record<NftFaultKind, NftFaultDef> = {
  'nft-host-not-in-set': {
    kind: 'nft-host-not-in-set',
    describe: (p) => `${p.node}: ${p.peer}'s node IP missing from nft set ip ${NFT_TABLE} ${NFT_VXLAN_SET}`,
    inject: async (lab, p) => {
      await nftIn(lab, lab.node(p.node), 'delete', 'element', 'ip', NFT_TABLE, NFT_VXLAN_SET, `{ ${lab.node(p.peer).nodeIp} }`);
    },
    remove: async (lab, p) => {
      await nftIn(lab, lab.node(p.node), 'add', 'element', 'ip', NFT_TABLE, NFT_VXLAN_SET, `{ ${lab.node(p.peer).nodeIp} }`);
    },
    expected: (p) => ({ rule: 'host-not-in-allowed-set', node: p.node, peer: p.peer }),
    traffic: BREAKS,
  },
  'nft-set-flushed': {
    kind: 'nft-set-flushed',
    describe: (p) => `${p.node}: nft set ip ${NFT_TABLE} ${NFT_VXLAN_SET} flushed (no member)`,
    inject: async (lab, p) => {
      await nftIn(lab, lab.node(p.node), 'flush', 'set', 'ip', NFT_TABLE, NFT_VXLAN_SET);
    },
    remove: async (lab, p) => {
      await nftIn(lab, lab.node(p.node), 'add', 'element', 'ip', NFT_TABLE, NFT_VXLAN_SET, `{ ${lab.nodes.map((x) => x.nodeIp).join(', ')} }`);
    },
    expected: (p) => ({ rule: 'ipset-all-hosts-missing', node: p.node }),
    traffic: BREAKS,
  },
  'nft-encap-drop': {
    kind: 'nft-encap-drop',
    describe: (p) => `${p.node}: DROP of ${p.peer}'s VXLAN (udp ${VXLAN_PORT} from ${p.peer}'s node IP) at the top of ${NFT_INPUT_CHAIN}`,
    inject: async (lab, p) => {
      const peer = lab.node(p.peer);
      await nftIn(
        lab, lab.node(p.node), 'insert', 'rule', 'ip', NFT_TABLE, NFT_INPUT_CHAIN,
        'ip', 'saddr', peer.nodeIp, 'udp', 'dport', String(VXLAN_PORT), 'counter', 'drop',
        'comment', `"${caliRuleId(`lab-fault-nft-encap-drop/${peer.nodeIp}`)}; ${ENCAP_DROP_COMMENT}"`,
      );
    },
    remove: async (lab, p) => {
      const node = lab.node(p.node);
      for (const h of await handlesWithComment(lab, node, ENCAP_DROP_COMMENT)) {
        await nftIn(lab, node, 'delete', 'rule', 'ip', NFT_TABLE, NFT_INPUT_CHAIN, 'handle', String(h));
      }
    },
    // the aggregator names the peer whose node address the drop rule matches (as for iptables -s);
    // the local iptables-drops-rising also rises on the node, naming the rule
    expected: (p) => ({ rule: 'host-not-in-allowed-set', node: p.node, peer: p.peer }),
    traffic: BREAKS,
  },
};

export interface InjectedNftFault {
  def: NftFaultDef;
  description: string;
  expected: ExpectedFinding;
  remove(): Promise<void>;
}

export const injectNftFault = async (lab: Lab, kind: NftFaultKind, params: FaultParams): Promise<InjectedNftFault> => {
  const def = NFT_FAULTS[kind];
  await def.inject(lab, params);
  let removal: Promise<void> | undefined;
  return { def, description: def.describe(params), expected: def.expected(params), remove: () => (removal ??= def.remove(lab, params)) };
};
