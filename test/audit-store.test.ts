/**
 * The audit trail in a real store, on SQLite and PostgreSQL: a request's pending event commits with
 * the change's own transaction (and not when it rolls back), concurrent writers keep one gap-free
 * chain, and tampering directly in the database — editing, deleting or swapping rows, truncating
 * the tail and rewinding the head (with the database's checkpoints deleted too) — is found by the
 * verifier, which names the event.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AuditDraft } from '../src/core/audit/chain.js';
import { ANONYMOUS_ADMIN } from '../src/core/identity/principal.js';
import { type PendingAudit, requestContext } from '../src/core/request-context.js';
import { auditSeqKey } from '../src/core/resources/audit-event.js';
import { AuditRecorder } from '../src/services/audit/recorder.js';
import { loadOrCreateSigningKey } from '../src/services/audit/signing-key.js';
import { verifyStoredAudit } from '../src/services/audit/verifier.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { createTestDatabase } from './support/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'wharf-audit-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Raw SQL on the database behind a store, as an intruder with database access would run it. */
interface RawDb {
  run(sql: string, params?: unknown[]): Promise<void>;
  docOf(key: string): Promise<string>;
  close(): Promise<void>;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  skip?: string;
  open(): Promise<{
    store: Store;
    another: () => Promise<Store>;
    raw: () => Promise<RawDb>;
    remove: () => Promise<void>;
  }>;
}

let counter = 0;
const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const path = join(root, `a${counter++}.db`);
      const store = await openSqliteStore({ path });
      return {
        store,
        another: () => openSqliteStore({ path }),
        raw: async () => {
          const db = new Database(path);
          return {
            run: async (sql, params = []) => void db.prepare(sql.replace(/\$\d+(::jsonb)?/g, '?')).run(...params),
            docOf: async (key) =>
              (db.prepare(`select doc from objects where kind = 'AuditEvent' and key = ?`).get(key) as { doc: string })
                .doc,
            close: async () => void db.close(),
          };
        },
        remove: async () => undefined,
      };
    },
  },
];
const postgres = await createTestDatabase();
if ('skip' in postgres)
  backends.push({ name: 'postgres', skip: postgres.skip, open: () => Promise.reject(new Error(postgres.skip)) });
else {
  after(() => postgres.drop());
  backends.push({
    name: 'postgres',
    async open() {
      const db = await createTestDatabase();
      if ('skip' in db) throw new Error(db.skip);
      const store = await openPostgresStore({ url: db.url });
      return {
        store,
        another: () => openPostgresStore({ url: db.url }),
        raw: async () => {
          const client = new pg.Client(db.url);
          await client.connect();
          return {
            run: async (sql, params = []) => void (await client.query(sql, params)),
            docOf: async (key) =>
              JSON.stringify(
                (await client.query(`select doc from objects where kind = 'AuditEvent' and key = $1`, [key])).rows[0]
                  .doc,
              ),
            close: () => client.end(),
          };
        },
        remove: () => db.drop(),
      };
    },
  });
}

const draft = (action: string, i: number): AuditDraft => ({
  actor: { id: 'user:u1', name: 'alice', type: 'user' },
  action,
  resource: { kind: 'event', name: `e${i}` },
  environment: 'staging',
  outcome: 'success',
  status: null,
  requestId: `req-${i}`,
  sourceAddress: '127.0.0.1',
  summary: `POST /x/${i}`,
});

/** Runs `fn` as an audited request would: the request context carries a pending event. */
async function asRequest<R>(pending: PendingAudit, fn: () => Promise<R>): Promise<R> {
  return requestContext.run(
    { principal: ANONYMOUS_ADMIN, requestId: 'r', sourceAddress: '127.0.0.1', audit: pending },
    fn,
  );
}

const deploymentEvent = (i: number) => ({
  deployment: 'd-1',
  id: `ev-${String(i).padStart(4, '0')}`,
  time: new Date().toISOString(),
  type: 'Normal' as const,
  reason: 'Test',
  message: `event ${i}`,
});

