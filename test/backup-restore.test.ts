/**
 * `wharf backup` of a running platform (deployments on several revisions, writes going on while it
 * runs), the home destroyed, `wharf restore` into an empty one, `wharf up` again: every deployment
 * comes back on its revision with the same artifacts (digests), its revisions and events, and
 * `audit verify` passes. Once on SQLite, once on PostgreSQL (skipped with the reason when no server
 * answers; a failure under CI).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { READMISSION_BODY } from './support/control-plane-e2e.js';
import { eventually } from './support/eventually.js';
import { freePort } from './support/ports.js';
import { createTestDatabase } from './support/postgres.js';
import { pidsWithArg } from './support/process-scan.js';
import { adminTokenOf, startWharf, untilWharfUp, WHARF_BIN, type WharfProcess } from './support/processes.js';

const run = promisify(execFile);
const started: WharfProcess[] = [];
const folders: string[] = [];
after(async () => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const dir of folders) {
    for (const pid of pidsWithArg(dir)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Deployment {
  name: string;
  environment: string;
  revision: number;
  model: { name: string; version: string };
  status: { phase: string; readyReplicas: number; observedRevision: number };
}

/** What must survive: per deployment its revision, spec's model, revisions and events; digests; audit. */
async function observe(api: string, token: string) {
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  const deployments = (await get<{ items: Deployment[] }>('/api/v1/deployments')).items.sort((a, b) =>
    `${a.environment}/${a.name}`.localeCompare(`${b.environment}/${b.name}`),
  );
  const history: Record<string, unknown> = {};
  for (const d of deployments) {
    const base = `/api/v1/environments/${d.environment}/deployments/${d.name}`;
    const revisions = (await get<{ items: { number: number; spec: unknown }[] }>(`${base}/revisions`)).items;
    const events = (await get<{ items: { reason?: string; message?: string; time?: string }[] }>(`${base}/events`))
      .items;
    history[`${d.environment}/${d.name}`] = {
      revision: d.revision,
      model: d.model,
      revisions: revisions.map((r) => ({ number: r.number, spec: r.spec })),
      events,
    };
  }
  const versions = (
    await get<{ items: { version: string; artifact: { digest: string } }[] }>('/api/v1/models/risk/versions')
  ).items.map((v) => `${v.version} ${v.artifact.digest}`);
  const audit = await get<{ ok: boolean }>('/api/v1/audit/verify');
  return { deployments, history, versions, audit };
}

