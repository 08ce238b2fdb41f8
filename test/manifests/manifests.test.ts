/**
 * Issue #6: every manifest parses and validates against the Kubernetes OpenAPI schema
 * (kubernetes-models), `kubectl kustomize` builds the base, and the security-relevant settings are
 * really there. Issue #13: the base uses no Prometheus Operator kinds (it applies on any cluster);
 * the monitoring component adds them with the label kube-prometheus-stack selects by; both pods run
 * on Linux nodes with the RuntimeDefault seccomp profile; RBAC grants only the verb the aggregator
 * uses; no NetworkPolicy pretends to cover the host-networked agent.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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
const base = join(dir, 'base');
const component = join(dir, 'components/monitoring');
const overlay = join(dir, 'overlays/monitoring');
const readme = readFileSync(join(dir, '../README.md'), 'utf8');

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
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

/** Every .yaml under manifests/ but the kustomization files, as paths relative to manifests/. */
const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'))
  .sort();
const objects = files.flatMap((f) => parseYaml(readFileSync(join(dir, f), 'utf8'), f));
const find = (kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not found`);
  return o;
};
const kustomization = (d: string) => parseYaml(readFileSync(join(d, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml')[0] as unknown as Record<string, unknown>;

const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
})();
const build = (d: string): K8sObject[] => {
  // scripts/setup.sh installs kubectl (Debian's kubernetes-client) where it is missing
  expect(hasKubectl, 'kubectl on PATH').toBe(true);
  return parseYaml(execFileSync('kubectl', ['kustomize', d], { encoding: 'utf8', timeout: 60_000 }), `kustomize ${d}`);
};
const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const isMonitoring = (o: K8sObject) => o.apiVersion.startsWith('monitoring.coreos.com/');
const CLUSTER_SCOPED = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass'];

/** The yaml block of the README that follows `marker` (the first ```yaml fence after it). */
const readmeYaml = (marker: string): string => {
  const at = readme.indexOf(marker);
  expect(at, `README mentions ${marker}`).toBeGreaterThanOrEqual(0);
  const m = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`no yaml block after ${marker}`);
  return m[1]!;
};

