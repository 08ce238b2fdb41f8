/**
 * What the gap analysis says about each hop (pure tables): which static rules can explain probes
 * vanishing there, on which of the two nodes, and the runbook step for each cause.
 */
import type { Hop } from '../../contract/diagnosis.js';

type Role = 'source' | 'destination';

/** Static finding rules that explain a gap at each hop, with the node that would hold them. */
export const HOP_RULES: Record<Hop, Array<[Role, string]>> = {
  'source-workload-out': [['source', 'iptables-drops-rising']],
  'source-tunnel-out': [
    ['source', 'route-missing'],
    ['source', 'route-wrong-next-hop'],
    ['source', 'tunnel-missing'],
    ['source', 'tunnel-down'],
    ['source', 'iptables-drops-rising'],
  ],
  'source-uplink-out': [
    ['source', 'vxlan-neighbor-mac-mismatch'],
    ['source', 'vxlan-fdb-mismatch'],
    ['source', 'tunnel-config-mismatch'],
    ['source', 'tunnel-mtu'],
    ['source', 'iptables-drops-rising'],
  ],
  'destination-uplink-in': [
    ['source', 'vxlan-fdb-mismatch'],
    ['source', 'route-wrong-next-hop'],
  ],
  'destination-tunnel-in': [
    ['source', 'vxlan-neighbor-mac-mismatch'],
    ['destination', 'host-not-in-allowed-set'],
    ['destination', 'tunnel-config-mismatch'],
    ['source', 'tunnel-config-mismatch'],
    ['destination', 'tunnel-down'],
    ['destination', 'iptables-drops-rising'],
  ],
  'destination-workload-in': [
    ['destination', 'iptables-drops-rising'],
    ['destination', 'ip-forward-disabled'],
    ['destination', 'rp-filter-strict'],
    ['destination', 'workload-route-missing'],
  ],
  'destination-workload-out': [['destination', 'iptables-drops-rising']],
  'destination-tunnel-out': [
    ['destination', 'route-missing'],
    ['destination', 'route-wrong-next-hop'],
    ['destination', 'rp-filter-strict'],
    ['destination', 'iptables-drops-rising'],
    ['destination', 'ip-forward-disabled'],
  ],
  'destination-uplink-out': [
    ['destination', 'vxlan-neighbor-mac-mismatch'],
    ['destination', 'vxlan-fdb-mismatch'],
    ['destination', 'tunnel-config-mismatch'],
  ],
  'source-uplink-in': [
    ['destination', 'vxlan-fdb-mismatch'],
    ['destination', 'route-wrong-next-hop'],
  ],
  'source-tunnel-in': [
    ['destination', 'vxlan-neighbor-mac-mismatch'],
    ['source', 'host-not-in-allowed-set'],
    ['source', 'tunnel-config-mismatch'],
    ['source', 'iptables-drops-rising'],
  ],
  'source-workload-in': [
    ['source', 'iptables-drops-rising'],
    ['source', 'rp-filter-strict'],
  ],
  'source-received': [
    ['source', 'rp-filter-strict'],
    ['source', 'iptables-drops-rising'],
  ],
};

/**
 * The same for a pair routed without encapsulation (BGP without encapsulation, CrossSubnet peers
 * on one subnet, #19): the path has uplink and workload hops only, and a probe that leaves the
 * uplink but never arrives was sent the wrong way (no route: the default gateway) or filtered.
 */
export const DIRECT_HOP_RULES: Partial<Record<Hop, Array<[Role, string]>>> = {
  'source-uplink-out': [
    ['source', 'route-missing'],
    ['source', 'route-wrong-next-hop'],
    ['source', 'route-wrong-form'],
    ['source', 'underlay-neighbor-failed'],
    ['source', 'bgp-session-down'],
    ['source', 'bgp-peer-down'],
    ['source', 'iptables-drops-rising'],
  ],
  'destination-uplink-in': [
    ['source', 'route-missing'],
    ['source', 'route-wrong-next-hop'],
    ['source', 'route-wrong-form'],
    ['source', 'bgp-session-down'],
    ['source', 'bgp-peer-down'],
  ],
  'destination-workload-in': HOP_RULES['destination-workload-in'],
  'destination-workload-out': HOP_RULES['destination-workload-out'],
  'destination-uplink-out': [
    ['destination', 'route-missing'],
    ['destination', 'route-wrong-next-hop'],
    ['destination', 'bgp-session-down'],
    ['destination', 'bgp-peer-down'],
    ['destination', 'rp-filter-strict'],
    ['destination', 'iptables-drops-rising'],
    ['destination', 'ip-forward-disabled'],
  ],
  'source-uplink-in': [
    ['destination', 'route-missing'],
    ['destination', 'route-wrong-next-hop'],
    ['destination', 'route-wrong-form'],
    ['destination', 'bgp-session-down'],
    ['destination', 'bgp-peer-down'],
  ],
  'source-received': HOP_RULES['source-received'],
};

