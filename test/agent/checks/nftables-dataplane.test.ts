/**
 * issue #15: the checks that read iptables work unchanged on Calico's nftables dataplane. The
 * iptables and ipsets sections come from the real collectors over nft -j outputs recorded in the
 * lab's nftables mode; the rest of the snapshot is the healthy VXLAN node of test/helpers.
 */
import { describe, expect, it } from 'vitest';
import { collectIptables } from '../../../agent/collectors/iptables.js';
import { collectIpsets } from '../../../agent/collectors/ipsets.js';
import { ipsetAllHostsMissing } from '../../../agent/checks/ipset-all-hosts-missing.js';
import { iptablesDropsRising } from '../../../agent/checks/iptables-drops-rising.js';
import { localChecks } from '../../../agent/checks/index.js';
import type { FakeAnswer } from '../../helpers/fake-runner.js';
import { healthyVxlanSections, snapshotOf } from '../../helpers/snapshot.js';
import { fixture } from '../parsers/fixture.js';
import { config, context, fakeHost } from '../collectors/fake-host.js';
import type { Snapshot } from '../../../contract/snapshot.js';

const NO_IPTABLES: Record<string, FakeAnswer> = {};
for (const v of ['', '6'])
  for (const b of ['-nft', '-legacy', ''])
    for (const a of ['', ' -t mangle', ' -c']) NO_IPTABLES[`ip${v}tables${b}-save${a}`] = { error: 'missing-binary' };
for (const v of ['', '6'])
  for (const b of ['-nft', ''])
    for (const c of ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']) NO_IPTABLES[`ip${v}tables${b} -t mangle -S ${c}`] = { error: 'missing-binary' };

const nftSnapshot = async (c: string, edit?: (s: Snapshot) => void): Promise<Snapshot> => {
  const lab = (file: string) => fixture(`lab/nftables/${c}/${file}`);
  const host = fakeHost({
    commands: {
      ...NO_IPTABLES,
      'ipset save': { error: 'missing-binary' },
      'nft list flowtables': { stdout: fixture('nft/list-flowtables/calico-lab.txt') },
      'nft list chains': { stdout: fixture('nft/list-chains/calico-lab.txt') },
      'nft -j list ruleset': { stdout: lab('nft-j-list-ruleset.json') },
      'nft -j list set ip calico cali40all-vxlan-net': { stdout: lab('nft-j-list-set-ip-calico-cali40all-vxlan-net.json') },
      ...Object.fromEntries(
        ['cali40all-hosts-net', 'felix-calico-hosts-4'].map((n) => [`nft -j list set ip calico ${n}`, { stdout: '', stderr: `Error: No such file or directory\nlist set ip calico ${n}\n`, exitCode: 1 }]),
      ),
    },
  });
  const sections = { ...healthyVxlanSections(), iptables: await collectIptables(host, config, context()), ipsets: await collectIpsets(host, config, context()) };
  const snap = snapshotOf(sections);
  edit?.(snap);
  return snap;
};

describe('local checks on the nftables dataplane', () => {
  it('healthy: the mode says nftables with its evidence, and no check raises a warning or critical finding', async () => {
    const snap = await nftSnapshot('healthy-node1');
    expect(snap.mode.policyDataplane).toBe('nftables');
    expect(snap.mode.evidence).toContain(
      'policy dataplane nftables: Calico nftables table(s) ip calico (nft list chains); iptables unreadable (missing-binary: iptables-save -c: iptables-save: missing-binary)',
    );
    for (const c of localChecks) {
      const out = c.run({ snapshot: snap, previous: snap });
      const serious = out.status === 'finding' ? out.findings.filter((f) => f.severity !== 'info') : [];
      expect(serious, c.rule).toEqual([]);
    }
  });

  it('ipset-all-hosts-missing: the nft guarding set flushed while the accept-then-drop guard exists', async () => {
    const out = ipsetAllHostsMissing.run({ snapshot: await nftSnapshot('nft-set-flushed-node1') });
    expect(out.status === 'finding' && out.findings).toMatchObject([
      {
        severity: 'critical',
        subject: 'cali40all-vxlan-net',
        evidence: {
          seen: 'empty ipset cali40all-vxlan-net; accept-then-drop guard in filter-cali-INPUT rule 2 (cali:KjmKwmbHvlhNoGL3) ("Drop IPv4 VXLAN packets from non-allowed hosts"), 8 packet(s) dropped so far',
          details: { table: 'ip calico', form: 'accept-then-drop', members: 0 },
        },
      },
    ]);
    expect(out.status === 'finding' && out.findings[0]?.remedy).toContain('`nft list set ip calico cali40all-vxlan-net`');
    expect(ipsetAllHostsMissing.run({ snapshot: await nftSnapshot('nft-host-not-in-set-node1') })).toEqual({ status: 'ok' });
  });

  it("iptables-drops-rising: the DROP of one peer's VXLAN counts packets between two snapshots, with an nft remedy", async () => {
    const previous = await nftSnapshot('nft-encap-drop-node1', (s) => {
      if (s.sections.iptables.status !== 'ok') throw new Error('iptables');
      for (const r of s.sections.iptables.data.dropRules) r.packets = 0;
    });
    const now = await nftSnapshot('nft-encap-drop-node1');
    const out = iptablesDropsRising.run({ snapshot: now, previous });
    if (out.status !== 'finding') throw new Error(JSON.stringify(out));
    const fault = out.findings.find((f) => f.summary.includes('lab fault'));
    expect(fault).toMatchObject({ severity: 'warning', evidence: { details: { table: 'ip calico', chain: 'filter-cali-INPUT', delta: 4 } } });
    expect(String(fault?.evidence.details?.rule)).toContain('ip saddr 10.213.0.12 udp dport 4789');
    expect(fault?.remedy).toContain('nft -a list chain ip calico filter-cali-INPUT');
    // the drop of encapsulated traffic names whose: the peer's node address (as for iptables -s)
    expect(now.sections.iptables.status === 'ok' && now.sections.iptables.data.dropRules.find((d) => d.index === 1 && d.chain === 'filter-cali-INPUT')).toMatchObject({
      encapsulation: 'vxlan',
      sources: ['10.213.0.12'],
    });
    expect(fault?.remedy).toContain('This rule drops the VXLAN packets of 10.213.0.12');
    expect(fault?.remedy).toContain("nft -a list ruleset | grep -- 'U2aKfmyQcF2mv2R9'");
  });
});
