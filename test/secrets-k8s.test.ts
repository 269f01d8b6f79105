// Secrets on Kubernetes: the runtime writes an immutable Secret per pinned secret version
// (`<secret>-v<n>`, with that version's items read through the injected reader) and the pod reads
// it through `secretKeyRef` — against the test API server, whose kubelet runs the pod's real
// processes, so the value is checked in the pod process's own environment. The manifests name the
// Secret, never the value; the artifact init container reads its pull token from a Secret too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { podTemplate, PULL_TOKEN_ENV } from '../src/runtime/manifests/pod-template.js';
import { resolveManifestOptions } from '../src/runtime/manifests/manifest-options.js';
import { renderPullTokenSecret } from '../src/runtime/manifests/pull-token-secret.js';
import { renderWorkload } from '../src/runtime/manifests/render.js';
import type { WorkloadKey } from '../src/runtime/runtime.js';
import { type SimulatedCluster, startSimulatedCluster } from './support/k8s-cluster.js';
import { killReplicaProcesses, statusWhere } from './support/runtime.js';
import { eventually } from './support/eventually.js';

const ENV = `k8ssec${process.pid}`;
const NS = `wharf-${ENV}`;
let cluster: SimulatedCluster;
process.on('exit', () => killReplicaProcesses(`${ENV}/`));

before(async () => {
  cluster = await startSimulatedCluster(ENV);
});
after(async () => {
  await cluster?.stop();
  assert.deepEqual(killReplicaProcesses(`${ENV}/`), [], 'pod processes left behind');
});

/** The environments of live processes whose WHARF_WORKLOAD starts with `tag`. */
function environsTagged(tag: string): string[][] {
  const out: string[][] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (vars.some((v) => v.startsWith(`WHARF_WORKLOAD=${tag}`))) out.push(vars);
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

test('a pinned secret version becomes an immutable Secret the pod reads; the manifests hold no value', async () => {
  const marker = `mk${randomBytes(12).toString('hex')}`;
  const reads: string[] = [];
  const runtime = cluster.runtime({
    readSecretVersion: async (environment, secret, version) => {
      reads.push(`${environment}/${secret}@${version}`);
      return { PASSWORD: marker, USER: 'app' };
    },
  });
  const key: WorkloadKey = { environment: ENV, deployment: 'risk', revision: 1 };
  const workload = {
    ...cluster.modelWorkload(key, 1),
    secretEnv: { DB_PASSWORD: { secret: 'db', key: 'PASSWORD', version: 2 } },
  };
  await runtime.apply(workload);
  await eventually(
    statusWhere(runtime, key, (s) => s.readyReplicas === 1),
    { timeoutMs: 30_000, message: 'ready' },
  );
  assert.deepEqual(reads, [`${ENV}/db@2`]);

  const secret = cluster.api.store.get('/v1/secrets', NS, 'db-v2') as {
    immutable?: boolean;
    data?: Record<string, string>;
  };
  assert.equal(secret.immutable, true);
  assert.equal(Buffer.from(secret.data!.PASSWORD!, 'base64').toString('utf8'), marker);
  assert.deepEqual(Object.keys(secret.data!).sort(), ['PASSWORD', 'USER']);

  const deployment = cluster.api.store.list('apps/v1/deployments', NS).find((d) => d.metadata.name?.startsWith('risk'));
  assert.ok(deployment, 'the Deployment');
  const text = JSON.stringify(deployment);
  const env = (deployment as { spec: { template: { spec: { containers: { env: unknown[] }[] } } } }).spec.template.spec
    .containers[0]!.env;
  assert.deepEqual(
    env.find((e) => (e as { name: string }).name === 'DB_PASSWORD'),
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { key: 'PASSWORD', name: 'db-v2' } } },
  );
  assert.ok(!text.includes(marker), 'a value in the Deployment');

  const environs = await eventually(
    () => {
      const found = environsTagged(`${ENV}/`).filter((vars) => vars.includes(`DB_PASSWORD=${marker}`));
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 10_000, message: 'the pod process with DB_PASSWORD' },
  );
  assert.ok(environs.length >= 1);
  await runtime.remove(key);
});

test('without a secret reader, a pinned ref is refused at apply', async () => {
  const runtime = cluster.runtime();
  const key: WorkloadKey = { environment: ENV, deployment: 'nosecrets', revision: 1 };
  await assert.rejects(
    runtime.apply({ ...cluster.modelWorkload(key, 1), secretEnv: { X: { secret: 'db', key: 'A', version: 1 } } }),
    /secretEnv: this kubernetes runtime cannot read secrets/,
  );
});

test('the artifact init container reads WHARF_PULL_TOKEN from the pull-token Secret, never from the manifest', () => {
  const key: WorkloadKey = { environment: 'production', deployment: 'risk', revision: 3 };
  const w = cluster.modelWorkload(key, 1);
  const o = resolveManifestOptions({ registryUrl: 'http://wharf:8080', pullTokenSecret: 'wharf-pull-token' });
  const init = podTemplate(w, {}, 'sa', o).spec!.initContainers![0]!;
  assert.deepEqual(init.env, [
    { name: PULL_TOKEN_ENV, valueFrom: { secretKeyRef: { name: 'wharf-pull-token', key: 'token' } } },
  ]);
  // Off by default: no env, as before.
  const plain = podTemplate(w, {}, 'sa', resolveManifestOptions({ registryUrl: 'http://wharf:8080' })).spec!
    .initContainers![0]!;
  assert.equal(plain.env, undefined);
  const token = `wharf_abc_${randomBytes(16).toString('hex')}`;
  const rendered = renderWorkload(w, { registryUrl: 'http://wharf:8080', pullTokenSecret: 'wharf-pull-token' }, 'ns');
  assert.ok(!JSON.stringify(rendered).includes(token));
  const s = renderPullTokenSecret('ns', token, new Date('2030-01-01T00:00:00Z'));
  assert.deepEqual(s.data, { token: Buffer.from(token).toString('base64') });
  assert.equal(s.metadata.annotations['wharf.dev/expires-at'], '2030-01-01T00:00:00.000Z');
});
