/**
 * The collector registry: one collector per snapshot section (the mapped type makes a missing or
 * misnamed collector a compile error). agent/snapshot.ts runs them.
 */
import type { SectionName } from '../../contract/snapshot.js';
import { collectAddresses } from './addresses.js';
import { collectBgp } from './bgp.js';
import { collectFdb } from './fdb.js';
import { collectFelix } from './felix.js';
import { collectIpsets } from './ipsets.js';
import { collectIptables } from './iptables.js';
import { collectLinks } from './links.js';
import { collectNeighbours } from './neighbours.js';
import { collectRoutes } from './routes.js';
import { collectSysctls } from './sysctls.js';
import type { Collector } from './types.js';

export type CollectorRegistry = { [K in SectionName]: Collector<K> };

export const collectors: CollectorRegistry = {
  links: collectLinks,
  addresses: collectAddresses,
  routes: collectRoutes,
  neighbours: collectNeighbours,
  fdb: collectFdb,
  sysctls: collectSysctls,
  iptables: collectIptables,
  ipsets: collectIpsets,
  felix: collectFelix,
  bgp: collectBgp,
};
