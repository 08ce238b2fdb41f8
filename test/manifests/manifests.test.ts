/**
 * Issue #6: every manifest parses and validates against the Kubernetes OpenAPI schema
 * (kubernetes-models), `kubectl kustomize` builds the base when kubectl is present, and the
 * security-relevant settings the issue asks for are really there.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding, Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { KUBE_DEFAULTS } from '../../cli/kubectl.js';
import { parseAllDocuments } from 'yaml';

const dir = join(import.meta.dirname, '../../manifests');

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };
type Validatable = { validate(): void };
const models: Record<string, new (o: never) => Validatable> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'scheduling.k8s.io/v1/PriorityClass': PriorityClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

const parseYaml = (text: string, file: string): K8sObject[] =>
  parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]?.message}`);
    return d.toJS() as K8sObject;
  });

const validate = (o: K8sObject): void => {
  const Model = models[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`no schema for ${o.apiVersion}/${o.kind}`);
  new Model(o as never).validate();
};

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects = files.flatMap((f) => parseYaml(readFileSync(join(dir, f), 'utf8'), f));
const find = (kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not found`);
  return o;
};

const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
})();

describe('manifests', () => {
  it.each(files)('%s validates against the Kubernetes OpenAPI schema', (file) => {
    for (const o of parseYaml(readFileSync(join(dir, file), 'utf8'), file)) validate(o);
  });

  it('the validator rejects a broken object (the check can fail)', () => {
    const ds = structuredClone(find('DaemonSet', 'calico-diag-agent')) as K8sObject & { spec: { template: { spec: { containers: unknown } } } };
    ds.spec.template.spec.containers = 'agent';
    expect(() => validate(ds)).toThrow();
  });

  it('every resource the kustomization names exists, and `kubectl kustomize` builds it', () => {
    const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml')[0] as unknown as { resources: string[] };
    expect([...k.resources].sort()).toEqual([...files].sort());
    // scripts/setup.sh installs kubectl (Debian's kubernetes-client) where it is missing
    expect(hasKubectl, 'kubectl on PATH').toBe(true);
    const built = parseYaml(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 }), 'kustomize output');
    for (const o of built) validate(o);
    const cm = built.find((o) => o.kind === 'ConfigMap') as K8sObject & { metadata: { labels: Record<string, string> }; data: Record<string, string> };
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['calico-diag.json'] ?? '{}').uid).toBe('calico-diag');
    expect(built.every((o) => ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass'].includes(o.kind) || (o.metadata as { namespace?: string }).namespace === 'calico-diag')).toBe(true);
  });

  it('agent DaemonSet: host network, every node, least privilege, downward API, probes, limits', () => {
    const ds = find('DaemonSet', 'calico-diag-agent') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.priorityClassName).toBe('calico-diag-node');
    expect(ds.spec.updateStrategy.type).toBe('RollingUpdate');
    const c = pod.containers[0];
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(c.env).toContainEqual({ name: 'CALICO_DIAG_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/healthz');
    expect(c.resources.requests.memory).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    expect(pod.volumes.find((v: { name: string }) => v.name === 'token').secret.secretName).toBe('calico-diag-token');
  });

  it('aggregator: non-root, read-only root filesystem, probes', () => {
    const d = find('Deployment', 'calico-diag-aggregator') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const pod = d.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
  });

  it('RBAC: the aggregator may only read nodes, pods and Calico ippools/blockaffinities', () => {
    const role = find('ClusterRole', 'calico-diag-aggregator') as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const grants = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}:${[...r.verbs].sort().join(',')}`)));
    expect(grants.sort()).toEqual(
      ['/nodes', '/pods', 'crd.projectcalico.org/blockaffinities', 'crd.projectcalico.org/ippools'].map((g) => `${g}:get,list,watch`),
    );
    // the only namespaced Role is the users' viewer Role (below), and no binding is shipped
    expect(objects.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toEqual(['calico-diag-viewer']);
    expect(objects.filter((o) => o.kind === 'RoleBinding')).toEqual([]);
  });

  it('RBAC: calico-diag-viewer may only proxy to the aggregator Service and read the token Secret (#13 kubectl plugin)', () => {
    const role = find('Role', 'calico-diag-viewer') as unknown as { rules: { apiGroups: string[]; resources: string[]; resourceNames: string[]; verbs: string[] }[] };
    const grants = role.rules.flatMap((r) => r.resources.flatMap((res) => r.resourceNames.map((n) => `${r.apiGroups.join(',')}/${res}/${n}:${[...r.verbs].sort().join(',')}`)));
    expect(grants.sort()).toEqual(['/secrets/calico-diag-token:get', '/services/proxy/http:calico-diag-aggregator:9478:create,get']);
    // the names the plugin uses are the Service's and the Secret's
    const svc = find('Service', 'calico-diag-aggregator') as unknown as { spec: { ports: { port: number }[] } };
    expect(svc.spec.ports[0]!.port).toBe(KUBE_DEFAULTS.port);
    expect(KUBE_DEFAULTS).toMatchObject({ namespace: 'calico-diag', service: 'calico-diag-aggregator', secret: 'calico-diag-token' });
  });

  it('NetworkPolicy admits only the aggregator and Prometheus to the agent port', () => {
    const np = find('NetworkPolicy', 'calico-diag-agent') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(np.spec.ingress).toHaveLength(1);
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 9477 }]);
    expect(np.spec.ingress[0].from).toHaveLength(2);
  });

  it('every alert has a summary, a description naming the node, and a runbook_url into the README', () => {
    const rule = find('PrometheusRule', 'calico-diag') as unknown as { spec: { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] } };
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      ['CalicoDiagAgentStale', 'CalicoHostNotInAllowedSet', 'CalicoIptablesDropsRising', 'CalicoRouteMissing', 'CalicoTunnelDown', 'CalicoVxlanPeerStateMismatch'],
    );
    const readme = readFileSync(join(dir, '../README.md'), 'utf8');
    for (const a of alerts) {
      expect(a.annotations.summary).toBeTruthy();
      expect(a.annotations.description).toContain('{{ $labels.node }}');
      const anchor = a.annotations.runbook_url?.split('#')[1];
      expect(anchor).toBe(a.alert.toLowerCase());
      expect(readme).toMatch(new RegExp(`^#+ ${a.alert}$`, 'm'));
    }
  });
});
