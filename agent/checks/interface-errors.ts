/**
 * interface-errors: rx/tx error counters rose on a Calico tunnel or an uplink since the previous
 * snapshot (bad checksums, MTU/size errors, driver trouble). Counters are cumulative, so only a
 * rise between two snapshots says something; no previous snapshot, or a counter that went down
 * (device recreated), is ok.
 */
import type { FindingDraft } from '../../contract/finding.js';
import { need, outcome } from './helpers.js';
import type { LocalCheck } from './types.js';

const rule = 'interface-errors';

export const interfaceErrors: LocalCheck = {
  rule,
  description: 'rx/tx errors rising on a tunnel or uplink device',
  run({ snapshot, previous }) {
    const n = need(snapshot, 'links');
    if (!n.ok) return n.outcome;
    if (previous === undefined || previous.sections.links.status !== 'ok') return { status: 'ok' };
    const prevLinks = previous.sections.links.data;
    const watched = [
      ...snapshot.identity.tunnels.map((t) => ({ name: t.device, role: 'tunnel' })),
      ...snapshot.identity.uplinks.map((u) => ({ name: u.name, role: 'uplink' })),
    ];
    const findings: FindingDraft[] = [];
    for (const w of watched) {
      const now = n.data.links.find((l) => l.name === w.name);
      const before = prevLinks.find((l) => l.name === w.name);
      if (now?.stats == null || before?.stats == null || now.ifindex !== before.ifindex) continue;
      const rx = now.stats.rxErrors - before.stats.rxErrors;
      const tx = now.stats.txErrors - before.stats.txErrors;
      if (rx <= 0 && tx <= 0) continue;
      findings.push({
        rule,
        severity: 'warning',
        node: snapshot.node,
        subject: w.name,
        summary: `${w.role} ${w.name} counted ${Math.max(rx, 0)} rx and ${Math.max(tx, 0)} tx error(s) since the previous snapshot`,
        evidence: {
          seen: `rx_errors ${before.stats.rxErrors} → ${now.stats.rxErrors}, tx_errors ${before.stats.txErrors} → ${now.stats.txErrors} between ${previous.takenAt} and ${snapshot.takenAt}`,
          expected: 'error counters unchanged',
          details: { device: w.name, role: w.role, rxErrorsDelta: Math.max(rx, 0), txErrorsDelta: Math.max(tx, 0), stats: now.stats },
        },
        remedy:
          `Look at the detailed counters: \`ip -s -s link show ${w.name}\` and, for a physical uplink, \`ethtool -S ${w.name}\` (crc, frame, fifo, length errors). ` +
          `On a tunnel, rising errors often mean MTU trouble (packets larger than the tunnel allows) or checksum offload bugs with VXLAN ` +
          `(\`ethtool -K vxlan.calico tx-checksum-ip-generic off\`, or FelixConfiguration featureDetectOverride "ChecksumOffloadBroken=true"). Check cabling/NIC driver logs (\`dmesg\`) for uplinks.`,
      });
    }
    return outcome(findings);
  },
};
