// The Kubernetes runtime: the shared Runtime contract against the test API server, whose kubelet
// runs each pod's real commands (`wharf fetch-artifact` from a real registry API, then
// `wharf serve-model`) as local processes on their own loopback IPs; then what only this engine
// does: no request when nothing changed, retries of 409/5xx, resync after dropped or expired
// watches, CrashLoop conditions from pod status, clean-up by ownership label. After the file,
// /proc must show no pod process left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LABELS, revisionSelector, selectorString } from '../src/runtime/manifests/labels.js';
import { renderWorkload } from '../src/runtime/manifests/render.js';
import { HttpRoutePublisher } from '../src/runtime/kubernetes/http-route-publisher.js';
import { KubeClient } from '../src/runtime/kubernetes/kube-client.js';
import { runRuntimeContract } from './support/runtime-contract.js';
import type { WorkloadKey } from '../src/runtime/runtime.js';
import { parseSelector } from './support/fake-kube-store.js';
import { type SimulatedCluster, startSimulatedCluster } from './support/k8s-cluster.js';
import { killReplicaProcesses, statusWhere } from './support/runtime.js';
import { eventually } from './support/eventually.js';

const ENV = `k8s${process.pid}`;
const NS = `wharf-${ENV}`;
const PODS = '/v1/pods';
let cluster: SimulatedCluster;
process.on('exit', () => killReplicaProcesses(`${ENV}/`));

before(async () => {
  cluster = await startSimulatedCluster(ENV);
});

after(async () => {
  await cluster?.stop();
  const strays = killReplicaProcesses(`${ENV}/`);
  assert.deepEqual(strays, [], 'pod processes left behind');
});

/** Uids of the pods of `key` that the API server holds. */
function podUids(key: WorkloadKey): string[] {
  const select = parseSelector(selectorString(revisionSelector(key, 'wharf')));
  return cluster.api.store.list(PODS, NS, select).map((p) => p.metadata.uid!);
}

runRuntimeContract('kubernetes (test API server)', () => cluster.runtime(), {
  environment: ENV,
  workload: (key, replicas) => cluster.modelWorkload(key, replicas),
  endpointPath: '/v2/health/ready',
  readyTimeoutMs: 30_000,
  processes: { ids: (_r, key) => podUids(key), exists: (uid) => cluster.api.kubelet!.runningPods().includes(uid) },
});

const key = (deployment: string, revision = 1): WorkloadKey => ({ environment: ENV, deployment, revision });

