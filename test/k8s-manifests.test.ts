// The manifest renderers: every object Wharf renders validates against the Kubernetes v1.30 schema
// with unknown fields rejected, and carries the labels, probes, resources and shutdown settings
// the issue asks for. The schema check itself is shown to fail on bad objects first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../src/core/errors.js';
import { LABELS, labelValue, revisionName, SPEC_HASH_ANNOTATION } from '../src/runtime/manifests/labels.js';
import { renderHttpRoute } from '../src/runtime/manifests/http-route.js';
import { type KubeObject, renderWorkload } from '../src/runtime/manifests/render.js';
import type { Workload } from '../src/runtime/runtime.js';
import { KubernetesSchema } from './support/k8s-schema.js';

const schema = new KubernetesSchema();
const probe = { path: '', intervalMs: 5_000, timeoutMs: 2_000, retries: 3, startupGraceMs: 60_000 };
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OPTIONS = { registryUrl: 'http://wharf.wharf-system:8080', image: 'registry.example/wharf:0.1.0' };

const model: Workload = {
  key: { environment: 'production', deployment: 'readmission', revision: 3 },
  replicas: 2,
  model: {
    name: 'readmission',
    version: '1.4.0+build.7',
    artifactPath: '/ignored/on/k8s',
    digest: DIGEST,
    serverArgs: ['--max-batch-size', '32'],
  },
  resources: { cpu: '500m', memory: '512Mi', gpu: 1 },
  readiness: { ...probe, path: '/v2/health/ready' },
  liveness: { ...probe, path: '/v2/health/live' },
  env: { LOG_LEVEL: 'info' },
  secretEnv: { API_TOKEN: { secret: 'risk-secrets', key: 'token' } },
};

const app: Workload = {
  key: { environment: 'staging', deployment: 'features', revision: 1 },
  replicas: 1,
  image: 'registry.example/features:2.0',
  command: { argv: ['node', 'server.js'] },
  readiness: { ...probe, path: '/ready' },
  liveness: { ...probe, path: '/live' },
  scaling: { min: 1, max: 5, targetCPU: 70, targetMemory: 80 },
};

const byKind = (objects: KubeObject[], kind: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind);
  assert.ok(found, `a ${kind} is rendered`);
  return found;
};

test('the schema check rejects unknown fields, missing required fields, wrong types and unknown kinds', () => {
  const good = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } };
  assert.deepEqual(schema.validate(good), []);
  assert.match(
    JSON.stringify(schema.validate({ ...good, spec: { ports: [{ port: 80, prot: 'TCP' }] } })),
    /unknown field prot/,
  );
  assert.match(JSON.stringify(schema.validate({ ...good, spec: { ports: [{}] } })), /port/);
  assert.match(JSON.stringify(schema.validate({ ...good, spec: { ports: [{ port: '80' }] } })), /number/);
  assert.match(
    JSON.stringify(
      schema.validate({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: {} } }),
    ),
    /selector/,
  );
  assert.match(JSON.stringify(schema.validate({ apiVersion: 'v1', kind: 'Deploymnt' })), /no kind Deploymnt/);
  assert.match(JSON.stringify(schema.validate({ apiVersion: 'apps/v1', kind: 'Service' })), /no kind Service/);
  // A v1.31+ field (the image volume source) is unknown to v1.30.
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c' }], volumes: [{ name: 'v', image: { reference: 'x' } }] },
  };
  assert.match(JSON.stringify(schema.validate(pod)), /unknown field image/);
});

test('every rendered object of a model and of an application validates against Kubernetes v1.30', () => {
  for (const w of [model, app]) {
    const rendered = renderWorkload(w, OPTIONS, `wharf-${w.key.environment}`);
    for (const object of [...rendered.shared, ...rendered.revision]) schema.assertValid(object);
  }
});

test('labels: app.kubernetes.io/*, deployment, revision, environment and the ownership label', () => {
  const { revision, shared } = renderWorkload(model, { ...OPTIONS, owner: 'team-a' }, 'wharf-production');
  const deployment = byKind(revision, 'Deployment');
  const labels = deployment.metadata.labels!;
  assert.equal(labels['app.kubernetes.io/name'], 'readmission');
  assert.equal(labels['app.kubernetes.io/instance'], 'readmission-r3');
  assert.equal(
    labels['app.kubernetes.io/version'],
    '1.4.0_build.7',
    'a semver build suffix becomes a valid label value',
  );
  assert.equal(labels['app.kubernetes.io/managed-by'], 'wharf');
  assert.equal(labels[LABELS.deployment], 'readmission');
  assert.equal(labels[LABELS.revision], '3');
  assert.equal(labels[LABELS.environment], 'production');
  assert.equal(labels[LABELS.owner], 'team-a');
  for (const o of [...revision, ...shared])
    assert.equal(o.metadata.labels?.[LABELS.owner], 'team-a', `${o.kind} has the ownership label`);
  for (const o of shared)
    assert.equal(o.metadata.labels?.[LABELS.revision], undefined, `${o.kind} is shared by revisions`);
  const spec = deployment.spec as {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> } };
  };
  for (const [k, v] of Object.entries(spec.selector.matchLabels))
    assert.equal(spec.template.metadata.labels[k], v, `pods match selector ${k}`);
  assert.equal(labelValue('-a+b-'), 'a_b');
  assert.equal(revisionName({ deployment: 'x'.repeat(63), revision: 12 }).length <= 63, true);
});

