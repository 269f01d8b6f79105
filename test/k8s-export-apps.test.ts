// `wharf export` of applications and workers (issue 15): every Kubernetes object of every format
// (plain manifests, the Helm chart rendered with its values and with changed ones, Terraform)
// validates against the v1.30 schema, a worker has no Service; the compose file runs the image
// with the command (or fetches and unpacks the bundle first), publishes an application's port,
// never a worker's, and uses the worker's health command as its health check. `wharf export`
// builds an application's workload with its kind from the API's deployment and bundle version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import type { Deployment } from '../src/core/resources.js';
import { exportFiles, type ExportInput, exportWorkload } from '../src/export/export.js';
import { WHARF_BIN } from './support/processes.js';
import type { Workload } from '../src/runtime/runtime.js';
import { renderTemplate } from './support/helm-lite.js';
import { KubernetesSchema } from './support/k8s-schema.js';

const schema = new KubernetesSchema();
const probe = { path: '/healthz', intervalMs: 5_000, timeoutMs: 2_000, retries: 3, startupGraceMs: 30_000 };
const DIGEST = `sha256:${'9a'.repeat(32)}`;
const manifests = { registryUrl: 'http://wharf.wharf-system:8080', image: 'registry.example/wharf:0.1.0' };

const imageApp: Workload = {
  key: { environment: 'production', deployment: 'api', revision: 3 },
  replicas: 1,
  image: 'registry.example/api:1.2.0',
  command: { argv: ['uvicorn', 'app:app', '--host', '0.0.0.0', '--port', '$(PORT)', '--root-path', '$PREFIX'] },
  port: 9000,
  resources: { cpu: '500m', memory: '256Mi' },
  readiness: probe,
  liveness: probe,
  terminationGracePeriodMs: 10_000,
};
const bundleApp: Workload = {
  key: { environment: 'staging', deployment: 'frontend', revision: 2 },
  replicas: 2,
  bundle: { artifactPath: 'registry:x', digest: DIGEST },
  command: { argv: ['node', 'server.js'], workingDir: 'web' },
  readiness: probe,
  liveness: probe,
  scaling: { min: 2, max: 4, targetCPU: 70, targetMemory: 80 },
};
const worker: Workload = {
  key: { environment: 'production', deployment: 'extractor', revision: 5 },
  replicas: 2,
  serves: 'none',
  bundle: { artifactPath: 'registry:x', digest: DIGEST },
  command: { argv: ['celery', '-A', 'tasks', 'worker'] },
  healthCommand: { argv: ['celery', '-A', 'tasks', 'inspect', 'ping'] },
  secretEnv: { BROKER_URL: { secret: 'broker', key: 'url' } },
  terminationGracePeriodMs: 60_000,
  readiness: probe,
  liveness: probe,
};
const input = (workload: Workload): ExportInput => ({ workload, namespace: 'ml', manifests });
type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
type PodSpec = { containers: { image: string }[]; initContainers?: { image: string; command: string[] }[] };
const podOf = (objects: Obj[]): PodSpec =>
  (objects.find((o) => o.kind === 'Deployment')!.spec as { template: { spec: PodSpec } }).template.spec;

test('manifests and terraform: every object of an application and a worker is valid; a worker has no Service', () => {
  for (const w of [imageApp, bundleApp, worker]) {
    const files = exportFiles('manifests', input(w));
    const objects = [...files].filter(([f]) => f !== 'kustomization.yaml').map(([, text]) => parse(text) as Obj);
    for (const o of objects) schema.assertValid(o);
    assert.equal(
      objects.some((o) => o.kind === 'Service'),
      w !== worker,
      `${w.key.deployment}: a Service unless a worker`,
    );
    const main = JSON.parse(exportFiles('terraform', input(w)).get('main.tf.json')!) as {
      variable: Record<string, { default: unknown }>;
      resource: { kubernetes_manifest: Record<string, { manifest: unknown }> };
    };
    const filled = JSON.parse(
      JSON.stringify(Object.values(main.resource.kubernetes_manifest).map((r) => r.manifest))
        .replaceAll('"${var.replicas}"', String(main.variable.replicas!.default))
        .replaceAll('${var.image}', String(main.variable.image!.default)),
    ) as Obj[];
    for (const o of filled) schema.assertValid(o);
    // The app's own image is the variable; the bundle's init container keeps the Wharf image.
    const pod = podOf(filled);
    assert.equal(pod.containers[0]!.image, w.image ?? manifests.image);
    for (const init of pod.initContainers ?? []) assert.equal(init.image, manifests.image);
  }
});

