/**
 * Which Calico networking mode this node runs, read from its dataplane (pure): the encapsulation
 * carrying pod traffic between nodes, WireGuard, the eBPF dataplane and BGP. Each decision leaves
 * an evidence string so a responder can see why.
 */
import type { Identity, Mode, Route, Sections } from '../../contract/snapshot.js';
import { BPF_DEVICES, isCalicoProto, isTunnelDevice, isWorkloadDevice, localBlockRoutes, routeDevices } from './identity.js';
import { isDefaultDst } from '../../common/net.js';

/** Routes to other nodes (with a next hop) through one of `devices`; kernel fe80::/64 and own-address routes do not count. */
const routesVia = (routes: readonly Route[], devices: readonly string[]): Route[] =>
  remoteBlockRoutes(routes).filter((r) => routeDevices(r).some((d) => devices.includes(d)));

/** Unicast routes with a next hop that Calico (Felix proto 80 or BIRD) programmed to other nodes' blocks. */
export const remoteBlockRoutes = (routes: readonly Route[]): Route[] =>
  routes.filter(
    (r) =>
      r.type === 'unicast' &&
      !isDefaultDst(r.dst) &&
      (isCalicoProto(r.protocol) || routeDevices(r).some((d) => isTunnelDevice(d))) &&
      (r.gateway !== null || r.nexthops.some((n) => n.gateway !== null)),
  );

export const deriveMode = (sections: Sections, identity: Identity): Mode => {
  const evidence: string[] = [];
  const links = sections.links.status === 'ok' ? sections.links.data : null;
  const routes = sections.routes.status === 'ok' ? sections.routes.data : null;
  if (links === null) evidence.push(`links unavailable (${sections.links.status === 'unavailable' ? sections.links.reason : ''})`);
  if (routes === null) evidence.push(`routes unavailable (${sections.routes.status === 'unavailable' ? sections.routes.reason : ''})`);
  const has = (name: string): boolean => links?.some((l) => l.name === name) ?? false;

  // --- encapsulation
  const vxlanDevs = ['vxlan.calico', 'vxlan-v6.calico'].filter(has);
  const vxlanRoutes = routesVia(routes ?? [], vxlanDevs);
  let vxlan = false;
  if (vxlanDevs.length > 0) {
    vxlan = true;
    const felixUnderlay = remoteBlockRoutes(routes ?? []).filter((r) => r.protocol === '80' && !routeDevices(r).some((d) => isTunnelDevice(d)));
    if (vxlanRoutes.length > 0) evidence.push(`${vxlanDevs.join(', ')} present with ${vxlanRoutes.length} route(s) via it`);
    else if (felixUnderlay.length > 0)
      evidence.push(`${vxlanDevs.join(', ')} present; ${felixUnderlay.length} Felix route(s) via the underlay and none via the tunnel (VXLAN CrossSubnet, peers on this subnet)`);
    else evidence.push(`${vxlanDevs.join(', ')} present (Felix creates it only when VXLAN is enabled); no routes via it yet`);
  }
  let ipip = false;
  if (has('tunl0')) {
    const tunlRoutes = routesVia(routes ?? [], ['tunl0']);
    const tunlIp = identity.tunnels.find((t) => t.device === 'tunl0')?.ip ?? null;
    if (tunlRoutes.length > 0) {
      ipip = true;
      evidence.push(`tunl0 carries ${tunlRoutes.length} route(s)`);
    } else if (tunlIp !== null) {
      ipip = true;
      evidence.push(`tunl0 has Calico tunnel address ${tunlIp} (no routes via it yet)`);
    } else {
      evidence.push('tunl0 exists without an address or routes (the ipip module creates it): not IPIP');
    }
  }
  const remote = remoteBlockRoutes(routes ?? []);
  const plainRemote = remote.filter((r) => !routeDevices(r).some((d) => isTunnelDevice(d)));

  // --- BGP
  let bgp = false;
  if (sections.bgp.status === 'ok') {
    bgp = true;
    const n = sections.bgp.data.protocols.filter((p) => p.proto === 'BGP').length;
    evidence.push(`BIRD answered on ${sections.bgp.data.socket} (${n} BGP protocol(s))`);
  }
  const birdRoutes = (routes ?? []).filter((r) => r.protocol === 'bird');
  if (birdRoutes.length > 0) {
    bgp = true;
    evidence.push(`${birdRoutes.length} route(s) with proto bird`);
  }

  let encapsulation: Mode['encapsulation'];
  if (vxlan && ipip) encapsulation = 'vxlan+ipip';
  else if (vxlan) encapsulation = 'vxlan';
  else if (ipip) encapsulation = 'ipip';
  else if (links === null || routes === null) encapsulation = 'unknown';
  else if (plainRemote.length > 0 || sections.bgp.status === 'ok') {
    encapsulation = 'none';
    evidence.push(
      plainRemote.length > 0
        ? `no Calico tunnel device; ${plainRemote.length} block route(s) via the underlay (BGP without encapsulation)`
        : 'no Calico tunnel device; BIRD present (BGP without encapsulation)',
    );
  } else {
    encapsulation = 'unknown';
    const wl = (links ?? []).filter((l) => isWorkloadDevice(l.name)).length;
    evidence.push(
      `no Calico tunnel device, no BGP and no routes to other nodes' blocks (${localBlockRoutes(routes).length} local block(s), ${wl} workload device(s))`,
    );
  }

  // --- WireGuard
  const wgDevs = ['wireguard.cali', 'wg-v6.cali'].filter(has);
  const wireguard = wgDevs.length > 0;
  if (wireguard) evidence.push(`WireGuard device ${wgDevs.join(', ')} present`);

  // --- eBPF dataplane
  const bpfDevs = BPF_DEVICES.filter(has);
  const ebpf = bpfDevs.length > 0;
  if (ebpf) {
    let why = `eBPF dataplane device(s) ${bpfDevs.join(', ')} present`;
    if (sections.iptables.status === 'ok' && sections.iptables.data.ipv4.status === 'ok') {
      why += sections.iptables.data.ipv4.data.caliChains === 0 ? '; no cali-* iptables chains' : `; ${sections.iptables.data.ipv4.data.caliChains} cali-* chains (BPF keeps a few)`;
    }
    evidence.push(why);
  }

  const policy = derivePolicyDataplane(sections, ebpf);
  evidence.push(policy.evidence);

  return { encapsulation, wireguard, ebpf, bgp, policyDataplane: policy.dataplane, evidence };
};