/** Runbook steps for hops of a direct path where the tunnel wording does not apply. */
export const DIRECT_HOP_REMEDIES: Partial<Record<Hop, string>> = {
  'source-uplink-out': 'The source node never sent the probes out of its uplink: check its route to the target (`ip route get <target>`; `proto bird` routes come from BGP: `birdcl show protocols`).',
  'destination-uplink-in':
    'The probes left the source uplink but never reached the destination: without a route to the block the source sends them to its default gateway; else the underlay or a firewall drops them. Check `ip route get <target>` on the source and its BGP sessions.',
  'destination-uplink-out': "The reply never left the destination's uplink: the destination has no (or a wrong) route back to the source (`ip route get <source IP>` there; BGP: `birdcl show protocols`).",
  'source-uplink-in': 'The reply left the destination but never reached the source: the destination routes it elsewhere (no route back: its default gateway) or the underlay drops it.',
};

/** Runbook steps, keyed by rule id, hop (when nothing names a rule) or verdict. */
export const REMEDIES = {
  healthy: 'Nothing to fix on this path. If the application still fails, look at its port, network policy and DNS.',
  inconclusive:
    'Run the diagnosis again; if it stays inconclusive check that both agents are up (calico-diag nodes) and that tcpdump is present in the agent image.',
  'vxlan-neighbor-mac-mismatch':
    'On the node named, compare `ip neigh show dev vxlan.calico` with the peer\'s VTEP MAC (`ip link show vxlan.calico` on the peer). Felix rewrites its PERMANENT neighbours on resync: restart calico-node on that node, or delete the wrong entry (`ip neigh del <peer tunnel IP> dev vxlan.calico`) and let Felix program it again.',
  'vxlan-fdb-mismatch':
    'On the node named, check `bridge fdb show dev vxlan.calico`: the peer\'s VTEP MAC must point at the peer\'s node IP (`<mac> dst <node IP> self permanent`). Restart calico-node there so Felix reprograms the FDB.',
  'host-not-in-allowed-set':
    'On the node named, the peer\'s node IP is missing from the all-hosts ipset (`ipset list cali40all-hosts-net`), so Felix drops its VXLAN/IPIP packets. Check the peer\'s Node resource has its address (calicoctl get node -o yaml) and restart calico-node on the node named to resync.',
  'encap-source-unexpected':
    'The peer sends its encapsulated packets from an address the receiving node does not allow: calico-node\'s IP autodetection chose another interface (the overlay runbook\'s cause). On the sending node compare `ip -d link show vxlan.calico` (local) and `calicoctl get node <node> -o yaml` (spec.bgp.ipv4Address, ipv4VXLANTunnelAddr) with the interface that should carry node traffic; set IP_AUTODETECTION_METHOD on calico-node (e.g. interface=eth0, cidr=<node subnet>, kubernetes-internal-ip) and restart it so the Node address, the guarding sets and the tunnel source agree.',
  'route-missing':
    'On the node named, the route to the peer\'s block is missing (`ip route show proto 80` / `proto bird`). Check the peer\'s block affinity (calicoctl ipam show --show-blocks) and restart calico-node on the node named.',
  'route-wrong-next-hop': 'On the node named, the route to the peer\'s block points at the wrong next hop: compare `ip route` with the peer\'s tunnel IP and restart calico-node there.',
  'tunnel-config-mismatch': 'VNI, port or tunnel mode differ between the two nodes: compare `ip -d link show vxlan.calico` and the IPPool\'s vxlanMode/ipipMode (calicoctl get ippool -o wide).',
  'iptables-drops-rising':
    'A DROP/REJECT rule is counting the probes on the node named: `iptables-save -c | grep -E "DROP|REJECT"` — look for a non-Calico rule or a network policy denying this traffic.',
  'rp-filter-strict': 'Set rp_filter to loose (2) on the node named for the tunnel and uplink devices, as Calico expects (sysctl net.ipv4.conf.all.rp_filter=2).',
  'ip-forward-disabled': 'Enable forwarding on the node named: sysctl -w net.ipv4.ip_forward=1 (and persist it).',
  'tunnel-missing': 'The tunnel device is missing on the node named: check calico-node logs and the IPPool encapsulation mode.',
  'tunnel-down': 'The tunnel device is down on the node named: `ip link set vxlan.calico up`, then check why calico-node let it go down.',
  'route-wrong-form': 'On the node named, the route to the peer\'s block has the wrong form for the pair (tunnel vs direct): compare the IP pool\'s vxlanMode/ipipMode (CrossSubnet?) with both nodes\' subnets, delete the stray route and let calico-node reprogram it.',
  'bgp-session-down': 'The BGP session between the two nodes is down: compare both ends (`birdcl -s /var/run/calico/bird.ctl show protocols all`), check TCP 179 between the node IPs and the AS numbers (`calicoctl get bgpconfig,bgppeer,node -o yaml`).',
  'bgp-peer-down': 'A BGP session of the node named is not Established: `calicoctl node status` / `birdcl show protocols all` on it (Last error); check TCP 179 and AS numbers.',
  'tunnel-mtu': 'Set the tunnel MTU to the uplink MTU minus the encapsulation overhead (VXLAN 50) in the Calico configuration.',
  'source-workload-out': 'The probes never left the source pod: its own routes (`ip route` in the pod) or an egress policy rule for it on its node (`iptables-save -c | grep -A3 cali-fw-<pod device>`) stops them.',
  'source-workload-in': 'The reply reached the source node but never entered the source pod: an ingress rule for the pod (`cali-tw-<pod device>`) or the route to the pod on its node drops it.',
  'source-tunnel-out': 'The source node never sent the probes into the tunnel: check its route to the target (`ip route get <target> from <source tunnel IP>`).',
  'source-uplink-out': 'The probes entered the tunnel device but never left the uplink: check the source node\'s neighbour and FDB entries for the peer.',
  'destination-uplink-in':
    'The encapsulated probes left the source uplink but never reached the destination uplink: the underlay drops them. Allow UDP 4789 (VXLAN) / IP protocol 4 (IPIP) between the node IPs in security groups and host firewalls.',
  'destination-tunnel-in': 'The destination received the encapsulated probes but its tunnel device did not deliver them: check its all-hosts ipset and the inner MAC the source uses.',
  'destination-workload-in':
    'The destination decapsulated the probes but they never reached the pod: a rule in the forward path drops them (`iptables-save -c -t filter | grep -A3 cali-FORWARD`), or forwarding is off.',
  'destination-workload-out': 'The pod received the probes but never answered: check the pod itself (its firewall, whether it answers ICMP).',
  'destination-tunnel-out':
    'The reply never entered the destination\'s tunnel device: the destination has no (or a wrong) route back to the source\'s block (`ip route get <source tunnel IP>` on the destination).',
  'destination-uplink-out': 'The reply entered the destination\'s tunnel device but never left its uplink: check its neighbour and FDB entries for the source node.',
  'source-uplink-in': 'The reply left the destination but never reached the source uplink: the underlay drops it on the way back.',
  'source-tunnel-in': 'The reply reached the source uplink but its tunnel device did not deliver it: check the source\'s all-hosts ipset and the inner MAC the destination uses.',
  'source-received': 'The reply was decapsulated on the source but ping never got it: rp_filter or an INPUT rule on the source drops it.',
} satisfies Record<string, string>;

/** The runbook step for a rule, hop or verdict; the generic one for anything unknown. */
export const remedyFor = (...keys: Array<string | undefined>): string => {
  const table: Record<string, string> = REMEDIES;
  for (const k of keys) if (k !== undefined && table[k] !== undefined) return table[k] as string;
  return REMEDIES.inconclusive;
};

/** A hop in plain words, e.g. "node-b's vxlan.calico (incoming)". */
export const hopWords = (hop: Hop, source: string, destination: string, device: string | null): string => {
  const node = hop.startsWith('source') ? source : destination;
  if (hop === 'source-received') return `the probe socket on ${source}`;
  const what = hop.includes('uplink') ? 'uplink' : hop.includes('tunnel') ? 'tunnel device' : 'workload interface';
  const dir = hop.endsWith('-in') ? 'incoming' : 'outgoing';
  return `${node}'s ${what}${device ? ` ${device}` : ''} (${dir})`;
};
