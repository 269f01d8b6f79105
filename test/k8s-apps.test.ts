// Applications and workers on the Kubernetes runtime (issue 15), against the test API server whose
// kubelet runs each pod's real commands as local processes: the init container is the real
// `wharf fetch-artifact --unpack`, downloading a bundle from a real registry API by digest; the
// application then runs inside the unpacked bundle with `$(PORT)` expanded and is observed ready
// at its endpoint; a worker is observed ready from pod status with no endpoint, is restarted when
// its health command fails, and finishes its task after SIGTERM when removed. After the file,
// /proc must show no pod process left.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { c as createTar } from 'tar';
import { HttpRoutePublisher } from '../src/runtime/kubernetes/http-route-publisher.js';
import { KubeClient } from '../src/runtime/kubernetes/kube-client.js';
import type { Workload, WorkloadKey } from '../src/runtime/runtime.js';
import { type SimulatedCluster, startSimulatedCluster } from './support/k8s-cluster.js';
import { FAST_PROBE, killReplicaProcesses, statusWhere } from './support/runtime.js';
import { eventually } from './support/eventually.js';

const ENV = `k8sapp${process.pid}`;
const NS = `wharf-${ENV}`;
let cluster: SimulatedCluster;
let dir = '';
let bundleDigest = '';
process.on('exit', () => killReplicaProcesses(`${ENV}/`));

/** An HTTP server that says where and how it runs; listens on --host/--port. */
const SERVER = `
const http = require('node:http');
const arg = (n) => process.argv[process.argv.indexOf(n) + 1];
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ path: req.url, cwd: process.cwd(), port: arg('--port'), envPort: process.env.PORT, version: require('./version.json').v }));
}).listen(Number(arg('--port')), arg('--host'));
process.on('SIGTERM', () => process.exit(0));
`;

/** A worker: "works" until SIGTERM, then takes 1 s to finish its task and records that it did. */
const WORKER = `
const fs = require('node:fs');
console.log('worker ' + process.pid + ' started');
const busy = setInterval(() => undefined, 1000);
process.on('SIGTERM', () => {
  console.log('worker ' + process.pid + ' finishing its task');
  setTimeout(() => { fs.appendFileSync(process.env.RESULT_FILE, 'finished ' + process.pid + '\\n'); clearInterval(busy); process.exit(0); }, 1000);
});
`;

before(async () => {
  cluster = await startSimulatedCluster(ENV);
  dir = await mkdtemp(join(tmpdir(), 'wharf-k8s-apps-'));
  const src = join(dir, 'bundle');
  await mkdir(join(src, 'srv'), { recursive: true });
  await writeFile(join(src, 'srv', 'server.js'), SERVER);
  await writeFile(join(src, 'srv', 'version.json'), JSON.stringify({ v: '1.2.0' }));
  await writeFile(join(src, 'worker.js'), WORKER);
  await createTar({ gzip: true, cwd: src, file: join(dir, 'bundle.tar.gz') }, ['.']);
  bundleDigest = await cluster.putBlob(join(dir, 'bundle.tar.gz'));
});

after(async () => {
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(killReplicaProcesses(`${ENV}/`), [], 'pod processes left behind');
});

const key = (deployment: string, revision = 1): WorkloadKey => ({ environment: ENV, deployment, revision });

function application(k: WorkloadKey, digest = bundleDigest): Workload {
  return {
    key: k,
    replicas: 1,
    bundle: { artifactPath: 'unused-on-kubernetes', digest },
    command: { argv: ['node', 'server.js', '--host', '0.0.0.0', '--port', '$(PORT)'], workingDir: 'srv' },
    port: cluster.port,
    readiness: { ...FAST_PROBE, intervalMs: 1_000, path: '/ready' },
    liveness: { ...FAST_PROBE, intervalMs: 1_000, path: '/live' },
  };
}

test('an application from a bundle: fetched by digest, unpacked, run in its working directory with $(PORT) expanded, observed ready at its endpoint', async () => {
  const r = cluster.runtime();
  const k = key('features');
  await r.apply(application(k));
  assert.ok(cluster.api.store.get('/v1/services', NS, 'features-r1'), 'an application has a Service');
  const status = await eventually(
    statusWhere(r, k, (s) => s.readyReplicas === 1 && s.replicas[0]?.endpoint !== undefined),
    { timeoutMs: 30_000, intervalMs: 50, message: 'the application is ready' },
  );
  const endpoint = status.replicas[0]!.endpoint!;
  assert.match(endpoint, new RegExp(`^http://127\\.77\\.\\d+\\.\\d+:${cluster.port}$`));
  const answer = (await (await fetch(`${endpoint}/anything`)).json()) as Record<string, string>;
  assert.equal(answer.version, '1.2.0', "the bundle's own files are there");
  assert.match(answer.cwd!, /\/bundle\/srv$/, 'the working directory is inside the unpacked bundle');
  assert.equal(answer.port, String(cluster.port), '$(PORT) in the arguments became the port');
  assert.equal(answer.envPort, String(cluster.port));
  await r.remove(k);
  assert.equal(await r.observe(k), undefined);
});