/** The warning the iptables section carries when Calico's nftables tables and cali-* iptables chains both exist. */
export const BOTH_DATAPLANES_WARNING = 'Calico nftables tables and cali-* iptables chains both present';

/** The warning the iptables section carries when it holds no cali-* chains and nft could not be read. */
export const NFT_UNREADABLE_WARNING = 'no cali-* chains in iptables and nft tables unreadable';

/**
 * Which dataplane enforces policy, with its evidence: eBPF (its devices), Calico's nftables
 * dataplane (the iptables section read from `ip calico` tables), iptables legacy / nft (cali-*
 * chains in that backend), else unknown with the reason.
 */
export const derivePolicyDataplane = (sections: Sections, ebpf: boolean): { dataplane: NonNullable<Mode['policyDataplane']>; evidence: string } => {
  if (ebpf) return { dataplane: 'ebpf', evidence: 'policy dataplane ebpf: eBPF dataplane devices present' };
  const ipt = sections.iptables;
  if (ipt.status !== 'ok') return { dataplane: 'unknown', evidence: `policy dataplane unknown: iptables section unavailable (${ipt.reason}${ipt.detail !== '' ? `: ${ipt.detail}` : ''})` };
  const d = ipt.data;
  if (d.backend === 'nftables') return { dataplane: 'nftables', evidence: `policy dataplane nftables: ${d.backendReason}` };
  const cannotTell = (d.warnings ?? []).find((w) => w.startsWith(BOTH_DATAPLANES_WARNING) || w.startsWith(NFT_UNREADABLE_WARNING));
  if (cannotTell !== undefined) return { dataplane: 'unknown', evidence: `policy dataplane unknown: ${cannotTell}` };
  const fams = [d.ipv4, d.ipv6].filter((f) => f.status === 'ok');
  const caliChains = fams.reduce((n, f) => n + f.data.caliChains, 0);
  if (caliChains > 0) return { dataplane: `iptables-${d.backend}`, evidence: `policy dataplane iptables-${d.backend}: ${caliChains} cali-* chain(s); backend chosen by ${d.backendReason}` };
  return {
    dataplane: 'unknown',
    evidence: `policy dataplane unknown: no cali-* chains in iptables (${d.backend} backend${fams.length < 2 ? `, ${2 - fams.length} family unreadable` : ''}) and no Calico nftables table`,
  };
};
