// deploy/: what can be checked without Docker, Helm or a cluster. The Helm chart is rendered (with
// its defaults and with other values) and every object validates against Kubernetes v1.30; its
// RBAC covers exactly what the runtime calls; Prometheus' config and the dashboard's queries pass
// promtool; the compose file's references and the Dockerfile's stages hold together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { GATEWAY_POD_LABELS } from '../src/runtime/manifests/labels.js';
import { renderWorkload } from '../src/runtime/manifests/render.js';
import { ensureDebianPackages } from './support/debian.js';
import { renderTemplate } from './support/helm-lite.js';
import { KubernetesSchema } from './support/k8s-schema.js';
import { REPO_ROOT } from './support/processes.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const CHART = join(DEPLOY, 'helm', 'wharf');
const schema = new KubernetesSchema();
type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function renderChart(overrides: (v: Record<string, any>) => void = () => undefined): Obj[] {
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  overrides(values);
  return readdirSync(join(CHART, 'templates')).flatMap((file) => {
    const text = renderTemplate(readFileSync(join(CHART, 'templates', file), 'utf8'), {
      Values: values,
      Release: { Name: 'prod', Namespace: 'wharf-system' },
    });
    return parseAllDocuments(text)
      .map((d) => {
        if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
        return d.toJS() as Obj | null;
      })
      .filter((o): o is Obj => o !== null);
  });
}

test('the Helm chart renders to valid Kubernetes v1.30 objects with its defaults and with other values', () => {
  const defaults = renderChart((v) => (v.database.url = 'postgres://wharf:secret@db:5432/wharf'));
  for (const o of defaults) schema.assertValid(o);
  assert.deepEqual(defaults.map((o) => o.kind).sort(), [
    'ClusterRole',
    'ClusterRoleBinding',
    'Deployment',
    'Deployment',
    'PodDisruptionBudget',
    'PodDisruptionBudget',
    'Secret',
    'Service',
    'Service',
    'ServiceAccount',
  ]);
  const ha = renderChart((v) => {
    v.controlPlane.replicas = 3;
    v.database.existingSecret = 'pg';
    v.blobs.claimName = 'wharf-blobs';
    v.pdb.enabled = false;
  });
  for (const o of ha) schema.assertValid(o);
  assert.ok(!ha.some((o) => o.kind === 'Secret' || o.kind === 'PodDisruptionBudget'));
  const cp = ha.find((o) => o.metadata.name === 'prod-wharf' && o.kind === 'Deployment') as Obj & {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    spec: { replicas: number; template: { spec: Record<string, any> } };
  };
  assert.equal(cp.spec.replicas, 3);
  const pod = cp.spec.template.spec;
  assert.deepEqual(pod.containers[0].env[1].valueFrom, { secretKeyRef: { name: 'pg', key: 'url' } });
  assert.deepEqual(
    pod.volumes.find((v: { name: string }) => v.name === 'blobs'),
    { name: 'blobs', persistentVolumeClaim: { claimName: 'wharf-blobs' } },
  );
  assert.deepEqual(pod.containers[0].args.slice(5, 7), ['--runtime', 'kubernetes']);
  assert.equal(pod.securityContext.runAsNonRoot, true);
});

