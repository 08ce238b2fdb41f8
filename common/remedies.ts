/**
 * The remedies of the node-local rules, in our own words: what the aggregator shows for a finding
 * an agent reported (#16: the remedy shown for a rule was whatever the first reporter sent). The
 * agent's own output (`calico-diag snapshot`) keeps its checks' remedies, which name the node's
 * devices and addresses; across the cluster, a report can claim a rule but not what it tells a
 * responder to run. A rule missing here (an agent newer than the aggregator) gets UNKNOWN_REMEDY.
 * Pure data.
 */
export const LOCAL_RULE_REMEDIES: Readonly<Record<string, string>> = {
  'bgp-peer-down':
    'Look at the session on this node (`birdcl -s /var/run/calico/bird.ctl show protocols all <session>`, Last error; or `calicoctl node status`). ' +
    'Check TCP 179 between the two nodes both ways (firewalls, security groups), that both agree on AS numbers and peer IPs (`calicoctl get bgpconfig,bgppeer -o yaml`, `calicoctl get node -o wide`), BGP passwords, and the autodetected node IP.',
  'conntrack-near-full':
    "Confirm with `dmesg | grep -i 'conntrack: table full'` and `conntrack -S` (drop, insert_failed); find the top talkers (`conntrack -L -o extended`). " +
    'Raise net.netfilter.nf_conntrack_max (persist under /etc/sysctl.d/; kube-proxy conntrack.maxPerCore also sets it) or shorten the established timeout; for DNS floods consider NodeLocal DNSCache.',
  'felix-not-ready':
    "Check calico-node runs on this node and answers on its health port (FelixConfiguration healthEnabled/healthHost/healthPort). Ask Felix what is not ready (`curl -s http://127.0.0.1:9099/readiness?detail=true`) and read calico-node's log for crashes or datastore errors.",
  'interface-errors':
    'Look at the detailed counters (`ip -s -s link show <device>`, `ethtool -S <device>` on a physical uplink). On a tunnel, rising errors usually mean packets larger than the tunnel allows (MTU) or broken VXLAN checksum offload ' +
    '(`ethtool -K vxlan.calico tx-checksum-ip-generic off`, or FelixConfiguration featureDetectOverride "ChecksumOffloadBroken=true"); on an uplink, check cabling and NIC driver logs (`dmesg`).',
  'ip-forward-disabled':
    'Enable forwarding (`sysctl -w net.ipv4.ip_forward=1`, IPv6: `net.ipv6.conf.all.forwarding=1`) and persist it under /etc/sysctl.d/. Find what turned it off (a sysctl.d file, a hardening profile, NetworkManager or firewalld).',
  'ipset-all-hosts-missing':
    "The set guarding encapsulated traffic is absent or empty, so every peer's tunnelled packets are dropped. Check it (`ipset list <set>`, or `nft list set <family> calico <set>`); Felix fills it from the Node resources' addresses " +
    '(`calicoctl get node -o wide`): fix IP autodetection if nodes lack an address. If it was flushed (a firewall reload), restart calico-node on this node and stop that tool from managing cali* sets.',
  'iptables-drops-rising':
    'A DROP/REJECT rule is counting packets. Find it (`iptables -t <table> -L <chain> -v -n --line-numbers`, or `nft list chain`): a Calico policy chain means policy is denying traffic (check the policies selecting the workload); ' +
    "the VXLAN/IPIP guard means a peer's source is not in the guarding set (see host-not-in-allowed-set); a rule no Calico component wrote belongs to another tool on the node.",
  'route-not-onlink':
    "Calico's tunnel routes carry the onlink flag (proto 80 from Felix, or proto bird). Find who added this one (another protocol: by hand or another tool), delete it (`ip route del <dst>`) and let Felix/BIRD program it again (restart calico-node if it does not come back).",
  'route-wrong-device':
    "A route via a peer's tunnel IP must use the tunnel device. Look for a competing route source (another CNI, a static route, a routing daemon: `ip route show table all | grep <gateway>`), delete the wrong route and let Felix reprogram it; verify with `ip route get <pod IP>`.",
  'rp-filter-strict':
    'The kernel applies the larger of net.ipv4.conf.all.rp_filter and the device value; strict (1) drops asymmetric tunnel traffic. Set loose mode (2) on the device and on `all` (`sysctl -w net.ipv4.conf.<device>.rp_filter=2`) and persist it under /etc/sysctl.d/.',
  'tunnel-down':
    'Something set a Calico tunnel device down (an admin, NetworkManager, a cleanup script). Make NetworkManager ignore Calico devices (unmanaged-devices=interface-name:cali*;interface-name:tunl*;interface-name:vxlan.calico;interface-name:vxlan-v6.calico;interface-name:wireguard.cali), ' +
    'then bring it up (`ip link set <device> up`) or restart calico-node on this node; verify `ip link show <device>` says UP,LOWER_UP.',
  'tunnel-ip-outside-block':
    "The tunnel address is not in one of this node's blocks. Find its block (`calicoctl ipam show --ip=<tunnel IP>`); if the pool is exhausted, enlarge it or add a pool. Then release the tunnel address so calico-node allocates one from this node's block, and restart calico-node on the node.",
  'tunnel-missing':
    "Calico state points at a tunnel device that does not exist. Felix (VXLAN) or calico-node (IPIP) creates it when an IP pool enables that encapsulation: check the pool's vxlanMode/ipipMode (`calicoctl get ippool -o wide`) and calico-node's log for errors creating the device, then restart calico-node on this node.",
  'tunnel-mtu':
    "The tunnel MTU is above what the uplink carries after the encapsulation overhead (VXLAN 50, VXLAN over IPv6 70, IPIP 20, WireGuard 60/80). Set Calico's MTU to the uplink MTU minus the overhead (Installation spec.calicoNetwork.mtu, or veth_mtu / FelixConfiguration vxlanMTU, ipipMTU, wireguardMTU) or let Calico detect it, then restart the workloads.",
  'underlay-neighbor-failed':
    "A peer's node IP does not answer ARP/ND on the underlay. Check the peer is up and on this segment (`ping`, `arping -I <uplink> <peer IP>`, `ip route get <peer IP>`); if it moved, its address in Calico is stale (compare `calicoctl get node -o wide` with the node). Peers on another subnet need routing or CrossSubnet/Always encapsulation.",
  'vxlan-fdb-missing':
    'Felix writes an FDB entry (`<peer VTEP MAC> dst <peer node IP> self permanent`) with each VXLAN neighbour; a missing one means its VXLAN manager failed or something flushed the table. Check `bridge fdb show dev vxlan.calico` and calico-node\'s log, and restart calico-node on this node to resync.',
  'vxlan-learning-on':
    'Something other than Felix created or changed the VXLAN device: Calico runs it with nolearning. Delete the device (`ip link del vxlan.calico`) and restart calico-node so Felix recreates it; verify `ip -d link show vxlan.calico` says nolearning.',
  'vxlan-neighbor-not-permanent':
    "Felix programs each peer's tunnel IP as a PERMANENT neighbour with the peer's VTEP MAC. Delete the learned entry (`ip neigh del <tunnel IP> dev vxlan.calico`) so Felix re-adds it (restart calico-node if it does not), and check the device has nolearning.",
  'vxlan-vni-nondefault':
    'The VXLAN device uses a VNI or port other than Calico\'s defaults (4096, 4789). Confirm it is intended (FelixConfiguration vxlanVNI / vxlanPort, per-node overrides), that every node agrees (`ip -d link show vxlan.calico`) and that firewalls allow that UDP port between nodes.',
  'workload-proxy-arp-off':
    "Felix enables proxy_arp on every workload device; off means Felix failed on it or something reset it (a sysctl.d file or hardening script). Fix it (`sysctl -w net.ipv4.conf.<device>.proxy_arp=1`) or restart calico-node, and verify from the pod that 169.254.1.1 resolves to ee:ee:ee:ee:ee:ee.",
  'workload-route-missing':
    'A workload device has no route to its pod: the pod is gone and its veth was left behind (remove it with `ip link del <device>`), or Felix did not program it (check the WorkloadEndpoint and calico-node\'s log; restarting calico-node reprograms routes).',
};

export const UNKNOWN_REMEDY =
  'This aggregator has no remedy for this rule: the reporting agent is newer than the aggregator. Run `calico-diag snapshot` on the node for its own advice, and upgrade the aggregator.';

/** The remedy to show for a finding a node reported under `rule`. */
export const remedyForLocalRule = (rule: string): string => LOCAL_RULE_REMEDIES[rule] ?? UNKNOWN_REMEDY;
