/**
 * vxlan-fdb-missing: for each peer, Felix programs a neighbour (tunnel IP → VTEP MAC) AND an FDB
 * entry (VTEP MAC → peer node IP) on the VXLAN device. A neighbour whose MAC has no FDB entry
 * leaves the kernel without an underlay destination for that peer: its packets go nowhere.
 */
import type { FindingDraft } from '../../contract/finding.js';
import type { FdbEntry } from '../../contract/snapshot.js';
import { isVxlanDevice } from '../derive/identity.js';
import { isLinkLocal } from '../../common/net.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'vxlan-fdb-missing';

export const vxlanFdbMissing: LocalCheck = {
  rule,
  description: 'A VXLAN neighbour MAC has no FDB entry (with a destination) on the same device',
  run({ snapshot }) {
    const n = need(snapshot, 'neighbours', 'fdb');
    if (!n.ok) return n.outcome;
    const { neighbours, fdb } = n.data;
    const byDevMac = new Map<string, FdbEntry[]>();
    for (const f of fdb) {
      const key = `${f.dev} ${f.mac.toLowerCase()}`;
      const list = byDevMac.get(key);
      if (list) list.push(f);
      else byDevMac.set(key, [f]);
    }
    const findings: FindingDraft[] = [];
    for (const nb of neighbours) {
      if (!isVxlanDevice(nb.dev) || nb.lladdr === null || isLinkLocal(nb.dst)) continue;
      const mac = nb.lladdr.toLowerCase();
      const entries = byDevMac.get(`${nb.dev} ${mac}`) ?? [];
      if (entries.some((f) => f.dst !== null)) continue;
      findings.push({
        rule,
        severity: 'critical',
        node: snapshot.node,
        subject: `${nb.dev}/${nb.dst}`,
        summary: `No FDB entry for VTEP MAC ${mac} (peer tunnel IP ${nb.dst}) on ${nb.dev}: traffic to that node's pods has no underlay destination`,
        evidence: {
          seen: entries.length === 0 ? `neighbour ${nb.dst} lladdr ${mac} on ${nb.dev}; no FDB entry for ${mac}` : `FDB entry for ${mac} on ${nb.dev} without dst`,
          expected: `${mac} dev ${nb.dev} dst <peer node IP> self permanent`,
          details: { dev: nb.dev, neighbour: nb.dst, mac, fdbEntries: entries },
        },
        remedy:
          `Felix writes the FDB entry with the neighbour; a missing one means its VXLAN manager failed or something flushed the table. ` +
          `Check \`bridge fdb show dev ${nb.dev} | grep ${mac}\` and calico-node's log for "vxlan" / "fdb" errors; restart calico-node on this node to resync. ` +
          `Verify \`bridge fdb show dev ${nb.dev}\` lists "${mac} dst <peer node IP> self permanent" and that the peer's node IP is the dst.`,
      });
    }
    return outcome(findings);
  },
};