async function scenario(label: string, databaseUrl: string | undefined): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), `wharf-backup-${label}-`));
  folders.push(root);
  const home = join(root, 'home');
  const archive = join(root, 'wharf-backup.tar.gz');
  const env: NodeJS.ProcessEnv = databaseUrl === undefined ? {} : { WHARF_DATABASE_URL: databaseUrl };
  const up = async (): Promise<{ api: string; gateway: string; process: WharfProcess }> => {
    const [apiPort, gwPort] = [await freePort(), await freePort()];
    const p = startWharf(
      ['up', '--home', home, '--port', String(apiPort), '--gateway-port', String(gwPort), '--no-demo'],
      env,
    );
    started.push(p);
    const urls = await untilWharfUp(p, { timeoutMs: 60_000 });
    return { api: urls.api, gateway: urls.gateway, process: p };
  };
  const stop = async (p: WharfProcess): Promise<void> => {
    p.child.kill('SIGTERM');
    await p.exited;
  };
  const models = await writeDemoModels(join(root, 'models'));
  const first = await up();
  const token = adminTokenOf(home);
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [WHARF_BIN, ...args], {
      env: { ...process.env, ...env, WHARF_URL: first.api, WHARF_TOKEN: token, WHARF_HOME: home, ...extra },
    });
  await cli(['model', 'push', 'risk', models.readmission, '--version', '1.0.0']);
  await cli(['model', 'push', 'risk', models.mlp, '--version', '1.1.0', '--label', 'stage=candidate']);
  const create = ['deploy', 'create', '--model', 'risk', '--replicas', '1', '--wait', '--timeout', '60'];
  await cli([...create, '--name', 'risk', '--version', '1.0.0', '-e', 'staging']);
  await cli(['deploy', 'update', 'risk', '-e', 'staging', '--version', '1.1.0', '--wait', '--timeout', '60']);
  await cli(['deploy', 'update', 'risk', '-e', 'staging', '--version', '1.0.0', '--wait', '--timeout', '60']);
  await cli([...create, '--name', 'other', '--version', '1.1.0', '-e', 'development']);

  // What the restore must bring back of staging/risk, which nothing changes from here on; the rest
  // is checked against the restored store itself below.
  const risk = await eventually(
    async () => {
      const o = await observe(first.api, token);
      return o.deployments.find((d) => d.name === 'risk' && d.status.phase === 'running') ? o : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'the state before the disaster' },
  );
  // The backup runs while writes go on: a snapshot that tore between a deployment and its
  // revision would show as a deployment whose current revision is missing after restore.
  let writing = true;
  const writes = (async () => {
    for (let i = 0; writing; i++)
      await cli(['deploy', 'update', 'other', '-e', 'development', '--replicas', String(1 + (i % 2))]);
  })();
  const backup = await cli(['backup', '--out', archive]);
  writing = false;
  await writes;
  assert.match(backup.stdout, /backup .*: \d+ objects, \d+ changes, 2 blobs/);
  // The verification in observe() above signed a checkpoint: the restored trail must accept it.
  assert.match(backup.stdout, /\([1-9]\d* checkpoints\)/);
  assert.equal(statSync(archive).mode & 0o077, 0, 'the archive is readable by its owner only');
  await stop(first.process);

  // Disaster: the home (and the database) are gone.
  rmSync(home, { recursive: true, force: true });
  let restoreUrl: string | undefined;
  if (databaseUrl !== undefined) {
    const fresh = await createTestDatabase();
    if ('skip' in fresh) throw new Error(fresh.skip);
    after(() => fresh.drop());
    restoreUrl = fresh.url;
    env.WHARF_DATABASE_URL = fresh.url;
  }
  const restore = await cli(['restore', archive, '--home', home], env);
  assert.match(restore.stdout, /restored .* 2 blobs/);
  assert.ok(!existsSync(join(home, 'secret.key')), 'no key without --include-keys');
  // A second restore into the now non-empty home is refused, naming why, and changes nothing.
  const again = await cli(['restore', archive, '--home', home], env).then(
    () => assert.fail('a restore into a non-empty home must be refused'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(again.code, 4);
  assert.match(again.stderr, /is not empty.*restore into an empty or new folder/);

  const second = await up();
  assert.equal(restoreUrl ?? '', env.WHARF_DATABASE_URL ?? '');
  const back = await eventually(
    async () => {
      const o = await observe(second.api, token);
      const ready = o.deployments.every(
        (d) => d.status.phase === 'running' && d.status.observedRevision === d.revision && d.status.readyReplicas >= 1,
      );
      return ready && o.deployments.length === 2 ? o : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250, message: 'every restored deployment running on its revision' },
  );
  assert.equal(back.audit.ok, true, `audit verify after restore: ${JSON.stringify(back.audit)}`);
  assert.deepEqual(back.versions, risk.versions, 'the same model versions with the same artifact digests');
  const staging = back.history['staging/risk'] as {
    revision: number;
    model: unknown;
    revisions: unknown;
    events: unknown[];
  };
  const before = risk.history['staging/risk'] as typeof staging;
  assert.equal(staging.revision, 3);
  assert.deepEqual(staging.model, { name: 'risk', version: '1.0.0' });
  assert.deepEqual(staging.revisions, before.revisions, 'staging/risk: the same revisions');
  assert.deepEqual(staging.events.slice(0, before.events.length), before.events, 'staging/risk: its events');
  // The deployment written to during the backup: consistent with itself (its revisions run 1 … current).
  const other = back.history['development/other'] as { revision: number; revisions: { number: number }[] };
  assert.deepEqual(
    other.revisions.map((r) => r.number).sort((a, b) => a - b),
    Array.from({ length: other.revision }, (_, i) => i + 1),
  );
  // Inference answers again through the restored platform's gateway, from the restored artifact.
  await eventually(
    async () => {
      const r = await fetch(`${second.gateway}/staging/risk/v2/models/risk/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: READMISSION_BODY,
      });
      return r.status === 200 && ((await r.json()) as { model_version?: string }).model_version === '1.0.0';
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'the restored deployment to answer through the gateway' },
  );
  await stop(second.process);
  await eventually(async () => (pidsWithArg(home).length === 0 ? true : undefined), {
    timeoutMs: 20_000,
    message: 'no process of the home left',
  });
}

test('backup while running, destroy, restore, start: SQLite', { timeout: 240_000 }, () =>
  scenario('sqlite', undefined),
);

test('backup while running, destroy, restore, start: PostgreSQL', { timeout: 240_000 }, async (t) => {
  const db = await createTestDatabase();
  if ('skip' in db) return t.skip(db.skip);
  after(() => db.drop());
  await scenario('postgres', db.url);
});
