// Applications and workers rendered for Kubernetes (issue 15): every object validates against the
// Kubernetes v1.30 schema with unknown fields rejected, as models' do (k8s-manifests.test.ts); an
// application is a Deployment and a Service with its port, `$PORT`, its command passed through
// (`$(PORT)` left for Kubernetes to expand) and HTTP probes; a bundle without an image runs in the
// base image after an init container that fetches, verifies and unpacks it; a worker is a
// Deployment without Service, HTTP probes or HPA, with an exec liveness probe and its grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../src/core/errors.js';
import { LABELS } from '../src/runtime/manifests/labels.js';
import { type KubeObject, renderWorkload } from '../src/runtime/manifests/render.js';
import type { Workload } from '../src/runtime/runtime.js';
import { KubernetesSchema } from './support/k8s-schema.js';

const schema = new KubernetesSchema();
const probe = { path: '', intervalMs: 5_000, timeoutMs: 2_000, retries: 3, startupGraceMs: 60_000 };
const DIGEST = `sha256:${'ef'.repeat(32)}`;
const OPTIONS = {
  registryUrl: 'http://wharf.wharf-system:8080',
  image: 'registry.example/wharf:0.1.0',
  pullTokenSecret: 'wharf-pull-token',
};

const imageApp: Workload = {
  key: { environment: 'production', deployment: 'api', revision: 2 },
  replicas: 2,
  image: 'registry.example/api:1.2.0',
  command: { argv: ['uvicorn', 'app:app', '--host', '0.0.0.0', '--port', '$(PORT)'], workingDir: '/srv' },
  port: 9000,
  env: { LOG_LEVEL: 'info' },
  secretEnv: { DB_PASSWORD: { secret: 'db', key: 'password', version: 3 } },
  resources: { cpu: '250m', memory: '256Mi' },
  readiness: { ...probe, path: '/healthz' },
  liveness: { ...probe, path: '/livez' },
  startup: { path: '/healthz', intervalMs: 1_000, probeTimeoutMs: 1_000, timeoutMs: 30_000 },
  terminationGracePeriodMs: 20_000,
  scaling: { min: 2, max: 6, targetCPU: 70, targetMemory: 80 },
};

const bundleApp: Workload = {
  key: { environment: 'staging', deployment: 'features', revision: 1 },
  replicas: 1,
  bundle: { artifactPath: '/local/cache/never/on/k8s.tar.gz', digest: DIGEST },
  command: { argv: ['node', 'server.js', '--port', '$(PORT)'], workingDir: 'src' },
  readiness: { ...probe, path: '/ready' },
  liveness: { ...probe, path: '/ready' },
};

const worker: Workload = {
  key: { environment: 'production', deployment: 'extractor', revision: 4 },
  replicas: 3,
  serves: 'none',
  bundle: { artifactPath: '/local/x.tar.gz', digest: DIGEST },
  command: { argv: ['celery', '-A', 'tasks', 'worker'] },
  healthCommand: { argv: ['celery', '-A', 'tasks', 'inspect', 'ping'] },
  terminationGracePeriodMs: 45_000,
  readiness: probe,
  liveness: { ...probe, intervalMs: 10_000, retries: 5 },
  // The control plane's autoscaler sets a worker's replicas (queue depth): no HPA may fight it.
  scaling: { min: 1, max: 10, targetCPU: 80, targetMemory: 80 },
};

type Pod = {
  terminationGracePeriodSeconds: number;
  initContainers?: Record<string, unknown>[];
  containers: Record<string, unknown>[];
  volumes: { name: string }[];
};
const byKind = (objects: KubeObject[], kind: string): KubeObject | undefined => objects.find((o) => o.kind === kind);
const podOf = (objects: KubeObject[]): Pod =>
  (byKind(objects, 'Deployment')!.spec as { template: { spec: Pod } }).template.spec;

test('every object of an image application, a bundle application and a worker validates against Kubernetes v1.30', () => {
  for (const w of [imageApp, bundleApp, worker]) {
    const rendered = renderWorkload(w, OPTIONS, `wharf-${w.key.environment}`);
    for (const object of [...rendered.shared, ...rendered.revision]) schema.assertValid(object);
  }
  // The check is not vacuous: a container field Kubernetes does not know fails it.
  const rendered = renderWorkload(worker, OPTIONS, 'ns');
  const broken = structuredClone(byKind(rendered.revision, 'Deployment')!);
  (broken.spec as { template: { spec: Pod } }).template.spec.containers[0]!.healthCommand = ['x'];
  assert.match(JSON.stringify(schema.validate(broken)), /unknown field healthCommand/);
});