test('a model pod: init container fetches by digest, probes, resources with gpu, preStop and grace period', () => {
  const { revision } = renderWorkload(model, OPTIONS, 'wharf-production');
  const pod = (byKind(revision, 'Deployment').spec as { template: { spec: unknown } }).template.spec as {
    initContainers: { command: string[] }[];
    containers: {
      command: string[];
      readinessProbe: unknown;
      livenessProbe: unknown;
      startupProbe: { failureThreshold: number };
      resources: unknown;
      lifecycle: unknown;
      env: unknown[];
    }[];
    terminationGracePeriodSeconds: number;
  };
  assert.deepEqual(pod.initContainers[0]!.command, [
    'wharf',
    'fetch-artifact',
    '--url',
    `http://wharf.wharf-system:8080/api/v1/blobs/${DIGEST}`,
    '--digest',
    DIGEST,
    '--out',
    '/models/model.onnx',
  ]);
  const server = pod.containers[0]!;
  assert.deepEqual(server.command.slice(0, 4), ['wharf', 'serve-model', '--model', '/models/model.onnx']);
  assert.deepEqual(server.command.slice(-2), ['--max-batch-size', '32']);
  assert.deepEqual(server.readinessProbe, {
    httpGet: { path: '/v2/health/ready', port: 'http' },
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  assert.deepEqual(server.livenessProbe, {
    httpGet: { path: '/v2/health/live', port: 'http' },
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  assert.equal(server.startupProbe.failureThreshold, 12, '60 s of startup grace in 5 s periods');
  assert.deepEqual(server.resources, {
    requests: { cpu: '500m', memory: '512Mi', 'nvidia.com/gpu': '1' },
    limits: { memory: '512Mi', 'nvidia.com/gpu': '1' },
  });
  assert.deepEqual(server.lifecycle, { preStop: { exec: { command: ['sleep', '5'] } } });
  assert.equal(pod.terminationGracePeriodSeconds, 35, 'preStop 5 s + drain 25 s + 5 s to exit');
  assert.deepEqual(server.env.slice(-1), [
    { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'risk-secrets', key: 'token' } } },
  ]);
  assert.ok(!JSON.stringify(revision).includes('/ignored/on/k8s'), 'the local artifact path never reaches the cluster');
});

test('startup probe and limits: startup → startupProbe with the same time to start, limits → container limits; schema-valid', () => {
  const w: Workload = {
    ...model,
    startup: { path: '/v2/health/ready', intervalMs: 50, probeTimeoutMs: 1_000, timeoutMs: 120_000 },
    resources: { cpu: '500m', memory: '512Mi', limits: { cpu: '2', memory: '1Gi' } },
    dependencies: [
      {
        name: 'feature-store',
        http: { url: 'http://features:8080/health' },
        intervalMs: 1_000,
        timeoutMs: 500,
        retries: 3,
      },
    ],
  };
  const rendered = renderWorkload(w, OPTIONS, 'wharf-production');
  for (const object of [...rendered.shared, ...rendered.revision]) schema.assertValid(object);
  const server = (byKind(rendered.revision, 'Deployment').spec as { template: { spec: { containers: unknown[] } } })
    .template.spec.containers[0] as {
    startupProbe: unknown;
    resources: unknown;
    readinessProbe: unknown;
  };
  assert.deepEqual(server.startupProbe, {
    httpGet: { path: '/v2/health/ready', port: 'http' },
    periodSeconds: 1,
    timeoutSeconds: 1,
    failureThreshold: 120,
  });
  assert.deepEqual(server.resources, {
    requests: { cpu: '500m', memory: '512Mi' },
    limits: { cpu: '2', memory: '1Gi' },
  });
  const slow = renderWorkload(
    { ...w, startup: { path: '', intervalMs: 10_000, probeTimeoutMs: 3_000, timeoutMs: 45_000 } },
    OPTIONS,
    'ns',
  );
  const slowServer = (
    byKind(slow.revision, 'Deployment').spec as { template: { spec: { containers: { startupProbe: unknown }[] } } }
  ).template.spec.containers[0]!;
  assert.deepEqual(slowServer.startupProbe, {
    httpGet: { path: '/v2/health/ready', port: 'http' },
    periodSeconds: 10,
    timeoutSeconds: 3,
    failureThreshold: 5,
  });
  assert.ok(!JSON.stringify(rendered.revision).includes('feature-store'), 'dependencies are not mapped on Kubernetes');
});

test('autoscaling: an HPA from scaling, and the Deployment leaves replicas to it', () => {
  const { revision } = renderWorkload(app, OPTIONS, 'wharf-staging');
  const hpa = byKind(revision, 'HorizontalPodAutoscaler').spec as {
    minReplicas: number;
    maxReplicas: number;
    scaleTargetRef: { name: string };
  };
  assert.equal(hpa.minReplicas, 1);
  assert.equal(hpa.maxReplicas, 5);
  assert.equal(hpa.scaleTargetRef.name, 'features-r1');
  assert.equal((byKind(revision, 'Deployment').spec as { replicas?: number }).replicas, undefined);
  const fixed = renderWorkload(model, OPTIONS, 'wharf-production');
  assert.ok(!fixed.revision.some((o) => o.kind === 'HorizontalPodAutoscaler'), 'no HPA without autoscaling');
  assert.equal((byKind(fixed.revision, 'Deployment').spec as { replicas?: number }).replicas, 2);
});

test('rendering is deterministic and the hash changes with the spec only', () => {
  const a = renderWorkload(model, OPTIONS, 'ns');
  const b = renderWorkload(structuredClone(model), OPTIONS, 'ns');
  assert.equal(a.hash, b.hash);
  assert.equal(byKind(a.revision, 'Deployment').metadata.annotations?.[SPEC_HASH_ANNOTATION], a.hash);
  assert.notEqual(renderWorkload({ ...model, replicas: 3 }, OPTIONS, 'ns').hash, a.hash);
  assert.equal(a.revision.at(-1)!.kind, 'Deployment', 'the Deployment is applied last');
});

test('bad input gets a clear InvalidArgumentError naming the field', () => {
  assert.throws(
    () => renderWorkload(model, { registryUrl: 'wharf:8080' }, 'ns'),
    (e: Error) => e instanceof InvalidArgumentError && /^registryUrl: must be an http\(s\) URL/.test(e.message),
  );
  assert.throws(
    () => renderWorkload(model, { ...OPTIONS, port: 70_000 }, 'ns'),
    /^InvalidArgumentError: port: must be an integer from 1 to 65535, got 70000/,
  );
  assert.throws(
    () => renderWorkload({ ...app, image: undefined }, OPTIONS, 'ns'),
    /image: required for an application/,
  );
});

test('HTTPRoute: weights per revision Service, header matches first, a full mirror; valid Gateway API v1', () => {
  const route = renderHttpRoute(
    {
      environment: 'production',
      deployment: 'risk',
      targets: [
        { revision: 3, weight: 90 },
        { revision: 4, weight: 10 },
      ],
      matches: [{ header: { name: 'x-canary', value: 'always' }, revision: 4 }],
      mirror: { revision: 5, percent: 100 },
    },
    { namespace: 'wharf-production', parentGateway: 'mesh', parentNamespace: 'infra', owner: 'wharf' },
  );
  assert.deepEqual(schema.validate(route as never), []);
  const spec = route.spec as {
    parentRefs: unknown[];
    rules: {
      matches: { headers?: unknown[] }[];
      backendRefs: { name: string; weight?: number }[];
      filters: { type: string }[];
    }[];
  };
  assert.deepEqual(spec.parentRefs, [{ name: 'mesh', namespace: 'infra' }]);
  assert.equal(spec.rules.length, 2);
  assert.deepEqual(
    spec.rules[0]!.backendRefs.map((b) => b.name),
    ['risk-r4'],
  );
  assert.deepEqual(
    spec.rules[1]!.backendRefs.map((b) => [b.name, b.weight]),
    [
      ['risk-r3', 90],
      ['risk-r4', 10],
    ],
  );
  assert.deepEqual(
    spec.rules[1]!.filters.map((f) => f.type),
    ['URLRewrite', 'RequestMirror'],
  );
  assert.match(
    JSON.stringify(
      schema.validate({
        ...route,
        spec: { ...spec, rules: [{ backendRefs: [{ name: 's', port: 80, weight: 'ten' }] }] },
      } as never),
    ),
    /weight must be integer/,
  );
});
