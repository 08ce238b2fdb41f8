/**
 * What the in-process aggregator benches (bench/aggregator-cold.ts, bench/aggregator-steady.ts)
 * share: the aggregator, the contract's Report schema and the VXLAN mesh loaded from the build they
 * measure (`--root DIR`: DIR/dist/…, e.g. the build before a change, so that old and new builds can
 * run alternating), the mesh's three injected faults and the findings they must give.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** `--name value` from this process's arguments, or `fallback`. */
export const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
};

/** The checkout whose dist/ is measured: `--root DIR`, or this one. */
export const buildRoot = (): string => resolve(arg('root', join(import.meta.dirname, '..', '..')));

export type Finding = { rule: string; node: string; peer?: string };

/** The aggregator and the mesh of the build under `root`. */
export const loadBuild = async (root: string) => {
  const mod = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(root, 'dist', path)).href)) as T;
  const { startAggregator } = await mod<typeof import('../aggregator/main.js')>('aggregator/main.js');
  const { Report } = await mod<typeof import('../contract/report.js')>('contract/report.js');
  const { MeshReports } = await mod<typeof import('./aggregator.js')>('bench/aggregator.js');
  const { nodeName } = await mod<typeof import('./aggregator-mesh.js')>('bench/aggregator-mesh.js');
  /** bench/aggregator.ts's faults: a wrong neighbour MAC, a missing route, a host missing from the all-hosts ipset */
  const faults = { wrongNeighbourMac: [{ at: 1, peer: 2 }], missingRoute: [{ at: 3, peer: 4 }], missingFromIpset: [{ at: 5, peer: 6 }] };
  const expected: Finding[] = [
    { rule: 'vxlan-neighbor-mac-mismatch', node: nodeName(1), peer: nodeName(2) },
    { rule: 'route-missing', node: nodeName(3), peer: nodeName(4) },
    { rule: 'host-not-in-allowed-set', node: nodeName(5), peer: nodeName(6) },
  ];
  return { startAggregator, Report, MeshReports, nodeName, faults, expected };
};
