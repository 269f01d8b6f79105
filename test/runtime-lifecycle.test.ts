/**
 * The lifecycle wrapper (`src/runtime/runtime-lifecycle.ts`) over a recording engine: init runs
 * once and is shared, a failed init is tried again, calls after close reject with UNAVAILABLE,
 * close runs the engine's once, optional methods and unsupported workload fields are
 * NOT_SUPPORTED; and the pure capability helpers (`unhonouredFields`, `runtime-capability.ts`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ErrorCode, hasErrorCode } from '../src/core/errors.js';
import { runtimeCapable, runtimeRefusal } from '../src/controller/reconcilers/runtime-capability.js';
import { ManagedRuntime, type RuntimeEngine } from '../src/runtime/runtime-lifecycle.js';
import { RuntimeRouter } from '../src/runtime/runtime-router.js';
import {
  type LogLine,
  type RuntimeCapabilities,
  unhonouredFields,
  type Workload,
  type WorkloadStatus,
} from '../src/runtime/runtime.js';

const PROBE = { path: '/ready', intervalMs: 1_000, timeoutMs: 1_000, retries: 3, startupGraceMs: 0 };
const workload = (extra: Partial<Workload> = {}): Workload => ({
  key: { environment: 'e', deployment: 'd', revision: 1 },
  replicas: 1,
  command: { argv: ['server'] },
  readiness: PROBE,
  liveness: PROBE,
  ...extra,
});

const CAPS: RuntimeCapabilities = {
  logs: false,
  followLogs: false,
  resourceLimits: false,
  gpu: false,
  usage: false,
  changeNotifications: false,
  unsupportedFields: { image: 'no containers here' },
};

/** An engine that records its calls; `init` fails while `failInit` is set. */
class RecordingEngine implements RuntimeEngine {
  readonly name: string = 'recording';
  readonly capabilities = CAPS;
  readonly calls: string[] = [];
  failInit = false;
  async init(): Promise<void> {
    this.calls.push('init');
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failInit) throw new Error('state directory in use');
  }
  apply(): Promise<void> {
    this.calls.push('apply');
    return Promise.resolve();
  }
  observe(): Promise<WorkloadStatus | undefined> {
    this.calls.push('observe');
    return Promise.resolve(undefined);
  }
  list(): Promise<WorkloadStatus[]> {
    this.calls.push('list');
    return Promise.resolve([]);
  }
  remove(): Promise<void> {
    this.calls.push('remove');
    return Promise.resolve();
  }
  // eslint-disable-next-line require-yield
  async *logs(): AsyncIterable<LogLine> {
    this.calls.push('logs');
  }
  async close(): Promise<void> {
    this.calls.push('close');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const code = (expected: ErrorCode, message?: RegExp | string) => (error: unknown) => {
  assert.ok(hasErrorCode(error, expected), `${expected}, got ${String(error)}`);
  if (typeof message === 'string') assert.equal((error as Error).message, message);
  else if (message) assert.match((error as Error).message, message);
  return true;
};

test('init runs once, shared by concurrent first calls, before any other call', async () => {
  const engine = new RecordingEngine();
  const runtime = new ManagedRuntime(engine);
  await Promise.all([runtime.list(), runtime.observe(workload().key), runtime.init(), runtime.list()]);
  assert.equal(engine.calls.filter((c) => c === 'init').length, 1);
  assert.equal(engine.calls[0], 'init');
});

test('a failed init is tried again by the next call', async () => {
  const engine = new RecordingEngine();
  const runtime = new ManagedRuntime(engine);
  engine.failInit = true;
  await assert.rejects(runtime.list(), /state directory in use/);
  engine.failInit = false;
  assert.deepEqual(await runtime.list(), []);
  assert.deepEqual(engine.calls, ['init', 'init', 'list']);
});

test('after close every call rejects with UNAVAILABLE "the <name> runtime is closed"; the engine closes once', async () => {
  const engine = new RecordingEngine();
  const runtime = new ManagedRuntime(engine);
  await runtime.list();
  await Promise.all([runtime.close(), runtime.close()]);
  await runtime.close();
  const closed = code('UNAVAILABLE', 'the recording runtime is closed');
  await assert.rejects(runtime.list(), closed);
  await assert.rejects(runtime.apply(workload()), closed);
  await assert.rejects(runtime.observe(workload().key), closed);
  await assert.rejects(runtime.remove(workload().key), closed);
  await assert.rejects(runtime.init(), closed);
  assert.deepEqual(engine.calls, ['init', 'list', 'close']);
});

test('a call waiting for init when close begins is refused; a never-started engine is not closed', async () => {
  const engine = new RecordingEngine();
  const runtime = new ManagedRuntime(engine);
  const listing = runtime.list();
  const closing = runtime.close();
  await assert.rejects(listing, code('UNAVAILABLE'));
  await closing;
  assert.deepEqual(engine.calls, ['init', 'close']);
  const idle = new RecordingEngine();
  await new ManagedRuntime(idle).close();
  assert.deepEqual(idle.calls, []);
});

test('NOT_SUPPORTED: usage, onChange and logs without the capability; a workload field the engine cannot honour', async () => {
  const engine = new RecordingEngine();
  const runtime = new ManagedRuntime(engine);
  await assert.rejects(
    runtime.usage(workload().key),
    code('NOT_SUPPORTED', /recording runtime does not support usage/),
  );
  assert.throws(() => runtime.onChange(() => undefined), code('NOT_SUPPORTED', /change notifications/));
  await assert.rejects(
    async () => {
      for await (const _ of runtime.logs(workload().key)) break;
    },
    code('NOT_SUPPORTED', /logs/),
  );
  await assert.rejects(
    runtime.apply(workload({ image: 'registry.example/app:1' })),
    code('NOT_SUPPORTED', 'the recording runtime cannot honour image: no containers here'),
  );
  assert.ok(!engine.calls.includes('apply'), 'the engine never saw the workload');
  await runtime.apply(workload());
  assert.ok(engine.calls.includes('apply'));
});

test('unhonouredFields: set and non-empty fields only', () => {
  const caps = { ...CAPS, unsupportedFields: { image: 'a', secretEnv: 'b', dependencies: 'c' } };
  assert.deepEqual(unhonouredFields(workload(), caps), []);
  assert.deepEqual(unhonouredFields(workload({ dependencies: [], secretEnv: {} }), caps), []);
  assert.deepEqual(unhonouredFields(workload({ image: 'x', secretEnv: { TOKEN: { secret: 's', key: 'k' } } }), caps), [
    'image: a',
    'secretEnv: b',
  ]);
});

test("runtimeRefusal asks the router for the key's own engine", async () => {
  const local = new RecordingEngine();
  const other = new (class extends RecordingEngine {
    override readonly name = 'other';
    override readonly capabilities = { ...CAPS, unsupportedFields: {} };
  })();
  const router = new RuntimeRouter({ local, kubernetes: other }, (env) =>
    Promise.resolve(env === 'e' ? 'local' : 'kubernetes'),
  );
  const image = { image: 'registry.example/app:1' };
  assert.equal(
    await runtimeRefusal(router, workload(image)),
    'the recording runtime cannot honour image: no containers here',
  );
  const elsewhere = workload({ ...image, key: { environment: 'k', deployment: 'd', revision: 1 } });
  assert.equal(await runtimeRefusal(router, elsewhere), undefined);
});

test('runtimeCapable: False with one event per refusal, True after; nothing for a deployment never refused', () => {
  const status = { phase: 'running', conditions: [] } as never;
  assert.deepEqual(runtimeCapable(status, undefined, 't0'), { status });
  const refused = runtimeCapable(status, 'the x runtime cannot honour image: y', 't1');
  assert.deepEqual(refused.status.conditions, [
    {
      type: 'RuntimeCapable',
      status: 'False',
      reason: 'NotSupported',
      message: 'the x runtime cannot honour image: y',
      lastTransitionTime: 't1',
    },
  ]);
  assert.deepEqual(refused.event, {
    type: 'Warning',
    reason: 'RuntimeNotCapable',
    message: 'the x runtime cannot honour image: y',
  });
  const again = runtimeCapable(refused.status, 'the x runtime cannot honour image: y', 't2');
  assert.equal(again.event, undefined, 'the same refusal: no second event');
  assert.deepEqual(again.status, refused.status);
  const fixed = runtimeCapable(refused.status, undefined, 't3');
  assert.deepEqual(
    fixed.status.conditions.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime]),
    [['RuntimeCapable', 'True', 'Supported', 't3']],
  );
});