test("helm: an application's image and the bundle fetcher's image are values; the chart renders valid objects with them changed", () => {
  const files = exportFiles('helm', input(bundleApp));
  const values = parse(files.get('values.yaml')!) as Record<string, unknown> & { autoscaling: object };
  assert.equal(values.image, manifests.image, 'the base image of the bundle');
  assert.equal(values.wharfImage, manifests.image);
  assert.deepEqual(values.artifact, { registryUrl: manifests.registryUrl, digest: DIGEST });
  const render = (v: Record<string, unknown>, text: Map<string, string> = files): Obj[] =>
    [...text]
      .filter(([f]) => f.startsWith('templates/'))
      .flatMap(([, t]) =>
        parseAllDocuments(renderTemplate(t, { Values: v, Release: { Namespace: 'team', Name: 'x' } })).map(
          (d) => d.toJS() as Obj | null,
        ),
      )
      .filter((o): o is Obj => o !== null);
  const changed = render({
    ...values,
    image: 'node:20-slim',
    wharfImage: 'mirror.local/wharf:0.1.0',
    artifact: { registryUrl: 'http://mirror:8080', digest: DIGEST },
  });
  for (const o of changed) schema.assertValid(o);
  const pod = podOf(changed);
  assert.equal(pod.containers[0]!.image, 'node:20-slim');
  assert.equal(pod.initContainers![0]!.image, 'mirror.local/wharf:0.1.0');
  assert.equal(pod.initContainers![0]!.command[3], `http://mirror:8080/api/v1/blobs/${DIGEST}`);
  assert.ok(
    changed.some((o) => o.kind === 'HorizontalPodAutoscaler'),
    'an autoscaled application keeps its HPA',
  );

  const workerFiles = exportFiles('helm', input(worker));
  const workerValues = parse(workerFiles.get('values.yaml')!) as Record<string, unknown>;
  const objects = render(workerValues, workerFiles);
  for (const o of objects) schema.assertValid(o);
  assert.ok(!objects.some((o) => o.kind === 'Service' || o.kind === 'HorizontalPodAutoscaler'));
  assert.equal(objects.find((o) => o.kind === 'Deployment')!.spec!.replicas, 2);
});

type Service = Record<string, unknown> & { healthcheck?: { test: string[] }; deploy?: Record<string, unknown> };
const composeOf = (w: Workload): { text: string; services: Record<string, Service>; volumes?: object } => {
  const text = exportFiles('compose', input(w)).get('docker-compose.yml')!;
  return { text, ...(parse(text) as { services: Record<string, Service>; volumes?: object }) };
};

