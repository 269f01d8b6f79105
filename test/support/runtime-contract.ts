/**
 * The contract every {@link Runtime} engine must pass, as a reusable node:test suite: one engine's
 * test file calls {@link runRuntimeContract} with a factory and fixtures, the way Kysely runs one
 * suite over every dialect. Engine-specific behaviour (crash loops, adoption, log rotation) is
 * tested beside it in the engine's own file.
 *
 * @example
 *   runRuntimeContract('local', () => new LocalRuntime({ stateDir }), {
 *     workload: (key, replicas) => ({ key, replicas, model: { ... }, readiness, liveness }),
 *   });
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { ManagedRuntime } from '../../src/runtime/runtime-lifecycle.js';
import type { Runtime, Workload, WorkloadKey, WorkloadStatus } from '../../src/runtime/runtime.js';
import { eventually } from './eventually.js';

/** What the suite needs from the engine under test. */
export interface RuntimeContractFixtures<R extends Runtime = Runtime> {
  /** A workload with `replicas` replicas that answer HTTP once ready, for the given (unique) key. */
  workload(key: WorkloadKey, replicas: number): Workload;
  /** The environment used in every key (default 'contract'). */
  readonly environment?: string;
  /** How long replicas may take to become ready (default 20 s). */
  readonly readyTimeoutMs?: number;
  /**
   * Path a ready replica answers with 2xx at its endpoint (default: the workload's readiness path;
   * set it when the workloads leave that path to an engine default).
   */
  readonly endpointPath?: string;
  /**
   * Engine-level view of the processes (pids, pod UIDs) behind a workload, so the suite can check
   * that remove and scale-down leave nothing running. Optional: without it those checks only use
   * what observe() and the endpoints show.
   */
  readonly processes?: {
    ids(runtime: R, key: WorkloadKey): readonly string[] | Promise<readonly string[]>;
    exists(id: string): boolean | Promise<boolean>;
  };
}

