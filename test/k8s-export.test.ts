// `wharf export`: every format's files parse, every Kubernetes object in them (plain manifests,
// the Helm chart rendered with its own and with changed values, Terraform's manifests with their
// variables' defaults) validates against the v1.30 schema, and the CLI writes them from the API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import type { Deployment, ModelVersion } from '../src/core/resources.js';
import { bytes, cpus } from '../src/export/compose-export.js';
import { exportFiles, exportWorkload, parseExportFormat } from '../src/export/export.js';
import { LABELS, SPEC_HASH_ANNOTATION } from '../src/runtime/manifests/labels.js';
import { renderTemplate } from './support/helm-lite.js';
import { KubernetesSchema } from './support/k8s-schema.js';
import { WHARF_BIN } from './support/processes.js';

const run = promisify(execFile);
const schema = new KubernetesSchema();
const DIGEST = `sha256:${'cd'.repeat(32)}` as const;
const deployment = {
  id: 'production.risk',
  name: 'risk',
  environment: 'production',
  revision: 4,
  type: 'model',
  model: { name: 'readmission', version: '1.4.0' },
  configuration: {
    replicas: 3,
    resources: { cpu: '500m', memory: '512Mi', gpu: 0 },
    scaling: { min: 3, max: 3, targetCPU: 80, targetMemory: 80 },
    healthCheck: { path: '/v2/health/ready', interval: 5, timeout: 2, retries: 3 },
  },
  strategy: { type: 'rolling' },
} as unknown as Deployment;
const version = {
  model: 'readmission',
  version: '1.4.0',
  artifact: { digest: DIGEST, size: 10, filename: 'model.onnx' },
} as unknown as ModelVersion;
const input = {
  workload: exportWorkload(deployment, version),
  namespace: 'ml-prod',
  manifests: { registryUrl: 'http://wharf.wharf-system:8080', image: 'registry.example/wharf:0.1.0' },
};
type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
};

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'wharf-export-'));
});
after(() => rm(root, { recursive: true, force: true }));

test('manifests: one valid object per file, a kustomization, owned by gitops (never by a Wharf runtime)', () => {
  const files = exportFiles('manifests', input);
  const kustomization = parse(files.get('kustomization.yaml')!) as { resources: string[] };
  assert.deepEqual(
    [...files.keys()].filter((f) => f !== 'kustomization.yaml').sort(),
    [...kustomization.resources].sort(),
  );
  const kinds: string[] = [];
  for (const file of kustomization.resources) {
    const o = parse(files.get(file)!) as Obj;
    schema.assertValid(o);
    kinds.push(o.kind);
    assert.equal(o.metadata.namespace, 'ml-prod');
    assert.equal(o.metadata.labels?.[LABELS.owner], 'gitops');
    assert.equal(o.metadata.annotations?.[SPEC_HASH_ANNOTATION], undefined);
  }
  assert.deepEqual(kinds.sort(), [
    'ConfigMap',
    'Deployment',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'Service',
    'ServiceAccount',
  ]);
  assert.ok(
    files.get('deployment-risk-r4.yaml')!.includes(`/api/v1/blobs/${DIGEST}`),
    "the init container fetches the revision's digest",
  );
  const routed = exportFiles('manifests', { ...input, httpRoute: { parentGateway: 'mesh' } });
  const route = parse(routed.get('httproute-risk.yaml')!) as Obj;
  schema.assertValid(route);
  assert.deepEqual((route.spec as { rules: { backendRefs: unknown[] }[] }).rules[0]!.backendRefs, [
    { name: 'risk-r4', port: 80, weight: 100 },
  ]);
});

test('helm: the chart renders with its values and with changed ones, and every object validates', () => {
  const files = exportFiles('helm', input);
  const values = parse(files.get('values.yaml')!) as Record<string, unknown> & {
    autoscaling: Record<string, unknown>;
    resources: Record<string, unknown>;
  };
  assert.equal(values.replicas, 3);
  assert.equal(values.image, 'registry.example/wharf:0.1.0');
  assert.deepEqual(values.resources, { cpu: '500m', memory: '512Mi', gpu: 0 });
  assert.equal(values.autoscaling.enabled, false);
  assert.equal((parse(files.get('Chart.yaml')!) as { apiVersion: string }).apiVersion, 'v2');
  const render = (v: Record<string, unknown>): Obj[] =>
    [...files]
      .filter(([f]) => f.startsWith('templates/'))
      .flatMap(([, text]) =>
        parseAllDocuments(renderTemplate(text, { Values: v, Release: { Namespace: 'team-a', Name: 'risk' } })).map(
          (d) => d.toJS() as Obj | null,
        ),
      )
      .filter((o): o is Obj => o !== null);
  const plain = render(values);
  for (const o of plain) schema.assertValid(o);
  assert.ok(!plain.some((o) => o.kind === 'HorizontalPodAutoscaler'), 'no HPA while autoscaling is off');
  const dep = plain.find((o) => o.kind === 'Deployment')!;
  assert.equal(dep.spec!.replicas, 3);
  assert.equal(dep.metadata.namespace, 'team-a');
  const scaled = render({
    ...values,
    image: 'mirror.local/wharf:0.1.0',
    resources: { cpu: '2', memory: '1Gi', gpu: 0 },
    autoscaling: { ...values.autoscaling, enabled: true, minReplicas: 2, maxReplicas: 9 },
  });
  for (const o of scaled) schema.assertValid(o);
  const hpa = scaled.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
  assert.deepEqual([hpa.spec!.minReplicas, hpa.spec!.maxReplicas], [2, 9]);
  const scaledDep = scaled.find((o) => o.kind === 'Deployment')! as Obj & {
    spec: { replicas?: number; template: { spec: { containers: { image: string; resources: unknown }[] } } };
  };
  assert.equal(scaledDep.spec.replicas, undefined, 'the HPA owns replicas');
  assert.equal(scaledDep.spec.template.spec.containers[0]!.image, 'mirror.local/wharf:0.1.0');
  assert.deepEqual(scaledDep.spec.template.spec.containers[0]!.resources, {
    requests: { cpu: '2', memory: '1Gi' },
    limits: { memory: '1Gi' },
  });
});