test('an image application: Deployment + Service on its port, PORT set, command and args as given, HTTP probes', () => {
  const { revision, shared } = renderWorkload(imageApp, OPTIONS, 'wharf-production');
  assert.deepEqual(
    revision.map((o) => o.kind),
    ['ConfigMap', 'Service', 'HorizontalPodAutoscaler', 'Deployment'],
  );
  assert.equal(byKind(revision, 'Deployment')!.metadata.labels!['app.kubernetes.io/component'], 'application');
  const service = byKind(revision, 'Service')!.spec as { ports: unknown[] };
  assert.deepEqual(service.ports, [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  const pod = podOf(revision);
  assert.equal(pod.initContainers, undefined, 'an image needs no init container');
  const app = pod.containers[0]!;
  assert.equal(app.name, 'app');
  assert.equal(app.image, 'registry.example/api:1.2.0');
  assert.deepEqual(app.command, ['uvicorn', 'app:app', '--host', '0.0.0.0', '--port', '$(PORT)']);
  assert.equal(app.workingDir, '/srv');
  assert.deepEqual(app.ports, [{ name: 'http', containerPort: 9000, protocol: 'TCP' }]);
  const env = app.env as { name: string; value?: string; valueFrom?: unknown }[];
  assert.deepEqual(
    env.find((e) => e.name === 'PORT'),
    { name: 'PORT', value: '9000' },
  );
  assert.deepEqual(
    env.find((e) => e.name === 'DB_PASSWORD'),
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-v3', key: 'password' } } },
  );
  assert.deepEqual(app.readinessProbe, {
    httpGet: { path: '/healthz', port: 'http' },
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  assert.deepEqual((app.livenessProbe as { httpGet: unknown }).httpGet, { path: '/livez', port: 'http' });
  assert.deepEqual(app.startupProbe, {
    httpGet: { path: '/healthz', port: 'http' },
    periodSeconds: 1,
    timeoutSeconds: 1,
    failureThreshold: 30,
  });
  assert.deepEqual(app.lifecycle, { preStop: { exec: { command: ['sleep', '5'] } } });
  assert.equal(pod.terminationGracePeriodSeconds, 25, 'preStop 5 s + the workload grace of 20 s');
  const np = byKind(shared, 'NetworkPolicy')!.spec as { ingress: { ports: unknown[] }[] };
  assert.deepEqual(np.ingress[0]!.ports, [{ port: 'http', protocol: 'TCP' }], 'only the gateway reaches it');
  // Without a port of its own: 8080.
  const plain = podOf(renderWorkload({ ...imageApp, port: undefined }, OPTIONS, 'ns').revision).containers[0]!;
  assert.deepEqual(plain.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
});

test('a bundle without an image: the base image, an init container that fetches it by digest with the pull token and unpacks it', () => {
  const { revision } = renderWorkload(bundleApp, OPTIONS, 'wharf-staging');
  const pod = podOf(revision);
  const init = pod.initContainers![0]!;
  assert.equal(init.name, 'fetch-bundle');
  assert.equal(init.image, 'registry.example/wharf:0.1.0');
  assert.deepEqual(init.command, [
    'wharf',
    'fetch-artifact',
    '--url',
    `http://wharf.wharf-system:8080/api/v1/blobs/${DIGEST}`,
    '--digest',
    DIGEST,
    '--out',
    '/app',
    '--unpack',
  ]);
  assert.deepEqual(init.env, [
    { name: 'WHARF_PULL_TOKEN', valueFrom: { secretKeyRef: { name: 'wharf-pull-token', key: 'token' } } },
  ]);
  assert.deepEqual(init.volumeMounts, [{ name: 'bundle', mountPath: '/app' }]);
  const app = pod.containers[0]!;
  assert.equal(app.image, 'registry.example/wharf:0.1.0', 'the base image defaults to the Wharf image');
  assert.equal(app.workingDir, '/app/src', 'a relative working directory is inside the bundle');
  assert.deepEqual(app.volumeMounts, [
    { name: 'bundle', mountPath: '/app', readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
  ]);
  assert.deepEqual(
    pod.volumes.map((v) => v.name),
    ['bundle', 'tmp'],
  );
  assert.ok(!JSON.stringify(revision).includes('/local/cache'), 'the local bundle path never reaches the cluster');
  const based = podOf(renderWorkload(bundleApp, { ...OPTIONS, appBaseImage: 'python:3.12-slim' }, 'ns').revision)
    .containers[0]!;
  assert.equal(based.image, 'python:3.12-slim');
  // Both an image and a bundle: the image runs, nothing is fetched.
  const both = podOf(renderWorkload({ ...bundleApp, image: 'own:1' }, OPTIONS, 'ns').revision);
  assert.equal(both.containers[0]!.image, 'own:1');
  assert.equal(both.initContainers, undefined);
});

test('a worker: a Deployment without Service or HPA, no port and no HTTP probe, exec liveness, its grace period', () => {
  const { revision, shared } = renderWorkload(worker, OPTIONS, 'wharf-production');
  assert.deepEqual(
    revision.map((o) => o.kind),
    ['ConfigMap', 'Deployment'],
  );
  const deployment = byKind(revision, 'Deployment')!;
  assert.equal(deployment.metadata.labels!['app.kubernetes.io/component'], 'worker');
  assert.equal(deployment.metadata.labels![LABELS.revision], '4');
  assert.equal((deployment.spec as { replicas: number }).replicas, 3, 'replicas set by the control plane');
  const pod = podOf(revision);
  const c = pod.containers[0]!;
  assert.equal(c.name, 'worker');
  assert.deepEqual(c.command, ['celery', '-A', 'tasks', 'worker']);
  assert.equal(c.ports, undefined);
  assert.equal(c.readinessProbe, undefined, 'ready while it runs');
  assert.equal(c.lifecycle, undefined, 'no endpoint to leave before SIGTERM');
  assert.ok(!(c.env as { name: string }[]).some((e) => e.name === 'PORT'), 'no PORT for a worker');
  assert.deepEqual(c.livenessProbe, {
    exec: { command: ['celery', '-A', 'tasks', 'inspect', 'ping'] },
    periodSeconds: 10,
    timeoutSeconds: 2,
    failureThreshold: 5,
  });
  assert.deepEqual(
    (c.startupProbe as { exec: unknown; failureThreshold: number }).failureThreshold,
    6,
    '60 s of startup grace in 10 s periods',
  );
  assert.equal(pod.terminationGracePeriodSeconds, 45);
  assert.equal(pod.initContainers![0]!.name, 'fetch-bundle');
  assert.deepEqual((byKind(shared, 'NetworkPolicy')!.spec as { ingress: unknown[] }).ingress, [], 'no ingress at all');
  // Without a health command: no probe at all; without a grace period: 30 s.
  const bare = podOf(
    renderWorkload({ ...worker, healthCommand: undefined, terminationGracePeriodMs: undefined }, OPTIONS, 'ns')
      .revision,
  );
  assert.equal(bare.containers[0]!.livenessProbe, undefined);
  assert.equal(bare.containers[0]!.startupProbe, undefined);
  assert.equal(bare.terminationGracePeriodSeconds, 30);
});

test('a command workload Kubernetes cannot run is refused naming the field', () => {
  const refused = (w: Workload, pattern: RegExp): void => {
    assert.throws(
      () => renderWorkload(w, OPTIONS, 'ns'),
      (e: Error) => e instanceof InvalidArgumentError && pattern.test(e.message),
      pattern.source,
    );
  };
  refused(
    { ...bundleApp, bundle: undefined },
    /image: required for an application or worker on the kubernetes runtime, unless it has a bundle/,
  );
  refused({ ...imageApp, port: 0 }, /port: must be an integer from 1 to 65535, got 0/);
  refused({ ...imageApp, port: 70_000 }, /port: must be an integer from 1 to 65535/);
  refused({ ...worker, port: 8080 }, /port: a worker listens on no port/);
  refused({ ...bundleApp, command: { argv: ['node'], workingDir: '../etc' } }, /command.workingDir: must stay inside/);
  refused({ ...imageApp, command: { argv: ['x'], workingDir: 'rel' } }, /command.workingDir: must be absolute/);
  refused({ ...worker, healthCommand: { argv: [] } }, /healthCommand.argv: must be a non-empty array/);
  refused({ ...worker, terminationGracePeriodMs: -1 }, /terminationGracePeriodMs: must be a non-negative integer/);
  assert.throws(() => renderWorkload(bundleApp, { ...OPTIONS, appBaseImage: ' ' }, 'ns'), /appBaseImage: must be/);
});
