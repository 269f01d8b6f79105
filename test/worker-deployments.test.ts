// Worker deployments end to end (issue 15): a worker from a pushed bundle pops a Redis list with
// the reliable-queue pattern (LMOVE to a processing list of its own, result and LREM in one
// MULTI, and on SIGTERM it finishes the task at hand, then exits). Rolled to a new revision while
// tasks are in flight, every task is done exactly once: the test counts the results.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { packBundle } from '../src/cli/app-bundle.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { eventually } from './support/eventually.js';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
const QUEUE = `wharf-test-tasks-${process.pid}`;
let e2e: E2eControlPlane | undefined;
let redis: Redis | undefined;
let scratch: string;
let skip: string | undefined;

before(async () => {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await client.connect();
    await client.ping();
    redis = client;
  } catch (err) {
    client.disconnect();
    skip = `Redis at ${REDIS_URL} is not reachable: ${(err as Error).message}`;
    if (process.env.CI === 'true') throw new Error(skip, { cause: err });
    return;
  }
  e2e = await startE2eControlPlane('wharf-workers-', {});
  scratch = await mkdtemp(join(tmpdir(), 'wharf-workers-src-'));
});
after(async () => {
  if (redis !== undefined) {
    const keys = await redis.keys(`${QUEUE}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  await e2e?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

const WORKER = `
const Redis = require(process.env.IOREDIS);
const r = new Redis(process.env.REDIS_URL);
const queue = process.env.QUEUE;
const processing = queue + ':processing:' + process.env.WHARF_REPLICA;
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
async function finish(task) {
  await sleep(Number(process.env.TASK_MS));
  await r.multi().rpush(queue + ':done', task + ' ' + process.env.TAG).lrem(processing, 1, task).exec();
}
(async () => {
  // A task a killed predecessor of this replica left in its processing list is finished first.
  for (const task of await r.lrange(processing, 0, -1)) await finish(task);
  while (!stopping) {
    const task = await r.lmove(queue, processing, 'RIGHT', 'LEFT');
    if (task === null) { await sleep(20); continue; }
    await finish(task);
  }
  await r.quit();
  process.exit(0);
})();
`;

test('a worker rolled to a new revision while tasks are in flight does every task exactly once', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const api = e2e!.api;
  const dir = join(scratch, 'worker');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'worker.js'), WORKER);
  const tarball = join(scratch, 'worker.tar.gz');
  await packBundle(dir, tarball);
  const pushed = await fetch(`${e2e!.cp.apiUrl}/api/v1/bundles/counter/versions?version=1.0.0`, {
    method: 'POST',
    body: await readFile(tarball),
    headers: { authorization: `Bearer ${e2e!.aliceToken}`, 'content-type': 'application/octet-stream' },
  });
  assert.equal(pushed.status, 201, await pushed.text());
  const env = (tag: string) => [
    { name: 'IOREDIS', value: createRequire(import.meta.url).resolve('ioredis') },
    { name: 'REDIS_URL', value: REDIS_URL },
    { name: 'QUEUE', value: QUEUE },
    { name: 'TASK_MS', value: '150' },
    { name: 'TAG', value: tag },
  ];
  const created = await api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'counter',
      environment: 'staging',
      type: 'worker',
      bundle: { name: 'counter', version: '1.0.0' },
      configuration: {
        command: [process.execPath, 'worker.js'],
        replicas: 2,
        terminationGracePeriod: 10,
        env: env('v1'),
      },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await e2e!.settled('staging', 'counter', (d) => d.status.readyReplicas === 2, 'two ready workers');
  const tasks = Array.from({ length: 60 }, (_, i) => `task-${i}`);
  await redis!.lpush(QUEUE, ...tasks);
  await eventually(async () => (await redis!.llen(`${QUEUE}:done`)) >= 4, {
    timeoutMs: 10_000,
    message: 'work under way',
  });

  const rolled = await api('/api/v1/environments/staging/deployments/counter', {
    method: 'PATCH',
    json: { configuration: { env: env('v2') } },
  });
  assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
  await eventually(async () => (await redis!.llen(`${QUEUE}:done`)) >= tasks.length, {
    timeoutMs: 60_000,
    message: 'every task done',
  });
  await e2e!.settled(
    'staging',
    'counter',
    (d) => d.status.observedRevision === 2 && d.status.phase === 'running',
    'revision 2 running',
  );
  const done = await redis!.lrange(`${QUEUE}:done`, 0, -1);
  const counts = new Map<string, number>();
  for (const line of done) counts.set(line.split(' ')[0]!, (counts.get(line.split(' ')[0]!) ?? 0) + 1);
  assert.deepEqual(
    tasks.filter((task) => counts.get(task) !== 1),
    [],
    `every task exactly once (${done.length} results)`,
  );
  assert.equal(done.length, tasks.length, 'no task done twice');
  assert.ok(done.some((l) => l.endsWith(' v1')) && done.some((l) => l.endsWith(' v2')), 'both revisions worked');
  const leftovers = await redis!.keys(`${QUEUE}:processing:*`);
  for (const key of leftovers) assert.equal(await redis!.llen(key), 0, `${key} is empty`);
  assert.equal(await redis!.llen(QUEUE), 0);
});
