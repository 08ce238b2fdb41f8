/**
 * Recorded lab nodes as the aggregator sees them: the sections a test builds from a lab recording
 * (test/fixtures/lab/*) go through the agent's own identity/mode derivation and local checks into a
 * report, as a live agent would send it. The parsing of each recording stays in its test file (the
 * modes record different commands); what every mode shares lives here.
 */
import type { NodeState } from '../../aggregator/cluster/node-state.js';
import { runLocalChecks } from '../../agent/checks/index.js';
import type { summariseFamily } from '../../agent/collectors/iptables.js';
import { HOST_SETS } from '../../agent/collectors/ipsets.js';
import { deriveIdentity } from '../../agent/derive/identity.js';
import { deriveMode } from '../../agent/derive/mode.js';
import type { Finding } from '../../contract/finding.js';
import { ok, unavailable, type Parsed } from '../../contract/result.js';
import type { z } from 'zod';
import type { IpSet, Sections, Snapshot } from '../../contract/snapshot.js';
import { NOW } from './reports.js';

/** The value of a parse that must succeed on a recorded fixture. */
export const must = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`fixture did not parse: ${p.error.message}`);
  return p.value;
};

type FamilySummary = ReturnType<typeof summariseFamily>;

/** The iptables section from the reduced IPv4 (and, when recorded, IPv6) dumps of one backend. */
export const iptablesSection = (backend: 'nft' | 'legacy', v4: FamilySummary, v6?: FamilySummary): Sections['iptables'] =>
  ok({
    backend,
    backendReason: 'recorded',
    ipv4: ok(v4.totals),
    ipv6: v6 ? ok(v6.totals) : unavailable('not-present', 'not recorded'),
    chains: [...v4.chains, ...(v6?.chains ?? [])],
    dropRules: [...v4.dropRules, ...(v6?.dropRules ?? [])],
    idlePolicyDropRules: v4.idlePolicyDropRules + (v6?.idlePolicyDropRules ?? 0),
    encapGuards: [...v4.encapGuards, ...(v6?.encapGuards ?? [])],
  });

/** The ipsets section from `ipset save`: Calico's host sets whole, every cali set's size. */
export const ipsetsSection = (sets: z.infer<typeof IpSet>[]): Sections['ipsets'] =>
  ok({
    hostSets: sets.filter((s) => (HOST_SETS as readonly string[]).includes(s.name)),
    caliSetSizes: Object.fromEntries(sets.filter((s) => s.name.startsWith('cali')).map((s) => [s.name, s.members.length])),
  });

/** A snapshot of `node` from its sections, with identity and mode derived as the agent does. */
export const recordedSnapshot = (node: string, sections: Sections): Snapshot => {
  const identity = deriveIdentity(sections);
  return { schemaVersion: 1, node, takenAt: NOW, mode: deriveMode(sections, identity), identity, sections } as unknown as Snapshot;
};

/** The node's state in the aggregator after one report of the snapshot, with its local findings. */
export const recordedState = (snapshot: Snapshot): NodeState & { local: Finding[] } => {
  const node = snapshot.node;
  const local = runLocalChecks({ snapshot, previous: snapshot, now: NOW });
  return {
    node,
    receivedAt: NOW,
    local: local.findings,
    report: {
      schemaVersion: 1,
      node,
      agentId: `lab-${node}`,
      seq: 1,
      agentVersion: '0.1.0',
      intervalSeconds: 10,
      takenAt: NOW,
      sentAt: NOW,
      mode: snapshot.mode,
      identity: snapshot.identity,
      sections: snapshot.sections,
      checks: local.checks,
      findings: local.findings,
    },
  };
};
