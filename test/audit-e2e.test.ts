/**
 * The audit trail of a real `wharf up`: killed with SIGKILL in the middle of a stream of audited
 * writes, then started again on the same home. Every write the API acknowledged has its event
 * (found by its request id), the chain verifies with `wharf audit verify`, `wharf audit list` and
 * `export` show it, a refused write and denied attempts (no credential, a forged token) are recorded
 * with their outcome, and an event edited in the database makes `wharf audit verify` exit 1 naming
 * it. On SQLite and on PostgreSQL. The signing key is created 0600 at first start.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { pidsWithArg } from './support/process-scan.js';
import {
  adminAuth,
  adminTokenOf,
  startWharf,
  WHARF_BIN,
  type WharfProcess,
  untilWharfUp,
} from './support/processes.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/eventually.js';
import { createTestDatabase } from './support/postgres.js';
import Database from 'better-sqlite3';
import { auditSeqKey } from '../src/core/resources/audit-event.js';

const run = promisify(execFile);
const homes: string[] = [];
const started: WharfProcess[] = [];
after(async () => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const home of homes) {
    for (const pid of pidsWithArg(home)) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

// SQLite under the home, and PostgreSQL when a server answers (skipped with the reason otherwise).
const postgres = await createTestDatabase();
if (!('skip' in postgres)) after(() => postgres.drop());
const backends: { name: string; env: Record<string, string>; skip?: string }[] = [
  { name: 'sqlite', env: {} },
  'skip' in postgres
    ? { name: 'postgres', env: {}, skip: postgres.skip }
    : { name: 'postgres', env: { WHARF_DATABASE_URL: postgres.url } },
];

interface Event {
  seq: number;
  action: string;
  outcome: string;
  status: number | null;
  requestId: string;
  resource: { kind: string; name: string | null };
  summary: string;
}

const template = (name: string) => ({
  name,
  description: 'audit e2e',
  args: [{ name: 'min', value: 0.9 }],
  metrics: [
    {
      name: 'success-rate',
      provider: { builtin: { metric: 'success-rate', windowSeconds: 5 } },
      successCondition: { min: '{{args.min}}' },
      intervalSeconds: 1,
    },
  ],
});

for (const backend of backends)
  test(
    `${backend.name}: kill -9 during a stream of audited writes: every acknowledged write has its event and the chain verifies`,
    { skip: backend.skip },
    async () => {
      const home = mkdtempSync(join(tmpdir(), 'wharf-audit-e2e-'));
      homes.push(home);
      const [apiPort, gwPort] = [await freePort(), await freePort()];
      const api = `http://127.0.0.1:${apiPort}`;
      const upArgs = ['up', '--home', home, '--port', String(apiPort), '--gateway-port', String(gwPort), '--no-demo'];
      const headers = (requestId: string, auth = true): Record<string, string> => ({
        'content-type': 'application/json',
        'x-request-id': requestId,
        ...(auth ? adminAuth(home) : {}),
      });
      const cli = (args: string[]) =>
        run(process.execPath, [WHARF_BIN, ...args], {
          env: { ...process.env, ...backend.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(home) },
        });
      const startUp = async (): Promise<WharfProcess> => {
        const up = startWharf(upArgs, backend.env);
        started.push(up);
        await untilWharfUp(up);
        return up;
      };

      const up1 = await startUp();
      assert.equal(statSync(join(home, 'audit-signing.key')).mode & 0o777, 0o600, 'the signing key is 0600');

      // Four writers PUT templates until the API stops answering; each acknowledged PUT is remembered.
      const acknowledged: string[] = [];
      let stop = false;
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          const id = `audit-e2e-${w}-${i}`;
          try {
            const res = await fetch(`${api}/api/v1/analysis-templates/t-${w}-${i}`, {
              method: 'PUT',
              headers: headers(id),
              body: JSON.stringify(template(`t-${w}-${i}`)),
            });
            await res.arrayBuffer();
            if (res.status === 200) acknowledged.push(id);
            else throw new Error(`PUT answered ${res.status}`);
          } catch (e) {
            if (!stop) throw e;
            return;
          }
        }
      };
      const writers = [0, 1, 2, 3].map((w) =>
        writer(w).catch((e: unknown) => {
          // The API went away under the writer: that is the kill.
          if (!stop) return Promise.reject(e);
        }),
      );
      await eventually(() => acknowledged.length >= 40, { timeoutMs: 30_000, message: '40 acknowledged writes' });
      up1.child.kill('SIGKILL');
      stop = true;
      await up1.exited;
      await Promise.all(writers);
      const acked = [...acknowledged];

      await startUp();
      const events: Event[] = [];
      for (let next: string | undefined, first = true; first || next !== undefined; first = false) {
        const page = (await (
          await fetch(
            `${api}/api/v1/audit?action=analysis-templates.update&limit=1000${next ? `&continue=${next}` : ''}`,
            {
              headers: adminAuth(home),
            },
          )
        ).json()) as { items: Event[]; continue?: string };
        events.push(...page.items);
        next = page.continue;
      }
      const byRequest = new Map(events.map((e) => [e.requestId, e]));
      const missing = acked.filter((id) => !byRequest.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes have no audit event`);
      for (const id of acked) {
        const e = byRequest.get(id)!;
        assert.equal(e.outcome, 'success');
        assert.equal(e.status, null, `event ${e.seq} was written after its change, not in the change's transaction`);
        assert.equal(e.resource.kind, 'analysis-template');
      }
      // Every event of the stream is for a write that happened (none for a write that did not commit).
      for (const e of events) {
        const got = await fetch(`${api}/api/v1/analysis-templates/${e.resource.name}`, { headers: adminAuth(home) });
        assert.equal(got.status, 200, `event ${e.seq} names ${e.resource.name}, which the store does not have`);
      }

      const verified = await cli(['audit', 'verify']);
      assert.match(verified.stdout, /audit trail OK: \d+ events/);

      // A refused write is recorded too, with its outcome and status.
      const refused = await fetch(`${api}/api/v1/analysis-templates/bad`, {
        method: 'PUT',
        headers: headers('audit-e2e-refused'),
        body: JSON.stringify({ name: 'bad', metrics: 'not a list' }),
      });
      assert.equal(refused.status, 400);
      const listed = JSON.parse(
        (await cli(['audit', 'list', '--resource', 'analysis-template/bad', '-o', 'json'])).stdout,
      ) as Event[];
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!.outcome, 'failed');
      assert.equal(listed[0]!.status, 400);
      assert.equal(listed[0]!.requestId, 'audit-e2e-refused');
      const admin = listed[0] as Event & { actor: { id: string; name: string } };
      assert.match(admin.actor.id, /^user:/, 'the actor is the authenticated principal');

      // Denied attempts: no credential, and a forged one, on a write and on a read.
      const anonymous = await fetch(`${api}/api/v1/analysis-templates/nope`, {
        method: 'PUT',
        headers: headers('audit-e2e-denied-1', false),
        body: JSON.stringify({ ...template('nope'), password: 'hunter2-never-logged' }),
      });
      assert.equal(anonymous.status, 401);
      const forged = await fetch(`${api}/api/v1/deployments?environment=staging`, {
        headers: { authorization: 'Bearer wharf_abcdefgh_notarealsecret', 'x-request-id': 'audit-e2e-denied-2' },
      });
      assert.equal(forged.status, 401);
      const denied = JSON.parse((await cli(['audit', 'list', '--outcome', 'denied', '-o', 'json'])).stdout) as Event[];
      const deniedById = new Map(denied.map((e) => [e.requestId, e]));
      const d1 = deniedById.get('audit-e2e-denied-1');
      assert.ok(d1, `no denied event for the anonymous write: ${JSON.stringify(denied)}`);
      assert.equal(d1.status, 401);
      assert.equal(d1.action, 'analysis-templates.update');
      assert.equal(d1.resource.name, 'nope');
      assert.ok(!d1.summary.includes('hunter2'), 'a password in the body never reaches the summary');
      const d2 = deniedById.get('audit-e2e-denied-2');
      assert.ok(d2, 'a denied read is recorded too');
      assert.equal(d2.action, 'deployments.read');
      assert.equal(d2.outcome, 'denied');

      const exported = (await cli(['audit', 'export'])).stdout.trim().split('\n');
      const lastSeq = (JSON.parse(exported.at(-1)!) as Event).seq;
      assert.equal(exported.length, lastSeq, 'export holds every event of the chain');
      assert.equal((await cli(['audit', 'verify'])).stdout.includes('OK'), true);
      const checkpoints = readFileSync(join(home, 'audit-checkpoints.jsonl'), 'utf8').trim().split('\n');
      assert.ok(checkpoints.length >= 1, 'a verification that passed signed a checkpoint');
      assert.equal((JSON.parse(checkpoints.at(-1)!) as { seq: number }).seq, lastSeq);

      // An event edited in the database behind the running control plane: `wharf audit verify` exits 1 naming it.
      if (backend.name === 'sqlite') {
        const db = new Database(join(home, 'wharf.db'), { timeout: 5000 });
        try {
          db.prepare(
            `update objects set doc = json_set(doc, '$.outcome', 'success') where kind = 'AuditEvent' and key = ?`,
          ).run(auditSeqKey(d1.seq));
        } finally {
          db.close();
        }
        const failed = await cli(['audit', 'verify']).then(
          () => assert.fail('verify passed a tampered chain'),
          (e: { code: number; stderr: string }) => e,
        );
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, new RegExp(`event ${d1.seq}: hash mismatch`));
      }
    },
  );
