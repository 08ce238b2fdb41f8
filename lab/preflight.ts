/**
 * What the lab needs from the machine: root (network namespaces, veths, iptables) and the tools
 * below on PATH. Returns the problems as lines instead of throwing, so the demo can print them and
 * the lab tests can fail with them. Stateless.
 */
import { makeSh, type Sh } from './sh.js';

export const REQUIRED_TOOLS: ReadonlyArray<{ name: string; argv: readonly [string, ...string[]] }> = [
  { name: 'ip (iproute2)', argv: ['ip', '-V'] },
  { name: 'bridge (iproute2)', argv: ['bridge', '-V'] },
  { name: 'iptables', argv: ['iptables', '-V'] },
  { name: 'iptables-restore', argv: ['iptables-restore', '--version'] },
  // the lab writes current Felix's rules with iptables-nft and older Felix's with iptables-legacy (#15)
  { name: 'iptables-nft-restore', argv: ['iptables-nft-restore', '--version'] },
  { name: 'iptables-legacy-restore', argv: ['iptables-legacy-restore', '--version'] },
  { name: 'ipset', argv: ['ipset', '-v'] },
  { name: 'sysctl', argv: ['sysctl', '-V'] },
  { name: 'ping', argv: ['ping', '-V'] },
  { name: 'curl', argv: ['curl', '-V'] },
  { name: 'tcpdump', argv: ['tcpdump', '--version'] },
  { name: 'node', argv: ['node', '--version'] },
];

/** The nftables-dataplane lab needs nft instead of iptables and ipset. */
export const toolsFor = (dataplane: 'iptables' | 'nftables'): ReadonlyArray<{ name: string; argv: readonly [string, ...string[]] }> =>
  dataplane === 'iptables'
    ? REQUIRED_TOOLS
    : [...REQUIRED_TOOLS.filter((t) => !['iptables', 'iptables-restore', 'ipset'].includes(t.name)), { name: 'nft (nftables)', argv: ['nft', '--version'] }];

export const preflight = async (sh: Sh = makeSh(), dataplane: 'iptables' | 'nftables' = 'iptables'): Promise<string[]> => {
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push(`must run as root (uid 0), not uid ${process.getuid()}: the lab creates network namespaces, veths and iptables rules`);
  }
  for (const t of toolsFor(dataplane)) {
    // Only a missing binary counts here: a tool that runs but refuses (not root) is the uid problem.
    const r = await sh.runner({ argv: t.argv, timeoutMs: 5000 });
    if (!r.ok && r.kind === 'missing-binary') problems.push(`missing tool: ${t.name} (${t.argv[0]} not found on PATH)`);
  }
  return problems;
};

/** Throws one clear error listing every problem (lab tests: a lab test is never skipped). */
export const requireLabHost = async (dataplane: 'iptables' | 'nftables' = 'iptables'): Promise<void> => {
  const problems = await preflight(makeSh(), dataplane);
  if (problems.length > 0) {
    throw new Error(`the namespace lab cannot run here:\n  - ${problems.join('\n  - ')}\n(run the lab tests as root: sudo npm run test:lab)`);
  }
};