for (const backend of backends) {
  describe(`audit trail in the store: ${backend.name}`, { skip: backend.skip }, () => {
    async function withTrail(
      fn: (t: {
        store: Store;
        another: () => Promise<Store>;
        recorder: AuditRecorder;
        verify: () => ReturnType<typeof verifyStoredAudit>;
        raw: () => Promise<RawDb>;
      }) => Promise<void>,
    ): Promise<void> {
      const home = mkdtempSync(join(root, 'home-'));
      const { store, another, raw, remove } = await backend.open();
      const signingKey = await loadOrCreateSigningKey(join(home, 'audit-signing.key'));
      const checkpointFile = join(home, 'audit-checkpoints.jsonl');
      const recorder = new AuditRecorder(store, { signingKey, checkpointFile, checkpointIntervalMs: 0 });
      await recorder.start();
      const verify = () =>
        verifyStoredAudit(store, { checkpointFile, trustedKeys: new Map([[signingKey.keyId, signingKey.publicKey]]) });
      try {
        await fn({ store, another, recorder, verify, raw });
      } finally {
        await store.close();
        await remove();
      }
    }

    /** Eight events: six carried by writes (single and in transactions), two written on their own. */
    async function eightEvents(store: Store, recorder: AuditRecorder): Promise<void> {
      for (let i = 1; i <= 8; i++) {
        const pending: PendingAudit = { draft: draft('events.create', i), state: 'pending' };
        if (i % 4 === 0) {
          await recorder.record({ ...pending.draft, outcome: 'denied', status: 403 });
        } else if (i % 2 === 0) {
          await asRequest(pending, () =>
            store.transaction(async (tx) => void (await tx.events.create(deploymentEvent(i)))),
          );
        } else {
          await asRequest(pending, () => store.events.create(deploymentEvent(i)));
        }
      }
    }

    test("a request's event commits with its change, once, and not when the change rolls back", async () => {
      await withTrail(async ({ store, verify }) => {
        const pending: PendingAudit = { draft: draft('events.create', 1), state: 'pending' };
        await assert.rejects(
          asRequest(pending, () =>
            store.transaction(async (tx) => {
              await tx.events.create(deploymentEvent(1));
              throw new Error('handler failed');
            }),
          ),
          /handler failed/,
        );
        assert.equal(pending.state, 'pending', 'rolled back: still pending');
        assert.equal((await store.auditEvents.list()).items.length, 0);
        await asRequest(pending, async () => {
          await store.events.create(deploymentEvent(2));
          await store.events.create(deploymentEvent(3)); // a second write of the same request carries nothing
        });
        assert.equal(pending.state, 'written');
        assert.equal(pending.seq, 1);
        const { items } = await store.auditEvents.list();
        assert.deepEqual(
          items.map((e) => [e.seq, e.action, e.requestId]),
          [[1, 'events.create', 'req-1']],
        );
        // Writes outside any request carry no event.
        await store.events.create(deploymentEvent(4));
        assert.equal((await store.auditEvents.list()).items.length, 1);
        const r = await verify();
        assert.equal(r.ok, true, JSON.stringify(r.problems));
      });
    });

    test('concurrent writers (two stores on one database) keep one gap-free chain', async () => {
      await withTrail(async ({ store, verify }) => {
        const second = backend.name === 'sqlite' ? undefined : await (async () => store)(); // same pool is enough on SQLite
        const writers = Array.from({ length: 30 }, (_, i) => {
          const pending: PendingAudit = { draft: draft('events.create', i), state: 'pending' };
          return asRequest(pending, () => (second ?? store).events.create(deploymentEvent(100 + i)));
        });
        await Promise.all(writers);
        const r = await verify();
        assert.equal(r.ok, true, JSON.stringify(r.problems));
        assert.equal(r.last.seq, 30);
      });
    });

    const tampers: { name: string; reason: string; seq: number; tamper: (raw: RawDb) => Promise<void> }[] = [
      {
        name: 'an edited row',
        reason: 'hash-mismatch',
        seq: 3,
        tamper: async (raw) => {
          const doc = JSON.parse(await raw.docOf(auditSeqKey(3))) as Record<string, unknown>;
          await raw.run(`update objects set doc = $1::jsonb where kind = 'AuditEvent' and key = $2`, [
            JSON.stringify({ ...doc, outcome: 'success', summary: 'harmless' }),
            auditSeqKey(3),
          ]);
        },
      },
      {
        name: 'a deleted row',
        reason: 'gap-or-reorder',
        seq: 4,
        tamper: (raw) => raw.run(`delete from objects where kind = 'AuditEvent' and key = $1`, [auditSeqKey(4)]),
      },
      {
        name: 'two swapped rows',
        reason: 'gap-or-reorder',
        seq: 2,
        tamper: async (raw) => {
          const [a, b] = [await raw.docOf(auditSeqKey(2)), await raw.docOf(auditSeqKey(5))];
          await raw.run(`update objects set doc = $1::jsonb where kind = 'AuditEvent' and key = $2`, [
            b,
            auditSeqKey(2),
          ]);
          await raw.run(`update objects set doc = $1::jsonb where kind = 'AuditEvent' and key = $2`, [
            a,
            auditSeqKey(5),
          ]);
        },
      },
      {
        name: 'a truncated tail with the head rewound and the checkpoints deleted from the database',
        reason: 'truncated',
        seq: 7,
        tamper: async (raw) => {
          const six = JSON.parse(await raw.docOf(auditSeqKey(6))) as { hash: string };
          await raw.run(`delete from objects where kind = 'AuditEvent' and key > $1`, [auditSeqKey(6)]);
          await raw.run(`delete from objects where kind = 'AuditCheckpoint'`);
          await raw.run(`update objects set doc = $1::jsonb where kind = 'AuditHead'`, [
            JSON.stringify({ seq: 6, hash: six.hash }),
          ]);
        },
      },
    ];
    for (const t of tampers) {
      test(`${t.name} is found, naming event ${t.seq}`, async () => {
        await withTrail(async ({ store, recorder, verify, raw }) => {
          await eightEvents(store, recorder);
          const signed = await recorder.checkpoint();
          assert.equal(signed?.seq, 8);
          const before = await verify();
          assert.equal(before.ok, true, JSON.stringify(before.problems));
          const db = await raw();
          try {
            await t.tamper(db);
          } finally {
            await db.close();
          }
          const r = await verify();
          assert.equal(r.ok, false, `${t.name} went unnoticed`);
          assert.equal(r.firstProblem?.reason, t.reason, JSON.stringify(r.problems));
          assert.equal(r.firstProblem?.seq, t.seq, JSON.stringify(r.problems));
          assert.match(r.firstProblem!.message, new RegExp(`^event ${t.seq}: `));
        });
      });
    }
  });
}