test('terraform: kubernetes_manifest resources whose manifests validate once the variables are filled in', () => {
  const main = JSON.parse(exportFiles('terraform', input).get('main.tf.json')!) as {
    variable: Record<string, { default: unknown }>;
    resource: { kubernetes_manifest: Record<string, { manifest: unknown }> };
    terraform: unknown;
  };
  assert.deepEqual(Object.keys(main.variable).sort(), ['image', 'kubeconfig', 'replicas']);
  const manifests = Object.values(main.resource.kubernetes_manifest).map((r) => r.manifest);
  assert.equal(manifests.length, 6);
  const filled = JSON.parse(
    JSON.stringify(manifests)
      .replaceAll('"${var.replicas}"', String(main.variable.replicas!.default))
      .replaceAll('${var.image}', String(main.variable.image!.default)),
  ) as Obj[];
  for (const o of filled) schema.assertValid(o);
  assert.ok(JSON.stringify(manifests).includes('"${var.replicas}"'));
});

test('compose: fetch then serve, with the probe as health check and the resources as limits', () => {
  const compose = parse(exportFiles('compose', input).get('docker-compose.yml')!) as {
    services: Record<string, Record<string, unknown>>;
    volumes: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(compose.services).sort(), ['fetch-artifact', 'model']);
  const model = compose.services.model!;
  assert.deepEqual(model.depends_on, { 'fetch-artifact': { condition: 'service_completed_successfully' } });
  assert.deepEqual((model.deploy as Record<string, unknown>).replicas, 3);
  assert.deepEqual((model.deploy as { resources: unknown }).resources, { limits: { cpus: '0.5', memory: '512m' } });
  assert.equal((model.healthcheck as { test: string[] }).test[0], 'CMD');
  assert.deepEqual((compose.services['fetch-artifact']!.command as string[]).slice(0, 2), ['fetch-artifact', '--url']);
  assert.ok('models' in compose.volumes);
  assert.equal(cpus('250m'), '0.25');
  assert.equal(bytes('2Gi'), '2g');
  assert.throws(
    () => parseExportFormat('kustomize'),
    /^InvalidArgumentError: --format: must be one of manifests, helm, compose, terraform, got kustomize/,
  );
});

test('wharf export reads the deployment and its version from the API and writes the files', async () => {
  const server: Server = createServer((req, res) => {
    const body =
      req.url === '/api/v1/environments/production/deployments/risk'
        ? deployment
        : req.url === '/api/v1/models/readmission/versions/1.4.0'
          ? version
          : undefined;
    res
      .writeHead(body ? 200 : 404, { 'content-type': 'application/json' })
      .end(JSON.stringify(body ?? { error: { code: 'NOT_FOUND', message: `no ${req.url}` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const out = join(root, 'helm');
    const { stdout } = await run(
      process.execPath,
      [WHARF_BIN, 'export', 'risk', '-e', 'production', '--format', 'helm', '--out', out],
      { env: { ...process.env, WHARF_URL: url } },
    );
    assert.match(stdout, /exported risk revision 4 \(helm\)/);
    assert.deepEqual((await readdir(out)).sort(), ['Chart.yaml', 'templates', 'values.yaml']);
    assert.match(await readFile(join(out, 'values.yaml'), 'utf8'), new RegExp(`registryUrl: ${url}`));
    await assert.rejects(
      run(process.execPath, [WHARF_BIN, 'export', 'nope', '-e', 'production', '--format', 'helm', '--out', out], {
        env: { ...process.env, WHARF_URL: url },
      }),
      /no \/api\/v1\/environments\/production\/deployments\/nope/,
    );
  } finally {
    server.close();
  }
});
