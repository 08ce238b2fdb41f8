/**
 * Whether a diagnosis path is tunnelled or direct (pure, #19). Between peers routed without
 * encapsulation (BGP without encapsulation, CrossSubnet peers on one subnet) the probes cross the
 * uplinks as plain packets and no tunnel device is on the way, so no tunnel hop is planned.
 *
 * Read from the source node's own routes: the longest main-table unicast route (not the default)
 * covering the target decides: through a tunnel device → tunnel, else direct. Without such a route
 * (missing: the probe follows the default route) the node's mode decides: no encapsulation or no
 * tunnel of the family → direct, else tunnel.
 */
import type { Identity, Mode, Route, Sections } from '../../contract/snapshot.js';
import { routeHops } from '../../contract/calico.js';
import { contains, parseCidr } from '../../common/net.js';

export type PathForm = 'tunnel' | 'direct';

export interface PathView {
  identity: Identity;
  mode: Mode;
  sections?: Partial<Pick<Sections, 'routes'>> | undefined;
}

const isMain = (r: Route): boolean => r.table === 'main' || r.table === '254' || r.table === '' || r.table === 'unspec';

export const pathForm = (view: PathView, target: string): { form: PathForm; why: string } => {
  const family = target.includes(':') ? 'inet6' : 'inet';
  const tunnels = new Set(view.identity.tunnels.filter((t) => t.kind !== 'wireguard').map((t) => t.device));
  const t = parseCidr(target);
  const routes = view.sections?.routes?.status === 'ok' ? view.sections.routes.data : [];
  let best: Route | null = null;
  let bestPrefix = -1;
  if (t !== null) {
    for (const r of routes) {
      if (r.family !== family || r.type !== 'unicast' || !isMain(r) || r.dst === 'default') continue;
      const c = parseCidr(r.dst);
      if (c === null || c.prefix === 0 || !contains(c, t) || c.prefix <= bestPrefix) continue;
      // a pod's own /32 on a cali* device is the destination node's, never the source's path
      if (r.dev?.startsWith('cali')) continue;
      best = r;
      bestPrefix = c.prefix;
    }
  }
  if (best !== null) {
    const devs = routeHops(best).map((h) => h.dev);
    if (devs.some((d) => d !== null && tunnels.has(d))) return { form: 'tunnel', why: `route ${best.dst} via ${devs.join(', ')}` };
    return { form: 'direct', why: `route ${best.dst} via ${devs.join(', ')} (no tunnel)` };
  }
  if (view.mode.encapsulation === 'none') return { form: 'direct', why: 'no route to the target; the node runs without encapsulation' };
  const hasTunnel = view.identity.tunnels.some((x) => x.family === family && x.kind !== 'wireguard');
  return hasTunnel ? { form: 'tunnel', why: 'no route to the target; the node encapsulates' } : { form: 'direct', why: 'no route to the target and no tunnel device' };
};
