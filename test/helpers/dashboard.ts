/**
 * The shipped Grafana dashboard (manifests/base/grafana/calico-diag.json) as the tests read it: its
 * panels' expressions, its variables, and an expression with the variables at their "All" value
 * (`.*`, the dashboard's allValue), which is what Grafana sends to Prometheus when nothing is picked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DashboardTarget { expr: string; refId: string }
export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: DashboardTarget[];
  fieldConfig?: { defaults?: { unit?: string } };
}
export interface DashboardVariable { name: string; type: string; query?: string | { query: string }; multi?: boolean; includeAll?: boolean; allValue?: string }
export interface Dashboard { uid: string; panels: DashboardPanel[]; templating: { list: DashboardVariable[] } }

export const readDashboard = (): Dashboard =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../manifests/base/grafana/calico-diag.json'), 'utf8')) as Dashboard;

export const dashboardExprs = (d: Dashboard): { panel: string; expr: string }[] => d.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

/** `$node` / `$severity` (and `${node}` forms) replaced by `.*`. */
export const expandVariables = (expr: string): string => expr.replace(/\$\{?(node|severity)\}?/g, '.*');

/** The query of a query variable, e.g. `label_values(metric, label)`. */
export const variableQuery = (v: DashboardVariable): string | undefined => (typeof v.query === 'string' ? v.query : v.query?.query);
