/**
 * vxlan-neighbor-not-permanent: Felix programs every peer's tunnel IP → VTEP MAC on the VXLAN device
 * as a PERMANENT neighbour (the device runs with nolearning and does not ARP). An entry in any other
 * state was learnt or left behind and may point at the wrong MAC or none.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { isVxlanDevice } from '../derive/identity.js';
import { isLinkLocal } from '../../common/net.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'vxlan-neighbor-not-permanent';

export const vxlanNeighborNotPermanent: LocalCheck = {
  rule,
  description: 'A neighbour entry on vxlan.calico / vxlan-v6.calico is not PERMANENT',
  run({ snapshot }) {
    const n = need(snapshot, 'neighbours');
    if (!n.ok) return n.outcome;
    const findings: FindingDraft[] = [];
    for (const nb of n.data.neighbours) {
      if (!isVxlanDevice(nb.dev) || isLinkLocal(nb.dst)) continue;
      if (nb.state.includes('PERMANENT') || nb.state.includes('NOARP')) continue;
      findings.push({
        rule,
        severity: 'warning',
        node: snapshot.node,
        subject: `${nb.dev}/${nb.dst}`,
        summary: `Neighbour ${nb.dst} on ${nb.dev} is ${nb.state.join(',') || 'without state'}, not PERMANENT: Felix did not program it, traffic to that peer's tunnel IP may use a wrong or missing MAC`,
        evidence: {
          seen: `${nb.dst} dev ${nb.dev} lladdr ${nb.lladdr ?? '(none)'} ${nb.state.join(' ')}`,
          expected: `${nb.dst} dev ${nb.dev} lladdr <peer VTEP MAC> PERMANENT`,
          details: { dst: nb.dst, dev: nb.dev, lladdr: nb.lladdr, state: nb.state },
        },
        remedy:
          `Compare with the peer: on the node owning ${nb.dst}, \`ip -d link show ${nb.dev}\` shows its VTEP MAC. ` +
          `Delete the stale entry (\`ip neigh del ${nb.dst} dev ${nb.dev}\`); Felix re-adds the PERMANENT one on its next resync ` +
          `(restart calico-node on this node if it does not). Check \`ip -d link show ${nb.dev}\` says nolearning. Verify with \`ip neigh show dev ${nb.dev}\`.`,
      });
    }
    return outcome(findings);
  },
};