describe('manifests', () => {
  it.each(files)('%s validates against the Kubernetes OpenAPI schema', (file) => {
    for (const o of parseYaml(readFileSync(join(dir, file), 'utf8'), file)) validate(o);
  });

  it('the validator rejects a broken object (the check can fail)', () => {
    const ds = structuredClone(find('DaemonSet', 'calico-diag-agent')) as K8sObject & { spec: { template: { spec: { containers: unknown } } } };
    ds.spec.template.spec.containers = 'agent';
    expect(() => validate(ds)).toThrow();
  });

  it('every file is listed by the base or the monitoring component, and manifests/ is the base', () => {
    const listed = [
      ...(kustomization(base).resources as string[]).map((r) => relative(dir, join(base, r))),
      ...(kustomization(component).resources as string[]).map((r) => relative(dir, join(component, r))),
    ];
    expect(listed.sort()).toEqual(files);
    expect(kustomization(dir).resources).toEqual(['base']);
    expect(kustomization(component).kind).toBe('Component');
    expect(kustomization(overlay)).toMatchObject({ resources: ['../../base'], components: ['../../components/monitoring'] });
  });

  it('`kubectl kustomize manifests/` builds the base: no Prometheus Operator kinds, everything namespaced in calico-diag', () => {
    // #13: `kubectl apply -k manifests/` failed on clusters without the monitoring.coreos.com CRDs
    const built = build(dir);
    for (const o of built) validate(o);
    expect(built.filter(isMonitoring)).toEqual([]);
    expect(built.map(key).sort()).toEqual(build(base).map(key).sort());
    const cm = built.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['calico-diag.json'] ?? '{}').uid).toBe('calico-diag');
    expect(built.filter((o) => !CLUSTER_SCOPED.includes(o.kind) && o.metadata.namespace !== 'calico-diag').map(key)).toEqual([]);
    expect(built.filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] !== 'calico-diag').map(key)).toEqual([]);
  });

  // #18: kernel drop reasons need the host's tracefs; the base stays without it
  it('the drop-reasons overlay adds only the tracefs mount and its setting to the agent, no capability', () => {
    const agent = (objs: K8sObject[]) =>
      objs.find((o) => o.kind === 'DaemonSet') as K8sObject & {
        spec: { template: { spec: { volumes: Array<{ name: string; hostPath?: { path: string } }>; containers: Array<{ env: Array<{ name: string; value?: string }>; volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>; securityContext: unknown }> } } };
      };
    const baseDs = agent(build(dir));
    const built = build(join(dir, 'overlays/drop-reasons'));
    for (const o of built) validate(o);
    const ds = agent(built);
    expect(baseDs.spec.template.spec.volumes.some((v) => v.hostPath?.path === '/sys/kernel/tracing')).toBe(false);
    expect(ds.spec.template.spec.volumes.find((v) => v.name === 'tracefs')).toEqual({ name: 'tracefs', hostPath: { path: '/sys/kernel/tracing', type: 'Directory' } });
    const c = ds.spec.template.spec.containers[0]!;
    expect(c.volumeMounts.find((m) => m.name === 'tracefs')).toEqual({ name: 'tracefs', mountPath: '/var/run/calico-diag/tracing' });
    expect(c.env.find((e) => e.name === 'CALICO_DIAG_TRACEFS')?.value).toBe('/var/run/calico-diag/tracing');
    expect(c.securityContext).toEqual(baseDs.spec.template.spec.containers[0]!.securityContext);
    expect(built.map(key).sort()).toEqual(build(dir).map(key).sort());
  });

  // #18: probes from pods whose runtime leaves their namespace unnamed need the node's PIDs and setns
  it('the pod-probes overlay adds hostPID, /var/run/netns read-only (host-to-container) and SYS_ADMIN + SYS_PTRACE to the agent only; the base has none', () => {
    type Ds = K8sObject & {
      spec: { template: { spec: { hostPID?: boolean; volumes: Array<{ name: string; hostPath?: { path: string; type?: string } }>; containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }>; securityContext: { capabilities: { add: string[]; drop: string[] }; privileged?: boolean } }> } } };
    };
    const agent = (objs: K8sObject[]) => objs.find((o) => o.kind === 'DaemonSet') as Ds;
    const baseDs = agent(build(dir));
    expect(baseDs.spec.template.spec.hostPID).toBeUndefined();
    expect(baseDs.spec.template.spec.volumes.some((v) => v.hostPath?.path === '/var/run/netns')).toBe(false);
    expect(baseDs.spec.template.spec.containers[0]!.securityContext.capabilities.add).toEqual(['NET_ADMIN', 'NET_RAW']);
    const built = build(join(dir, 'overlays/pod-probes'));
    for (const o of built) validate(o);
    const ds = agent(built);
    expect(ds.spec.template.spec.hostPID).toBe(true);
    expect(ds.spec.template.spec.volumes.find((v) => v.name === 'netns')).toEqual({ name: 'netns', hostPath: { path: '/var/run/netns', type: 'DirectoryOrCreate' } });
    const c = ds.spec.template.spec.containers[0]!;
    expect(c.volumeMounts.find((m) => m.name === 'netns')).toEqual({ name: 'netns', mountPath: '/var/run/netns', readOnly: true, mountPropagation: 'HostToContainer' });
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE'] });
    expect(c.securityContext.privileged).toBe(false);
    // the commands the agent runs for it (agent/capture/pod-netns.ts) are in the image
    const dockerfile = readFileSync(join(dir, '../Dockerfile.agent'), 'utf8');
    expect(dockerfile).toMatch(/util-linux/);
    expect(built.map(key).sort()).toEqual(build(dir).map(key).sort());
  });

  it('the monitoring component builds alone and the overlay adds exactly its ServiceMonitors and PrometheusRule to the base', () => {
    const comp = build(component);
    expect(comp.map(key).sort()).toEqual(['PrometheusRule/calico-diag', 'ServiceMonitor/calico-diag-agent', 'ServiceMonitor/calico-diag-aggregator']);
    const built = build(overlay);
    for (const o of built) validate(o);
    const baseKeys = build(dir).map(key);
    expect(built.filter((o) => !isMonitoring(o)).map(key).sort()).toEqual([...baseKeys].sort());
    const mon = built.filter(isMonitoring);
    expect(mon.map(key).sort()).toEqual(comp.map(key).sort());
    for (const o of mon) {
      expect(o.metadata.namespace, key(o)).toBe('calico-diag');
      expect(o.metadata.labels, key(o)).toMatchObject({ release: 'kube-prometheus-stack', 'app.kubernetes.io/part-of': 'calico-diag' });
    }
  });

  it("the README's kustomize patch changes the release label the monitoring objects carry", () => {
    const text = readmeYaml('<!-- monitoring-release-label -->');
    const tmp = mkdtempSync(join(tmpdir(), 'calico-diag-overlay-'));
    try {
      // the README's overlay sits in manifests/overlays/<name>/ (kustomize takes no absolute bases):
      // a copy of manifests/ with the overlay added
      cpSync(dir, join(tmp, 'manifests'), { recursive: true });
      mkdirSync(join(tmp, 'manifests/overlays/my-prometheus'));
      writeFileSync(join(tmp, 'manifests/overlays/my-prometheus/kustomization.yaml'), text);
      const built = build(join(tmp, 'manifests/overlays/my-prometheus'));
      const mon = built.filter(isMonitoring);
      expect(mon).toHaveLength(3);
      for (const o of mon) expect(o.metadata.labels?.release, key(o)).toBe('my-prometheus');
      expect(built.filter((o) => !isMonitoring(o) && o.metadata.labels?.release !== undefined).map(key)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the aggregator ServiceMonitor selects the aggregator Service, whose name is the job the absent alert matches', () => {
    const sm = find('ServiceMonitor', 'calico-diag-aggregator') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const svc = find('Service', 'calico-diag-aggregator') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(svc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.jobLabel).toBeUndefined(); // the Prometheus Operator then names the job after the Service
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(sm.spec.endpoints[0].port);
    const rule = find('PrometheusRule', 'calico-diag') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const absent = rule.spec.groups.flatMap((g: { rules: unknown[] }) => g.rules).find((r: { alert: string }) => r.alert === 'CalicoDiagAggregatorAbsent');
    expect(absent.expr).toContain(`job="${svc.metadata.name}"`);
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
    // #16: the agent proves its node with a projected, audience-bound token and holds no shared secret
    expect(pod.volumes.find((v: { name: string }) => v.name === 'identity').projected.sources).toEqual([{ serviceAccountToken: { audience: 'calico-diag', expirationSeconds: 3600, path: 'token' } }]);
    expect(pod.volumes.some((v: { secret?: unknown }) => v.secret !== undefined)).toBe(false);
    expect(c.env).toContainEqual({ name: 'CALICO_DIAG_TOKEN_FILE', value: '/var/run/calico-diag/identity/token' });
    expect(c.volumeMounts).toContainEqual({ name: 'identity', mountPath: '/var/run/calico-diag/identity', readOnly: true });
  });

  it('aggregator: non-root, read-only root filesystem, probes', () => {
    const d = find('Deployment', 'calico-diag-aggregator') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const pod = d.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
    expect(pod.containers[0].env).toEqual(expect.arrayContaining([{ name: 'CALICO_DIAG_AUTH', value: 'kubernetes' }, { name: 'CALICO_DIAG_AGENT_SERVICE_ACCOUNT', value: 'calico-diag:calico-diag-agent' }, { name: 'CALICO_DIAG_AGENT_AUDIENCE', value: 'calico-diag' }]));
  });

  it.each([
    ['DaemonSet', 'calico-diag-agent'],
    ['Deployment', 'calico-diag-aggregator'],
  ])('%s %s runs on Linux nodes only, with the RuntimeDefault seccomp profile', (kind, name) => {
    const pod = (find(kind, name) as any).spec.template.spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    // no container opts out of the pod's profile
    for (const c of pod.containers) expect(c.securityContext?.seccompProfile).toBeUndefined();
  });

  it('RBAC: the aggregator may only list nodes, pods, Calico ippools/blockaffinities, and the policies, namespaces and serviceaccounts that name policy chains, and review tokens', () => {
    // aggregator/k8s/datastore.ts makes paged list calls only: no get, no watch (#13); TokenReviews verify agents (#16)
    const role = find('ClusterRole', 'calico-diag-aggregator') as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const grants = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}:${[...r.verbs].sort().join(',')}`)));
    // #18: the policies and profiles Felix makes chains of (aggregator/k8s/policies.ts), list only
    const policies = ['crd.projectcalico.org/globalnetworkpolicies', 'crd.projectcalico.org/networkpolicies', 'projectcalico.org/globalnetworkpolicies', 'projectcalico.org/networkpolicies', 'networking.k8s.io/networkpolicies', '/namespaces', '/serviceaccounts'];
    expect(grants.sort()).toEqual(
      [...['/nodes', '/pods'].map((g) => `${g}:list`), 'authentication.k8s.io/tokenreviews:create', ...['crd.projectcalico.org/blockaffinities', 'crd.projectcalico.org/ippools', ...policies].map((g) => `${g}:list`)].sort(),
    );
    // the only namespaced Role is the users' viewer Role (below), and no binding is shipped
    expect(objects.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toEqual(['calico-diag-viewer']);
    expect(objects.filter((o) => o.kind === 'RoleBinding')).toEqual([]);
  });

  // #13 (the kubectl plugin)
  it('RBAC: calico-diag-viewer may only proxy to the aggregator Service and read the token Secret', () => {
    const role = find('Role', 'calico-diag-viewer') as unknown as { rules: { apiGroups: string[]; resources: string[]; resourceNames: string[]; verbs: string[] }[] };
    const grants = role.rules.flatMap((r) => r.resources.flatMap((res) => r.resourceNames.map((n) => `${r.apiGroups.join(',')}/${res}/${n}:${[...r.verbs].sort().join(',')}`)));
    expect(grants.sort()).toEqual(['/secrets/calico-diag-token:get', '/services/proxy/http:calico-diag-aggregator:9478:create,get']);
    // the names the plugin uses are the Service's and the Secret's
    const svc = find('Service', 'calico-diag-aggregator') as unknown as { spec: { ports: { port: number }[] } };
    expect(svc.spec.ports[0]!.port).toBe(KUBE_DEFAULTS.port);
    expect(KUBE_DEFAULTS).toMatchObject({ namespace: 'calico-diag', service: 'calico-diag-aggregator', secret: 'calico-diag-token' });
  });

  it.each(['datastore.ts', 'policies.ts'])('RBAC verbs match the API calls of aggregator/k8s/%s', (file) => {
    const src = readFileSync(join(dir, '../aggregator/k8s', file), 'utf8');
    const calls = [...src.matchAll(/\b(?:core|custom|net)\.(\w+)\(/g)].map((m) => m[1]!);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => !/^list/.test(c))).toEqual([]);
    expect(src).not.toMatch(/\b(?:Watch|Informer|makeInformer)\b/);
  });

  // #18: every resource aggregator/k8s/policies.ts lists is granted
  it('RBAC grants every list call of aggregator/k8s/policies.ts', () => {
    const role = find('ClusterRole', 'calico-diag-aggregator') as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const may = (group: string, resource: string) => role.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes('list'));
    const src = readFileSync(join(dir, '../aggregator/k8s/policies.ts'), 'utf8');
    const plurals = [...src.matchAll(/calico\('(\w+)'\)/g)].map((m) => m[1]!);
    expect(plurals.sort()).toEqual(['globalnetworkpolicies', 'networkpolicies']);
    for (const p of plurals) for (const g of ['crd.projectcalico.org', 'projectcalico.org']) expect(may(g, p), `${g}/${p}`).toBe(true);
    expect(src).toMatch(/net\.listNetworkPolicyForAllNamespaces/);
    expect(may('networking.k8s.io', 'networkpolicies')).toBe(true);
    expect(src).toMatch(/core\.listNamespace\(/);
    expect(may('', 'namespaces')).toBe(true);
    expect(src).toMatch(/core\.listServiceAccountForAllNamespaces\(/);
    expect(may('', 'serviceaccounts')).toBe(true);
  });

  it('no NetworkPolicy selects the host-networked agent; the aggregator policy admits only its port', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const agentLabels = (find('DaemonSet', 'calico-diag-agent') as any).spec.template.metadata.labels; // eslint-disable-line @typescript-eslint/no-explicit-any
    const selects = (p: { spec: { podSelector: { matchLabels?: Record<string, string> } } }) =>
      Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => agentLabels[k] === v);
    expect(policies.filter(selects).map((p) => p.metadata.name)).toEqual([]);
    const agg = find('NetworkPolicy', 'calico-diag-aggregator') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(agg.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 9478 }] }]);
    // the README says what protects the agent port instead
    expect(readme).toMatch(/NetworkPolicy does not\s+apply to host-networked pods/);
  });

  it('every alert has a summary, a description naming the node (cluster-wide alerts excepted), and a runbook_url into the README', () => {
    const rule = find('PrometheusRule', 'calico-diag') as unknown as { spec: { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] } };
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    const clusterWide = ['CalicoDiagAggregatorAbsent', 'CalicoDiagFindingSeriesOverflow'];
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      ['CalicoBgpSessionDown', 'CalicoDiagAgentStale', 'CalicoHostNotInAllowedSet', 'CalicoIptablesDropsRising', 'CalicoRouteMissing', 'CalicoRouteWrongForm', 'CalicoTunnelDown', 'CalicoVxlanPeerStateMismatch', ...clusterWide].sort(),
    );
    for (const a of alerts) {
      expect(a.annotations.summary).toBeTruthy();
      expect(a.annotations.description).toBeTruthy();
      if (!clusterWide.includes(a.alert)) expect(a.annotations.description).toContain('{{ $labels.node }}');
      const anchor = a.annotations.runbook_url?.split('#')[1];
      expect(anchor).toBe(a.alert.toLowerCase());
      expect(readme).toMatch(new RegExp(`^#+ ${a.alert}$`, 'm'));
    }
  });
});