describe('kubernetes runtime', () => {
  test('applying the same revision twice sends no change; server-side apply of identical objects bumps no resourceVersion', async () => {
    const r = cluster.runtime();
    const k = key('same');
    const w = cluster.modelWorkload(k, 1);
    await r.apply(w);
    const writes = cluster.api.writes().length;
    const changes = cluster.api.store.changes;
    await r.apply(w);
    await r.apply(structuredClone(w));
    assert.equal(cluster.api.writes().length, writes, 'no PATCH or DELETE for an unchanged revision');
    // Below the runtime: re-sending the same objects is a no-op for the API server too.
    const client = new KubeClient(cluster.api.kubeConfig());
    const rendered = renderWorkload(
      w,
      { registryUrl: cluster.registryUrl, port: cluster.port, preStopSeconds: 0, drainSeconds: 3 },
      NS,
    );
    const before = cluster.api.store.get('/v1/services', NS, 'same-r1')!.metadata.resourceVersion;
    const kubeletChanges = cluster.api.store.changes - changes; // pod status written meanwhile
    const base = cluster.api.store.changes;
    for (const o of [...rendered.shared, ...rendered.revision]) await client.apply(o);
    assert.equal(cluster.api.store.get('/v1/services', NS, 'same-r1')!.metadata.resourceVersion, before);
    assert.ok(
      cluster.api.store.changes - base <= kubeletChanges + 4,
      'no object Wharf applied changed (only pod status may move)',
    );
    assert.equal(cluster.api.store.get('apps/v1/deployments', NS, 'same-r1')!.metadata.generation, 1);
    // A replica count changed by hand is drift: the next apply restores it.
    cluster.api.store.apply(
      'apps/v1/deployments',
      NS,
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'same-r1' }, spec: { replicas: 2 } },
      'kubectl',
      true,
    );
    await r.apply(w);
    assert.equal(
      (cluster.api.store.get('apps/v1/deployments', NS, 'same-r1')!.spec as { replicas: number }).replicas,
      1,
    );
    await r.remove(k);
  });

  test("409 conflicts and 5xx answers are retried; a 4xx is reported with the server's message", async () => {
    const retries: string[] = [];
    const r = cluster.runtime({}, { onRetry: (what, _e, n) => retries.push(`${what}#${n}`) });
    const k = key('faults');
    cluster.api.failNext({ method: 'PATCH', status: 409, times: 2 });
    cluster.api.failNext({ method: 'PATCH', status: 503 });
    cluster.api.failNext({ method: 'GET', path: /deployments\/faults-r1$/, status: 500 });
    await r.apply(cluster.modelWorkload(k, 0));
    assert.equal(retries.length, 4, `retried: ${retries.join(', ')}`);
    assert.ok(cluster.api.requests.some((q) => q.status === 409) && cluster.api.requests.some((q) => q.status === 503));
    assert.ok(await r.observe(k), 'the workload exists after the retries');
    cluster.api.failNext({ method: 'PATCH', status: 422 });
    await assert.rejects(r.apply(cluster.modelWorkload(k, 1)), /apply .*faults.*: 422 injected fault 422/);
    await r.remove(k);
  });

  test('remove keeps waiting for the pods through dropped and expired watches', async () => {
    const dropped: number[] = [];
    // A 1 s preStop keeps the pod terminating (and the watch open) long enough to cut it a few times.
    const r = cluster.runtime({
      manifests: { registryUrl: cluster.registryUrl, port: cluster.port, preStopSeconds: 1, drainSeconds: 3 },
    });
    const k = key('drops');
    await r.apply(cluster.modelWorkload(k, 1));
    await eventually(
      statusWhere(r, k, (s) => s.readyReplicas === 1),
      { timeoutMs: 30_000, intervalMs: 50, message: '1 ready' },
    );
    // The first pod list fails (retried), then every watch is cut while the pod terminates.
    cluster.api.failNext({ method: 'GET', path: /\/pods$/, status: 500 });
    const removing = r.remove(k);
    const watchesBefore = cluster.api.requests.filter((q) => q.path.includes('watch=true')).length;
    const dropper = setInterval(() => dropped.push(cluster.api.dropWatches()), 100);
    setTimeout(() => cluster.api.store.compact(), 60);
    await removing.finally(() => clearInterval(dropper));
    assert.ok(
      dropped.some((n) => n > 0),
      'watches were cut while remove waited',
    );
    const watches = cluster.api.requests.filter((q) => q.path.includes('watch=true')).length - watchesBefore;
    assert.ok(watches >= 2, `remove watched again after a drop (${watches} watches)`);
    assert.deepEqual(podUids(k), []);
    assert.equal(await r.observe(k), undefined);
  });

  test('an artifact that cannot be fetched makes the pods crash-loop and the workload reports CrashLoop', async () => {
    const r = cluster.runtime();
    const k = key('missing');
    await r.apply(cluster.modelWorkload(k, 1, `sha256:${'0'.repeat(64)}`));
    const status = await eventually(
      statusWhere(r, k, (s) => s.conditions.some((c) => c.type === 'CrashLoop' && c.status === 'True')),
      { timeoutMs: 30_000, intervalMs: 50, message: 'CrashLoop' },
    );
    const crash = status.conditions.find((c) => c.type === 'CrashLoop')!;
    assert.equal(crash.reason, 'CrashLoopBackOff');
    assert.match(crash.message, /fetch-artifact/);
    assert.equal(status.replicas[0]!.phase, 'crashed');
    assert.equal(status.readyReplicas, 0);
    await r.remove(k);
  });

  test('list is served from a list+watch cache: no list request per call, changes arrive by watch, a cut watch resumes', async () => {
    const r = cluster.runtime();
    const other = cluster.runtime(); // another writer: its changes reach r only through the watch
    const [one, two] = [key('cached', 1), key('cached', 2)];
    const selector = { environment: ENV, deployment: 'cached' };
    const revisions = async (): Promise<number[]> =>
      (await r.list(selector)).map((s) => s.key.revision).sort((a, b) => a - b);
    /** Every-namespace lists of Deployments and Pods: what the cache sends, and only when it (re)lists. */
    const clusterLists = (): number =>
      cluster.api.requests.filter(
        (q) => /^\/(apis\/apps\/v1\/deployments|api\/v1\/pods)\?/.test(q.path) && !q.path.includes('watch=true'),
      ).length;
    const before = clusterLists();
    assert.deepEqual(await revisions(), []);
    const listed = clusterLists();
    assert.equal(listed - before, 2, 'the first list listed Deployments and Pods once');
    for (let i = 0; i < 5; i++) await r.list(selector);
    assert.equal(clusterLists(), listed, 'later lists send no list request');

    await other.apply(cluster.modelWorkload(one, 0));
    await eventually(async () => (await revisions()).length === 1, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'revision 1 in the cache',
    });
    assert.ok(cluster.api.dropWatches() >= 2, 'the cache was watching');
    await other.apply(cluster.modelWorkload(two, 0));
    assert.deepEqual(
      await eventually(
        async () => {
          const now = await revisions();
          return now.length === 2 ? now : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, message: 'revision 2 after the cut' },
      ),
      [1, 2],
    );
    await other.remove(one);
    await other.remove(two);
    await eventually(async () => (await revisions()).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'both gone from the cache',
    });
    // Its own writes are in its next list at once: the engine waited for the cache to show them.
    await r.apply(cluster.modelWorkload(one, 0));
    assert.deepEqual(await revisions(), [1]);
    await r.remove(one);
    assert.deepEqual(await revisions(), []);
  });

  test("revisions share the deployment's objects, which go with the last revision", async () => {
    const r = cluster.runtime();
    const [one, two] = [key('shared', 1), key('shared', 2)];
    await r.apply(cluster.modelWorkload(one, 0));
    await r.apply(cluster.modelWorkload(two, 0));
    const shared = (): string[] =>
      ['/v1/serviceaccounts', 'policy/v1/poddisruptionbudgets', 'networking.k8s.io/v1/networkpolicies'].filter(
        (res) => cluster.api.store.get(res, NS, 'shared') !== undefined,
      );
    assert.equal(shared().length, 3);
    assert.deepEqual(
      (await r.list())
        .filter((s) => s.key.deployment === 'shared')
        .map((s) => s.key.revision)
        .sort(),
      [1, 2],
    );
    await r.remove(one);
    assert.equal(shared().length, 3, 'revision 2 still uses them');
    await r.remove(two);
    assert.deepEqual(shared(), []);
    // Objects of another owner are never touched.
    const other = cluster.runtime({ manifests: { registryUrl: cluster.registryUrl, owner: 'other-wharf' } });
    await other.apply(cluster.modelWorkload(key('theirs'), 0));
    assert.ok(!(await r.list()).some((s) => s.key.deployment === 'theirs'));
    assert.equal(await r.observe(key('theirs')), undefined);
    await r.remove(key('theirs'));
    assert.equal(
      cluster.api.store.get('apps/v1/deployments', NS, 'theirs-r1')?.metadata.labels?.[LABELS.owner],
      'other-wharf',
    );
    await other.remove(key('theirs'));
  });

  test('HTTPRoutes follow the route table: applied once per change, deleted with their deployment', async () => {
    const client = new KubeClient(cluster.api.kubeConfig());
    const publisher = new HttpRoutePublisher(client, {
      namespaceOf: (env) => `wharf-${env}`,
      owner: 'wharf',
      parentGateway: 'mesh',
    });
    const canary = {
      environment: ENV,
      deployment: 'routed',
      targets: [
        { revision: 1, weight: 80 },
        { revision: 2, weight: 20 },
      ],
    };
    await publisher.publish([
      canary,
      { environment: ENV, deployment: 'other', targets: [{ revision: 1, weight: 100 }] },
    ]);
    const stored = cluster.api.store.get('gateway.networking.k8s.io/v1/httproutes', NS, 'routed');
    assert.deepEqual(
      (stored!.spec as { rules: { backendRefs: { weight: number }[] }[] }).rules[0]!.backendRefs.map((b) => b.weight),
      [80, 20],
    );
    const writes = cluster.api.writes().length;
    await publisher.publish([
      canary,
      { environment: ENV, deployment: 'other', targets: [{ revision: 1, weight: 100 }] },
    ]);
    assert.equal(cluster.api.writes().length, writes, 'an unchanged table sends nothing');
    await publisher.publish([{ ...canary, targets: [{ revision: 2, weight: 100 }] }]);
    assert.equal(
      cluster.api.store.get('gateway.networking.k8s.io/v1/httproutes', NS, 'other'),
      undefined,
      'the route of a deployment gone from the table is deleted',
    );
    const rules = (
      cluster.api.store.get('gateway.networking.k8s.io/v1/httproutes', NS, 'routed')!.spec as {
        rules: { backendRefs: { name: string }[] }[];
      }
    ).rules;
    assert.deepEqual(
      rules[0]!.backendRefs.map((b) => b.name),
      ['routed-r2'],
    );
    await publisher.publish([]);
  });
});
