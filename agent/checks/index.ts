/**
 * The registry of local (single-node) checks, and the pure runner that turns their outcomes into
 * CheckStatus rows and stamped Findings. One rule per file; add new rules to `localChecks`.
 */
import { stampFindings, type CheckStatus, type Finding, type FindingDraft } from '../../contract/finding.js';
import { bgpPeerDown } from './bgp-peer-down.js';
import { conntrackNearFull } from './conntrack-near-full.js';
import { felixNotReady } from './felix-not-ready.js';
import { interfaceErrors } from './interface-errors.js';
import { ipForwardDisabled } from './ip-forward-disabled.js';
import { ipsetAllHostsMissing } from './ipset-all-hosts-missing.js';
import { iptablesDropsRising } from './iptables-drops-rising.js';
import { routeNotOnlink } from './route-not-onlink.js';
import { routeWrongDevice } from './route-wrong-device.js';
import { rpFilterStrict } from './rp-filter-strict.js';
import { tunnelDown } from './tunnel-down.js';
import { tunnelIpOutsideBlock } from './tunnel-ip-outside-block.js';
import { tunnelMissing } from './tunnel-missing.js';
import { tunnelMtu } from './tunnel-mtu.js';
import type { CheckInput, LocalCheck } from './types.js';
import { underlayNeighborFailed } from './underlay-neighbor-failed.js';
import { vxlanFdbMissing } from './vxlan-fdb-missing.js';
import { vxlanLearningOn } from './vxlan-learning-on.js';
import { vxlanNeighborNotPermanent } from './vxlan-neighbor-not-permanent.js';
import { vxlanVniNondefault } from './vxlan-vni-nondefault.js';
import { workloadProxyArpOff } from './workload-proxy-arp-off.js';
import { workloadRouteMissing } from './workload-route-missing.js';

export type { CheckInput, CheckOutcome, LocalCheck } from './types.js';

export const localChecks: readonly LocalCheck[] = [
  tunnelMissing,
  tunnelDown,
  tunnelMtu,
  tunnelIpOutsideBlock,
  ipForwardDisabled,
  rpFilterStrict,
  routeNotOnlink,
  routeWrongDevice,
  vxlanNeighborNotPermanent,
  vxlanFdbMissing,
  underlayNeighborFailed,
  iptablesDropsRising,
  conntrackNearFull,
  felixNotReady,
  bgpPeerDown,
  workloadProxyArpOff,
  workloadRouteMissing,
  vxlanLearningOn,
  vxlanVniNondefault,
  interfaceErrors,
  ipsetAllHostsMissing,
];

/**
 * Runs every local check on one snapshot. A check that throws (a bug, never expected) is reported
 * as `unknown` with the error message rather than taking the others down.
 */
export const runLocalChecks = (
  input: CheckInput & { previousFindings?: Finding[]; now: string },
  checks: readonly LocalCheck[] = localChecks,
): { checks: CheckStatus[]; findings: Finding[] } => {
  const statuses: CheckStatus[] = [];
  const drafts: FindingDraft[] = [];
  for (const check of checks) {
    let result;
    try {
      result = check.run({ snapshot: input.snapshot, previous: input.previous });
    } catch (err) {
      result = { status: 'unknown' as const, reason: `check failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (result.status === 'ok') statuses.push({ rule: check.rule, status: 'ok' });
    else if (result.status === 'unknown') statuses.push({ rule: check.rule, status: 'unknown', reason: result.reason });
    else {
      statuses.push({ rule: check.rule, status: 'finding' });
      drafts.push(...result.findings);
    }
  }
  return { checks: statuses, findings: stampFindings(drafts, input.previousFindings ?? [], input.now) };
};