test('a bundle that is not a tarball never runs: the init container fails and the workload reports CrashLoop', async () => {
  const notTar = join(dir, 'not-a-tarball.tar.gz');
  await writeFile(notTar, 'just some text, not an archive\n');
  const r = cluster.runtime();
  const k = key('broken');
  await r.apply(application(k, await cluster.putBlob(notTar)));
  const status = await eventually(
    statusWhere(r, k, (s) => s.conditions.some((c) => c.type === 'CrashLoop' && c.status === 'True')),
    { timeoutMs: 30_000, intervalMs: 50, message: 'CrashLoop' },
  );
  assert.match(status.conditions.find((c) => c.type === 'CrashLoop')!.message, /fetch-bundle/);
  assert.equal(status.readyReplicas, 0);
  const pod = status.replicas[0]!.id;
  const log = await fetch(`${cluster.api.url}/api/v1/namespaces/${NS}/pods/${pod}/log?container=fetch-bundle`, {
    headers: { authorization: 'Bearer test-token' },
  });
  const text = await log.text();
  assert.match(text, /is not a tar archive/, 'the init container said why');
  await r.remove(k);
});

test('a worker: no Service and no endpoint, ready from pod status, restarted when its health command fails, finishes its task on removal', async () => {
  const resultFile = join(dir, 'results.txt');
  const sickFile = join(dir, 'sick');
  const r = cluster.runtime();
  const k = key('extractor');
  await r.apply({
    key: k,
    replicas: 1,
    serves: 'none',
    bundle: { artifactPath: 'unused-on-kubernetes', digest: bundleDigest },
    command: { argv: ['node', 'worker.js'] },
    healthCommand: { argv: ['node', '-e', 'process.exit(require("fs").existsSync(process.env.SICK_FILE) ? 1 : 0)'] },
    env: { RESULT_FILE: resultFile, SICK_FILE: sickFile },
    terminationGracePeriodMs: 5_000,
    readiness: { ...FAST_PROBE, intervalMs: 1_000 },
    liveness: { ...FAST_PROBE, intervalMs: 1_000, retries: 2 },
  });
  assert.equal(cluster.api.store.get('/v1/services', NS, 'extractor-r1'), undefined, 'a worker has no Service');
  const ready = await eventually(
    statusWhere(r, k, (s) => s.readyReplicas === 1),
    { timeoutMs: 30_000, intervalMs: 50, message: 'the worker is ready' },
  );
  assert.equal(ready.replicas[0]!.endpoint, undefined, 'a worker has no endpoint');
  assert.equal(ready.replicas[0]!.phase, 'ready');
  assert.equal(ready.replicas[0]!.restarts, 0);
  const listed = (await r.list({ environment: ENV, deployment: 'extractor' }))[0]!;
  assert.equal(listed.replicas[0]!.endpoint, undefined, 'nor in list');

  // The health command fails: the exec liveness probe restarts the worker (which finishes its task first).
  await writeFile(sickFile, '');
  await eventually(
    statusWhere(r, k, (s) => (s.replicas[0]?.restarts ?? 0) >= 1),
    { timeoutMs: 30_000, intervalMs: 50, message: 'restarted by its liveness probe' },
  );
  await rm(sickFile);
  await eventually(
    statusWhere(r, k, (s) => s.readyReplicas === 1),
    { timeoutMs: 30_000, intervalMs: 50, message: 'ready again once healthy' },
  );
  // Ready means running (no readiness probe): wait until the new process has set up its SIGTERM
  // handler (its first log line) before asking it to stop.
  await eventually(
    async () => {
      const started: string[] = [];
      for await (const line of r.logs(k)) if (/ started$/.test(line.text)) started.push(line.text);
      assert.equal(started.length, 2, `started lines: ${started.join(', ')}`);
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 50, message: 'the restarted worker is running' },
  );
  const before = (await readFile(resultFile, 'utf8')).trim().split('\n');
  assert.equal(before.length, 1, 'the restarted worker finished its task after SIGTERM');

  // Removal: SIGTERM, and the grace period (5 s) lets the 1 s task finish before remove returns.
  await r.remove(k);
  const after = (await readFile(resultFile, 'utf8')).trim().split('\n');
  assert.equal(after.length, 2, `the removed worker finished its task: ${after.join(', ')}`);
  assert.equal(await r.observe(k), undefined);
  assert.ok(!existsSync(sickFile));
});

test('the HTTPRoute publisher gives an application X-Forwarded-Prefix and ignores workers', async () => {
  const publisher = new HttpRoutePublisher(new KubeClient(cluster.api.kubeConfig()), {
    namespaceOf: (env) => `wharf-${env}`,
    owner: 'wharf',
    parentGateway: 'mesh',
  });
  await publisher.publish([
    { environment: ENV, deployment: 'web', kind: 'application', targets: [{ revision: 1, weight: 100 }] },
    { environment: ENV, deployment: 'queue-worker', kind: 'worker', targets: [{ revision: 1, weight: 100 }] },
  ]);
  const routes = 'gateway.networking.k8s.io/v1/httproutes';
  assert.equal(cluster.api.store.get(routes, NS, 'queue-worker'), undefined, 'no HTTPRoute for a worker');
  const web = cluster.api.store.get(routes, NS, 'web')!.spec as { rules: { filters: unknown[] }[] };
  assert.deepEqual(web.rules[0]!.filters[1], {
    type: 'RequestHeaderModifier',
    requestHeaderModifier: { set: [{ name: 'X-Forwarded-Prefix', value: `/${ENV}/web` }] },
  });
  await publisher.publish([]);
});