test('with blobs in S3 the chart passes --blob-store and the AWS settings, and needs no blob volume claim', () => {
  const objects = renderChart((v) => {
    v.controlPlane.replicas = 3;
    v.database.existingSecret = 'pg';
    v.blobs.s3 = {
      url: 's3://wharf-registry/prod',
      endpoint: 'http://minio:9000',
      region: 'eu-west-1',
      credentialsSecret: 'wharf-s3',
    };
  });
  for (const o of objects) schema.assertValid(o);
  const cp = objects.find((o) => o.metadata.name === 'prod-wharf' && o.kind === 'Deployment') as Obj & {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    spec: { template: { spec: Record<string, any> } };
  };
  const container = cp.spec.template.spec.containers[0];
  const args: string[] = container.args;
  assert.equal(args[args.indexOf('--blob-store') + 1], 's3://wharf-registry/prod');
  assert.deepEqual(container.envFrom, [{ secretRef: { name: 'wharf-s3' } }]);
  const env = Object.fromEntries((container.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
  assert.equal(env.AWS_REGION, 'eu-west-1');
  assert.equal(env.AWS_ENDPOINT_URL, 'http://minio:9000');
  assert.ok(!cp.spec.template.spec.volumes.some((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim));
});

test("the gateway pods carry the labels that model pods' NetworkPolicies admit", () => {
  const gateway = renderChart().find(
    (o) => o.kind === 'Deployment' && o.metadata.name === 'prod-wharf-gateway',
  ) as Obj & { spec: { template: { metadata: { labels: Record<string, string> } } } };
  for (const [k, v] of Object.entries(GATEWAY_POD_LABELS)) assert.equal(gateway.spec.template.metadata.labels[k], v, k);
});

test('RBAC grants exactly the kinds the runtime renders (apply, get, list, delete) plus pod reads and logs', () => {
  const role = renderChart().find((o) => o.kind === 'ClusterRole')!;
  const granted = new Map<string, Set<string>>();
  for (const rule of role.rules!)
    for (const g of rule.apiGroups) for (const r of rule.resources) granted.set(`${g}/${r}`, new Set(rule.verbs));
  const probe = { path: '/r', intervalMs: 1000, timeoutMs: 1000, retries: 3, startupGraceMs: 1000 };
  const rendered = renderWorkload(
    {
      key: { environment: 'e', deployment: 'd', revision: 1 },
      replicas: 1,
      model: { name: 'm', version: '1', artifactPath: 'x', digest: `sha256:${'a'.repeat(64)}` },
      readiness: probe,
      liveness: probe,
      scaling: { min: 1, max: 3, targetCPU: 80, targetMemory: 80 },
    },
    { registryUrl: 'http://wharf:8080' },
    'ns',
  );
  const plural: Record<string, string> = {
    Deployment: 'deployments',
    Service: 'services',
    ConfigMap: 'configmaps',
    ServiceAccount: 'serviceaccounts',
    HorizontalPodAutoscaler: 'horizontalpodautoscalers',
    PodDisruptionBudget: 'poddisruptionbudgets',
    NetworkPolicy: 'networkpolicies',
  };
  const needed = new Set(
    [...rendered.shared, ...rendered.revision].map(
      (o) => `${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${plural[o.kind]}`,
    ),
  );
  for (const resource of needed)
    assert.deepEqual([...(granted.get(resource) ?? [])].sort(), ['create', 'delete', 'get', 'list', 'patch'], resource);
  assert.deepEqual([...granted.get('/pods')!].sort(), ['get', 'list', 'watch']);
  assert.deepEqual([...granted.get('/pods/log')!], ['get']);
  assert.deepEqual(
    [...granted.keys()].sort(),
    [...needed, '/pods', '/pods/log'].sort(),
    'nothing beyond what the runtime uses',
  );
});

test('Prometheus config and every dashboard query pass promtool', (t) => {
  if (!ensureDebianPackages(t, ['prometheus'])) return;
  const config = spawnSync(
    'promtool',
    ['check', 'config', '--syntax-only', join(DEPLOY, 'prometheus', 'prometheus.yml')],
    { encoding: 'utf8' },
  );
  assert.equal(config.status, 0, config.stderr + config.stdout);
  const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'dashboards', 'wharf-overview.json'), 'utf8')) as {
    uid: string;
    panels: { targets: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((q) => q.expr));
  assert.ok(exprs.length >= 8);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-promql-'));
  try {
    const rules = {
      groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `wharf:dashboard_query_${i}`, expr })) }],
    };
    writeFileSync(join(dir, 'rules.yml'), stringify(rules));
    const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr + check.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Every Wharf metric the dashboard reads is one the gateway exports (names are spelled in these two files).
  const exported = [join('gateway', 'metrics.ts'), join('protocol', 'metric-names.ts')]
    .map((f) => readFileSync(join(REPO_ROOT, 'src', f), 'utf8'))
    .join('\n');
  for (const name of new Set(exprs.flatMap((e) => e.match(/wharf_[a-z_]+/g) ?? []))) {
    assert.ok(exported.includes(`'${name.replace(/_bucket$/, '')}'`), `${name} is exported by the gateway`);
  }
  const provider = parse(readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'wharf.yml'), 'utf8')) as {
    providers: { options: { path: string } }[];
  };
  assert.equal(provider.providers[0]!.options.path, '/var/lib/grafana/dashboards');
});

test('docker-compose.yml: Wharf on PostgreSQL, Prometheus scraping it, Grafana provisioned; every mounted file exists', () => {
  const compose = parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8')) as {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    services: Record<string, Record<string, any>>;
    volumes: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(compose.services).sort(), ['grafana', 'postgres', 'prometheus', 'wharf']);
  const wharf = compose.services.wharf!;
  assert.match(wharf.environment.WHARF_DATABASE_URL, /@postgres:5432\//);
  assert.deepEqual(wharf.depends_on, { postgres: { condition: 'service_healthy' } });
  assert.ok(
    existsSync(join(DEPLOY, wharf.build.context, wharf.build.dockerfile)),
    'the build context has the Dockerfile',
  );
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of (service.volumes ?? []) as string[]) {
      const [source] = volume.split(':');
      if (source!.startsWith('.')) assert.ok(existsSync(join(DEPLOY, source!)), `${name}: ${source} exists`);
      else assert.ok(source! in compose.volumes, `${name}: volume ${source} is declared`);
    }
  }
  const prometheus = parse(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as {
    scrape_configs: { static_configs: { targets: string[] }[] }[];
  };
  const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
  const published = (wharf.ports as string[]).map((p) => p.split(':')[1]);
  for (const target of targets) {
    const [host, port] = target.split(':');
    assert.equal(host, 'wharf');
    assert.ok(published.includes(port), `wharf listens on ${port}`);
  }
});

test('Dockerfile: multi-stage, runs as a non-root user, has a HEALTHCHECK, copies only what exists', () => {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const stages = text.split('\n').filter((l) => /^FROM /.test(l));
  assert.ok(stages.length >= 2, 'at least a build and a runtime stage');
  const final = text.slice(text.lastIndexOf('\nFROM '));
  assert.match(final, /^USER 10001(:10001)?$/m, 'the final stage switches to a numeric non-root user');
  assert.match(final, /^HEALTHCHECK .*\n?.*\/readyz/m);
  assert.match(final, /^ENTRYPOINT \["wharf"\]$/m);
  for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of m[1]!.split(/\s+/))
      assert.ok(existsSync(join(REPO_ROOT, source)), `COPY source ${source} exists`);
  }
});