test('compose: an image application runs its command with $(PORT) filled in and publishes its port', () => {
  const { services, text } = composeOf(imageApp);
  assert.deepEqual(Object.keys(services), ['app']);
  const app = services.app!;
  assert.equal(app.image, 'registry.example/api:1.2.0');
  assert.deepEqual(app.entrypoint, [
    'uvicorn',
    'app:app',
    '--host',
    '0.0.0.0',
    '--port',
    '9000',
    '--root-path',
    '$$PREFIX',
  ]);
  assert.deepEqual(app.ports, ['9000:9000']);
  assert.equal((app.environment as Record<string, string>).PORT, '9000');
  assert.equal(app.stop_grace_period, '15s', 'preStop 5 s + the workload grace of 10 s');
  assert.deepEqual(app.deploy, { replicas: 1, resources: { limits: { cpus: '0.5', memory: '256m' } } });
  assert.equal(app.healthcheck, undefined, 'no check the image can be assumed to run…');
  assert.match(text, /# health: GET \/healthz on port 9000/, '…and the file says so');
});

test('compose: a bundle is fetched and unpacked first, then run read-only in its working directory', () => {
  const { services, volumes } = composeOf(bundleApp);
  assert.deepEqual(Object.keys(services).sort(), ['app', 'fetch-bundle']);
  assert.deepEqual((services['fetch-bundle']!.command as string[]).slice(-3), ['--out', '/app', '--unpack']);
  const app = services.app!;
  assert.deepEqual(app.depends_on, { 'fetch-bundle': { condition: 'service_completed_successfully' } });
  assert.deepEqual(app.volumes, ['bundle:/app:ro']);
  assert.equal(app.working_dir, '/app/web');
  assert.deepEqual(app.ports, ['8080'], 'two replicas: ephemeral host ports');
  assert.equal(app.healthcheck!.test[1], 'node', 'the Wharf image can run the HTTP check');
  assert.ok(volumes && 'bundle' in volumes);
});

test('compose: a worker publishes no port, its health command is its health check, secrets come from the host', () => {
  const { services } = composeOf(worker);
  const w = services.worker!;
  assert.equal(w.ports, undefined);
  assert.deepEqual(w.healthcheck!.test, ['CMD', 'celery', '-A', 'tasks', 'inspect', 'ping']);
  assert.equal(w.stop_grace_period, '60s');
  const env = w.environment as Record<string, string>;
  assert.equal(env.PORT, undefined);
  assert.match(env.BROKER_URL!, /^\$\{BROKER_URL:\?set BROKER_URL to key url of Wharf secret broker\}$/);
});

const appDeployment = {
  id: 'staging.features',
  name: 'features',
  environment: 'staging',
  revision: 7,
  type: 'application',
  bundle: { name: 'features', version: '1.2.0' },
  configuration: {
    command: ['node', 'server.js'],
    args: ['--port', '$(PORT)'],
    workingDir: 'srv',
    port: 9090,
    replicas: 2,
    resources: { cpu: '250m', memory: '128Mi', gpu: 0 },
    scaling: { min: 2, max: 2, targetCPU: 80, targetMemory: 80 },
    healthCheck: { path: '/healthz', interval: 5, timeout: 2, retries: 3 },
  },
  strategy: { type: 'rolling' },
} as unknown as Deployment;
const bundleVersion = {
  bundle: 'features',
  version: '1.2.0',
  artifact: { digest: DIGEST, size: 10, filename: 'b.tar.gz' },
};

test("exportWorkload builds an application's and a worker's workload with their kinds, and they render valid objects", () => {
  const app = exportWorkload(appDeployment, bundleVersion as never);
  assert.deepEqual(app.command, { argv: ['node', 'server.js', '--port', '$(PORT)'], workingDir: 'srv' });
  assert.deepEqual(app.bundle, { artifactPath: `registry:${DIGEST}`, digest: DIGEST });
  const workerDeployment = {
    ...appDeployment,
    name: 'extractor',
    type: 'worker',
    configuration: {
      ...appDeployment.configuration,
      port: undefined,
      healthCommand: ['node', 'health.js'],
      terminationGracePeriod: 90,
    },
  } as unknown as Deployment;
  const w = exportWorkload(workerDeployment, bundleVersion as never);
  assert.equal(w.serves, 'none');
  for (const workload of [app, w]) {
    const files = exportFiles('manifests', input(workload));
    const objects = [...files].filter(([f]) => f !== 'kustomization.yaml').map(([, t]) => parse(t) as Obj);
    for (const o of objects) schema.assertValid(o);
  }
  const pod = (
    parse(exportFiles('manifests', input(w)).get('deployment-extractor-r7.yaml')!) as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: { livenessProbe: unknown }[] } } };
    }
  ).spec.template.spec;
  assert.equal(pod.terminationGracePeriodSeconds, 90);
  assert.deepEqual((pod.containers[0]!.livenessProbe as { exec: unknown }).exec, { command: ['node', 'health.js'] });
  assert.throws(
    () => exportWorkload(appDeployment),
    /^InvalidArgumentError: bundle: the version of features is required/,
  );
});

test('wharf export of an application reads its bundle version from the API and writes the manifests', async () => {
  const server = createServer((req, res) => {
    const body =
      req.url === '/api/v1/environments/staging/deployments/features'
        ? appDeployment
        : req.url === '/api/v1/bundles/features/versions/1.2.0'
          ? bundleVersion
          : undefined;
    res
      .writeHead(body ? 200 : 404, { 'content-type': 'application/json' })
      .end(JSON.stringify(body ?? { error: { code: 'NOT_FOUND', message: `no ${req.url}` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const out = await mkdtemp(join(tmpdir(), 'wharf-export-app-'));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        WHARF_BIN,
        'export',
        'features',
        '-e',
        'staging',
        '--format',
        'manifests',
        '--out',
        out,
        '--app-base-image',
        'node:20-slim',
      ],
      { env: { ...process.env, WHARF_URL: url } },
    );
    assert.match(stdout, /exported features revision 7 \(manifests\)/);
    assert.match(stdout, /download the bundle with a token/);
    const deployment = parse(await readFile(join(out, 'deployment-features-r7.yaml'), 'utf8')) as {
      spec: {
        template: {
          spec: { containers: { image: string; workingDir: string }[]; initContainers: { command: string[] }[] };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    assert.equal(pod.containers[0]!.image, 'node:20-slim');
    assert.equal(pod.containers[0]!.workingDir, '/app/srv');
    assert.equal(pod.initContainers[0]!.command[3], `${url}/api/v1/blobs/${DIGEST}`);
  } finally {
    server.close();
    await rm(out, { recursive: true, force: true });
  }
});