/** Registers the contract tests for one engine under `describe(\`Runtime contract: ${name}\`)`. */
export function runRuntimeContract<R extends Runtime>(
  name: string,
  makeRuntime: () => R | Promise<R>,
  fixtures: RuntimeContractFixtures<R>,
): void {
  const readyTimeoutMs = fixtures.readyTimeoutMs ?? 20_000;
  let runtime: R;
  let counter = 0;
  const nextKey = (): WorkloadKey => ({
    environment: fixtures.environment ?? 'contract',
    deployment: `contract-${++counter}`,
    revision: 1,
  });

  /** Runs `body` with a fresh key and removes the workload afterwards, whatever happened. */
  async function withWorkload(body: (key: WorkloadKey) => Promise<void>): Promise<void> {
    const key = nextKey();
    try {
      await body(key);
    } finally {
      await runtime.remove(key);
    }
  }

  async function untilReady(key: WorkloadKey, replicas: number): Promise<WorkloadStatus> {
    return eventually(
      async () => {
        const s = await runtime.observe(key);
        return s && s.readyReplicas === replicas && s.replicas.length === replicas ? s : undefined;
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 20, message: `${replicas} ready replica(s) of ${key.deployment}` },
    );
  }

  async function endpointAnswers(workload: Workload, endpoint: string | undefined): Promise<void> {
    assert.ok(endpoint, 'a ready replica has an endpoint');
    const res = await fetch(endpoint + (fixtures.endpointPath ?? workload.readiness.path), {
      signal: AbortSignal.timeout(5_000),
    });
    await res.arrayBuffer();
    assert.ok(res.ok, `GET ${endpoint} answered ${res.status}`);
  }

  async function assertGone(ids: readonly string[]): Promise<void> {
    if (!fixtures.processes) return;
    for (const id of ids) {
      await eventually(async () => !(await fixtures.processes!.exists(id)) || undefined, {
        timeoutMs: 10_000,
        intervalMs: 20,
        message: `process ${id} to be gone`,
      });
    }
  }

  describe(`Runtime contract: ${name}`, () => {
    before(async () => {
      runtime = await makeRuntime();
    });
    after(async () => {
      await runtime?.close();
    });

    // First, while nothing has started the engine yet.
    test('init: concurrent first calls share one start and all succeed', async () => {
      if (runtime instanceof ManagedRuntime) assert.equal(runtime.init(), runtime.init(), 'one init, shared');
      const key = nextKey();
      const [listed, observed] = await Promise.all([runtime.list(), runtime.observe(key), runtime.list()]);
      assert.ok(Array.isArray(listed));
      assert.equal(observed, undefined);
    });

    test('list(selector) returns exactly the selected workloads', async () => {
      const env = fixtures.environment ?? 'contract';
      const [a1, a2, b] = [nextKey(), nextKey(), nextKey()];
      const a2next = { ...a2, revision: 2 };
      const keys = [a1, a2, a2next, b];
      try {
        for (const k of keys) await runtime.apply(fixtures.workload(k, 0));
        const names = (list: WorkloadStatus[]): string[] =>
          list
            .filter((s) => keys.some((k) => k.deployment === s.key.deployment))
            .map((s) => `${s.key.deployment}@${s.key.revision}`)
            .sort();
        const all = [a1, a2, a2next, b].map((k) => `${k.deployment}@${k.revision}`).sort();
        assert.deepEqual(names(await runtime.list()), all, 'no selector: every workload');
        assert.deepEqual(names(await runtime.list({})), all, 'an empty selector: every workload');
        assert.deepEqual(names(await runtime.list({ environment: env })), all, 'by environment');
        assert.deepEqual(
          names(await runtime.list({ environment: env, deployment: a2.deployment })),
          [`${a2.deployment}@1`, `${a2.deployment}@2`],
          'by environment and deployment: every revision of it',
        );
        assert.deepEqual(names(await runtime.list({ deployment: a1.deployment })), [`${a1.deployment}@1`]);
        assert.deepEqual(await runtime.list({ environment: `${env}-none` }), [], 'another environment: none');
        assert.deepEqual(
          await runtime.list({ environment: env, deployment: `${a1.deployment}-none` }),
          [],
          'an unknown deployment: none',
        );
      } finally {
        for (const k of keys) await runtime.remove(k);
      }
      assert.deepEqual(await runtime.list({ environment: env, deployment: a2.deployment }), [], 'after remove');
    });

    test('apply: the desired replicas become ready and their endpoints answer', () =>
      withWorkload(async (key) => {
        const workload = fixtures.workload(key, 2);
        await runtime.apply(workload);
        const status = await untilReady(key, 2);
        assert.deepEqual(status.key, key);
        assert.equal(status.desiredReplicas, 2);
        assert.equal(new Set(status.replicas.map((r) => r.id)).size, 2, 'replica ids are unique');
        for (const replica of status.replicas) await endpointAnswers(workload, replica.endpoint);
        assert.ok(
          (await runtime.list()).some((s) => s.key.deployment === key.deployment),
          'list() includes the workload',
        );
      }));

    test('apply is idempotent: the same workload again changes nothing', () =>
      withWorkload(async (key) => {
        const workload = fixtures.workload(key, 2);
        await runtime.apply(workload);
        const before = await untilReady(key, 2);
        const processesBefore = [...((await fixtures.processes?.ids(runtime, key)) ?? [])].sort();
        await runtime.apply(workload);
        await runtime.apply({ ...workload });
        const after = await runtime.observe(key);
        assert.ok(after);
        const shape = (s: WorkloadStatus): unknown =>
          s.replicas.map((r) => ({ id: r.id, restarts: r.restarts, startedAt: r.startedAt, endpoint: r.endpoint }));
        assert.deepEqual(shape(after), shape(before));
        assert.deepEqual(
          [...((await fixtures.processes?.ids(runtime, key)) ?? [])].sort(),
          processesBefore,
          'the same processes',
        );
        assert.equal((await untilReady(key, 2)).replicas.length, 2);
      }));

    test('scale up adds replicas and keeps the running ones', () =>
      withWorkload(async (key) => {
        await runtime.apply(fixtures.workload(key, 1));
        const [first] = (await untilReady(key, 1)).replicas;
        await runtime.apply(fixtures.workload(key, 3));
        const scaled = await untilReady(key, 3);
        const kept = scaled.replicas.find((r) => r.id === first!.id);
        assert.ok(kept, 'the first replica is still there');
        assert.equal(kept.startedAt, first!.startedAt, 'and was not restarted');
        assert.equal(scaled.desiredReplicas, 3);
      }));

    // `wharf deploy autoscale` on a running deployment changes only the bounds: the same key takes
    // them and no replica is replaced. (How many run then is the autoscaler's business: the local
    // engine keeps `replicas`, Kubernetes hands the count to the HPA.)
    test('autoscaling bounds change in place: the key takes them and its replicas are not replaced', () =>
      withWorkload(async (key) => {
        await runtime.apply(fixtures.workload(key, 2));
        const before = await untilReady(key, 2);
        await runtime.apply({
          ...fixtures.workload(key, 2),
          scaling: { min: 1, max: 4, targetCPU: 80, targetMemory: 80 },
        });
        await runtime.apply({
          ...fixtures.workload(key, 2),
          scaling: { min: 1, max: 6, targetCPU: 70, targetMemory: 80 },
        });
        const original = new Map(before.replicas.map((r) => [r.id, r.startedAt]));
        const after = await eventually(
          async () => {
            const s = await runtime.observe(key);
            return s !== undefined && s.readyReplicas >= 1 ? s : undefined;
          },
          { timeoutMs: readyTimeoutMs, intervalMs: 20, message: 'a ready replica after the change' },
        );
        for (const r of after.replicas) {
          assert.ok(original.has(r.id), `replica ${r.id} is one of the running ones, not a replacement`);
          assert.equal(r.startedAt, original.get(r.id), `replica ${r.id} was not restarted`);
        }
      }));

    test('scale down stops the surplus replicas and keeps the rest ready', () =>
      withWorkload(async (key) => {
        await runtime.apply(fixtures.workload(key, 3));
        const three = await untilReady(key, 3);
        const beforeIds = (await fixtures.processes?.ids(runtime, key)) ?? [];
        await runtime.apply(fixtures.workload(key, 1));
        const one = await untilReady(key, 1);
        assert.ok(
          three.replicas.some((r) => r.id === one.replicas[0]!.id),
          'the survivor is one of the original replicas',
        );
        const afterIds = (await fixtures.processes?.ids(runtime, key)) ?? [];
        assert.equal(afterIds.length, fixtures.processes ? 1 : 0);
        await assertGone(beforeIds.filter((id) => !afterIds.includes(id)));
      }));

    test('remove stops everything and forgets the workload', async () => {
      const key = nextKey();
      const workload = fixtures.workload(key, 2);
      await runtime.apply(workload);
      const status = await untilReady(key, 2);
      const ids = (await fixtures.processes?.ids(runtime, key)) ?? [];
      await runtime.remove(key);
      assert.equal(await runtime.observe(key), undefined, 'observe() after remove');
      assert.ok(!(await runtime.list()).some((s) => s.key.deployment === key.deployment), 'list() after remove');
      await assertGone(ids);
      for (const replica of status.replicas) {
        await assert.rejects(
          endpointAnswers(workload, replica.endpoint),
          `endpoint ${replica.endpoint} no longer answers`,
        );
      }
      await runtime.remove(key); // removing twice is fine
    });

    test("logs returns the replicas' output lines", () =>
      withWorkload(async (key) => {
        await runtime.apply(fixtures.workload(key, 2));
        const status = await untilReady(key, 2);
        const ids = status.replicas.map((r) => r.id);
        const lines = await eventually(
          async () => {
            const all = await collect(runtime.logs(key));
            return all.length > 0 ? all : undefined;
          },
          { timeoutMs: 5_000, intervalMs: 20, message: 'log lines' },
        );
        for (const line of lines) {
          assert.ok(ids.includes(line.replica), `line of a known replica: ${line.replica}`);
          assert.ok(line.stream === 'stdout' || line.stream === 'stderr');
          assert.ok(!Number.isNaN(Date.parse(line.time)), `time is a date: ${line.time}`);
          assert.equal(typeof line.text, 'string');
        }
        const own = await collect(runtime.logs(key, { replica: ids[0] }));
        assert.ok(
          own.every((l) => l.replica === ids[0]),
          'replica filter',
        );
        assert.ok((await collect(runtime.logs(key, { tail: 1 }))).length <= lines.length);
        if (runtime.capabilities.followLogs) {
          const controller = new AbortController();
          const followed: string[] = [];
          let ended = false;
          const done = (async () => {
            for await (const line of runtime.logs(key, { follow: true, signal: controller.signal })) {
              followed.push(line.text);
              controller.abort();
            }
          })().finally(() => (ended = true));
          await eventually(() => followed.length > 0 || undefined, {
            timeoutMs: 5_000,
            intervalMs: 20,
            message: 'a followed line',
          });
          await eventually(() => ended || undefined, {
            timeoutMs: 5_000,
            intervalMs: 20,
            message: 'follow to end after abort',
          });
          await done;
        }
      }));

    test('observe of an unknown key is undefined; list omits it', async () => {
      const key = nextKey();
      assert.equal(await runtime.observe(key), undefined);
      assert.ok(!(await runtime.list()).some((s) => s.key.deployment === key.deployment));
      await runtime.remove(key); // removing what does not exist is not an error
    });

    test('usage (capability): one plausible sample per running replica; [] for an unknown key', (t) =>
      withWorkload(async (key) => {
        if (!runtime.capabilities.usage || !runtime.usage) return t.skip(`${name} has no usage capability`);
        await runtime.apply(fixtures.workload(key, 2));
        const ids = (await untilReady(key, 2)).replicas.map((r) => r.id).sort();
        const samples = await eventually(
          async () => {
            const usage = await runtime.usage!(key);
            return usage.length === 2 ? usage : undefined;
          },
          { timeoutMs: readyTimeoutMs, intervalMs: 20, message: 'a usage sample of both replicas' },
        );
        assert.deepEqual(samples.map((u) => u.replica).sort(), ids);
        for (const u of samples) {
          assert.ok(u.memoryBytes > 0, `memory of ${u.replica}: ${u.memoryBytes}`);
          assert.ok(Number.isFinite(u.cpuCores) && u.cpuCores >= 0, `cpu of ${u.replica}: ${u.cpuCores}`);
          assert.ok(Number.isFinite(u.time) && u.time > 0);
        }
        assert.deepEqual(await runtime.usage(nextKey()), []);
      }));

    test('onChange (capability): listeners hear about replicas of the key until they unsubscribe', (t) =>
      withWorkload(async (key) => {
        if (!runtime.capabilities.changeNotifications || !runtime.onChange)
          return t.skip(`${name} has no changeNotifications capability`);
        const heard: WorkloadKey[] = [];
        const off = runtime.onChange((k) => heard.push(k));
        try {
          await runtime.apply(fixtures.workload(key, 1));
          await untilReady(key, 1);
          await eventually(() => (heard.some((k) => k.deployment === key.deployment) ? true : undefined), {
            timeoutMs: 5_000,
            intervalMs: 20,
            message: 'a change notification',
          });
          assert.ok(
            heard
              .filter((k) => k.deployment === key.deployment)
              .every((k) => k.environment === key.environment && k.revision === key.revision),
          );
        } finally {
          off();
        }
        const count = heard.length;
        // A listener still subscribed is the witness: once it has heard the scale-down, the
        // unsubscribed one had its chance to hear it too.
        const witnessed: WorkloadKey[] = [];
        const offWitness = runtime.onChange((k) => witnessed.push(k));
        try {
          await runtime.apply(fixtures.workload(key, 0));
          await eventually(async () => (await runtime.observe(key))?.replicas.length === 0, {
            timeoutMs: readyTimeoutMs,
            intervalMs: 20,
            message: 'the replica to be gone',
          });
          await eventually(() => witnessed.some((k) => k.deployment === key.deployment), {
            timeoutMs: 5_000,
            intervalMs: 20,
            message: 'a listener still subscribed to hear the scale-down',
          });
        } finally {
          offWitness();
        }
        assert.equal(heard.length, count, 'no calls after unsubscribing');
      }));

    test('zero replicas: the workload is known and nothing runs', () =>
      withWorkload(async (key) => {
        await runtime.apply(fixtures.workload(key, 0));
        const status = await runtime.observe(key);
        assert.ok(status);
        assert.equal(status.desiredReplicas, 0);
        assert.equal(status.replicas.length, 0);
        assert.equal((await fixtures.processes?.ids(runtime, key))?.length ?? 0, 0);
      }));

    test('close: later calls reject with UNAVAILABLE "the <name> runtime is closed"; closing again is fine', async () => {
      // Last: closes the suite's runtime (the after hook closes it once more).
      await runtime.close();
      const closed = (error: unknown): boolean => {
        assert.ok(hasErrorCode(error, 'UNAVAILABLE'), `UNAVAILABLE, got ${String(error)}`);
        assert.equal((error as Error).message, `the ${runtime.name} runtime is closed`);
        return true;
      };
      const key = nextKey();
      await assert.rejects(runtime.apply(fixtures.workload(key, 1)), closed);
      await assert.rejects(runtime.observe(key), closed);
      await assert.rejects(runtime.list({ environment: key.environment }), closed);
      await assert.rejects(runtime.remove(key), closed);
      await assert.rejects(collect(runtime.logs(key)), closed);
      await Promise.all([runtime.close(), runtime.close()]);
    });
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
