/**
 * `wharf up` end to end, with real processes: push a model, deploy 2 replicas, call it through the
 * gateway, kill -9 a replica under light load, scale to 3, roll back, reject bad input, delete, stop
 * — and no process left. Runs on SQLite and on PostgreSQL (skipped with a reason only outside CI).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readmissionProbability } from '../src/demo/readmission.js';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import { pidsWithArg, replicaPidsWithArg } from './support/process-scan.js';
import {
  adminAuth,
  adminTokenOf,
  startWharf,
  WHARF_BIN,
  type WharfProcess,
  untilWharfUp,
} from './support/processes.js';
import { eventually } from './support/eventually.js';

const run = promisify(execFile);
const ROW = Array.from({ length: 16 }, (_, i) => (i % 4) * 0.25 - 0.3);
const INFER_BODY = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: ROW }] });

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`wharf up end to end on ${backend}`, () => {
    let home = '';
    let db: TestDatabase | undefined;
    let skip: string | undefined;
    let up: WharfProcess | undefined;
    let api = '';
    let gateway = '';
    let modelFile = '';
    /** fetch with the admin token of this home. */
    const apiFetch = (url: string, init: RequestInit = {}) =>
      fetch(url, { ...init, headers: { ...adminAuth(home), ...(init.headers as Record<string, string> | undefined) } });
    const cli = (args: string[]) =>
      run(process.execPath, [WHARF_BIN, ...args], {
        env: { ...process.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(home) },
      });
    const deployment = () =>
      apiFetch(`${api}/api/v1/environments/development/deployments/risk`).then(
        (r) =>
          r.json() as Promise<{
            status: { readyReplicas: number; phase: string };
            revision: number;
            endpoints: { external: string };
          }>,
      );
    const replicaPids = () => replicaPidsWithArg(home).filter((pid) => pid !== up?.child.pid);
    const infer = () =>
      fetch(`${gateway}/development/risk/v2/models/risk/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: INFER_BODY,
      });

    before(async () => {
      home = mkdtempSync(join(tmpdir(), `wharf-e2e-${backend}-`));
      modelFile = (await writeDemoModels(join(home, 'src-models'))).readmission;
      let env: NodeJS.ProcessEnv = {};
      if (backend === 'postgres') {
        const made = await createTestDatabase();
        if ('skip' in made) {
          skip = made.skip;
          return;
        }
        db = made;
        env = { WHARF_DATABASE_URL: db.url };
      }
      up = startWharf(['up', '--home', home, '--port', '0', '--gateway-port', '0', '--no-demo'], env);
      ({ api, gateway } = await untilWharfUp(up));
    });

    after(async () => {
      if (up && up.child.exitCode === null) {
        up.child.kill('SIGTERM');
        const timer = setTimeout(() => up!.child.kill('SIGKILL'), 20_000);
        await up.exited;
        clearTimeout(timer);
      }
      await db?.drop();
      rmSync(home, { recursive: true, force: true });
    });

    test('push, deploy, call, survive a killed replica, scale, roll back, delete, stop', async (t) => {
      if (skip) return t.skip(skip);
      const pushed = await cli(['model', 'push', 'risk', modelFile, '--version', '1.0.0']);
      assert.match(pushed.stdout, /pushed risk 1\.0\.0 \(sha256:[0-9a-f]{64}/);
      await cli([
        'deploy',
        'create',
        '--name',
        'risk',
        '--model',
        'risk',
        '--version',
        '1.0.0',
        '-e',
        'development',
        '--replicas',
        '2',
        '--wait',
        '--timeout',
        '60',
      ]);
      assert.equal((await deployment()).status.readyReplicas, 2);
      assert.equal(replicaPids().length, 2);

      const res = await infer();
      assert.equal(res.status, 200);
      const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
      const p = body.outputs.find((o) => o.name === 'probability')!.data[0]!;
      assert.ok(Math.abs(p - readmissionProbability(ROW)) < 1e-5, `probability ${p}`);

      // Light load (2 concurrent callers) while one replica is killed with SIGKILL.
      const [victim] = replicaPids();
      let failures = 0;
      let total = 0;
      let loading = true;
      const caller = async (): Promise<void> => {
        while (loading) {
          total++;
          const r = await infer().catch(() => undefined);
          if (r?.status !== 200) failures++;
          await r?.arrayBuffer();
        }
      };
      const callers = [caller(), caller()];
      await eventually(() => total >= 25, { timeoutMs: 20_000, message: '25 calls before the kill' });
      process.kill(victim!, 'SIGKILL');
      await eventually(
        async () => {
          const pids = replicaPids();
          return pids.length === 2 && !pids.includes(victim!) && (await deployment()).status.readyReplicas === 2
            ? true
            : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, message: 'the killed replica to be replaced' },
      );
      const replacedAt = total;
      await eventually(() => total >= replacedAt + 30, {
        timeoutMs: 20_000,
        message: '30 calls after the replacement',
      });
      loading = false;
      await Promise.all(callers);
      assert.ok(total > 50, `only ${total} calls were made`);
      assert.ok(
        failures <= 2,
        `${failures} of ${total} calls failed; at most the 2 in flight on the killed replica may`,
      );

      const beforeScale = replicaPids();
      await cli(['deploy', 'scale', 'risk', '-e', 'development', '--replicas', '3', '--wait', '--timeout', '60']);
      await eventually(async () => (replicaPids().length === 3 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
        message: 'exactly 3 replicas',
      });
      // A scale adds a replica; the ones already serving are not replaced.
      assert.ok(
        beforeScale.every((pid) => replicaPids().includes(pid)),
        'the replicas running before the scale still run',
      );
      const logs = await cli(['logs', 'risk', '-e', 'development', '--tail', '1']);
      assert.equal(
        logs.stdout.match(/\] wharf serve-model: serving risk 1\.0\.0 at http/g)?.length,
        3,
        `one line per replica: ${logs.stdout}`,
      );
      assert.equal((await infer()).status, 200);

      const rolled = await cli(['deploy', 'rollback', 'risk', '-e', 'development', '--wait', '--timeout', '60']);
      assert.match(rolled.stdout, /revision 3/);
      await eventually(async () => (replicaPids().length === 2 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
        message: '2 replicas after the rollback',
      });
      const history = await cli(['deploy', 'history', 'risk', '-e', 'development']);
      assert.match(history.stdout, /rollback/i);

      // Lists are paginated with an opaque continue token.
      const page1 = (await (
        await apiFetch(`${api}/api/v1/environments/development/deployments/risk/revisions?limit=2`)
      ).json()) as { items: { number: number }[]; continue?: string };
      assert.deepEqual(
        page1.items.map((r) => r.number),
        [1, 2],
      );
      assert.ok(page1.continue, 'a continue token for the next page');
      const page2 = (await (
        await apiFetch(
          `${api}/api/v1/environments/development/deployments/risk/revisions?limit=2&continue=${encodeURIComponent(page1.continue)}`,
        )
      ).json()) as { items: { number: number }[]; continue?: string };
      assert.deepEqual(
        page2.items.map((r) => r.number),
        [3],
      );
      const openapi = (await (await apiFetch(`${api}/api/v1/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      assert.ok(
        openapi.paths['/api/v1/deployments'] && openapi.paths['/api/v1/models/{name}/versions'],
        'the OpenAPI document lists the routes',
      );

      // Bad input: a 4xx naming the field, and nothing changes.
      const unknownField = await apiFetch(`${api}/api/v1/environments/development/deployments/risk/scale`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"replicas": 2, "replica": 3}',
      });
      assert.equal(unknownField.status, 400);
      assert.match(
        ((await unknownField.json()) as { error: { message: string } }).error.message,
        /unknown field\(s\): replica/,
      );
      const malformed = await apiFetch(`${api}/api/v1/deployments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name": ',
      });
      assert.equal(malformed.status, 400);
      const before = await deployment();
      const bad = await apiFetch(`${api}/api/v1/environments/development/deployments/risk/scale`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"replicas": -1}',
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'replicas');
      const unknownVersion = await apiFetch(`${api}/api/v1/deployments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'other', environment: 'development', model: { name: 'risk', version: '9.9.9' } }),
      });
      assert.equal(unknownVersion.status, 400);
      assert.match(((await unknownVersion.json()) as { error: { message: string } }).error.message, /model/);
      await assert.rejects(
        cli(['deploy', 'create', '--name', 'x', '--model', 'risk', '--version', '1.0.0', '-e', 'nowhere']),
        /environment/,
      );
      assert.equal((await deployment()).revision, before.revision);

      await cli(['deploy', 'delete', 'risk', '-e', 'development']);
      await eventually(
        async () => {
          const r = await apiFetch(`${api}/api/v1/environments/development/deployments/risk`);
          return r.status === 404 && replicaPids().length === 0 ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, message: 'the deployment and its replicas to be gone' },
      );

      up!.child.kill('SIGTERM');
      assert.equal(await up!.exited, 0);
      assert.deepEqual(pidsWithArg(home), [], 'no process of this Wharf home is left');
    });
  });
}
