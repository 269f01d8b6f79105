/**
 * The shared backend: PostgreSQL through a pg Pool, for several control-plane replicas. Writers
 * `pg_notify` inside the committing transaction (so the notification goes out exactly when the
 * commit does), and each store LISTENs on one dedicated connection (`postgres-listener.ts`).
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { ChangeNotifier } from '../change-feed.js';
import { kyselyStore } from '../kysely-store.js';
import { migrateToLatest } from '../migrations/index.js';
import type { StoreSchema } from '../schema.js';
import type { Store } from '../store.js';
import { CHANGES_CHANNEL, PostgresChangeListener } from './postgres-listener.js';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Longest a watcher sleeps without a notification. Default 1000. */
  pollIntervalMs?: number;
  /** Pooled connections, besides the one LISTEN connection. Default 10. */
  poolSize?: number;
}

/** int8 (bigint) columns come back as numbers: sequences stay far below 2^53. */
function typeOverrides(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  return types;
}

/**
 * Connects to and migrates the PostgreSQL store at `options.url`.
 *
 * @example
 *   const store = await openPostgresStore({ url: process.env.WHARF_DATABASE_URL! });
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const types = typeOverrides();
  const connection = { connectionString: options.url, types, connectionTimeoutMillis: 10_000 };
  const pool = new pg.Pool({ ...connection, max: options.poolSize ?? 10 });
  // An idle pooled connection that the server drops emits 'error' on the pool; without a listener
  // that would crash the process. The next query simply gets a new connection.
  pool.on('error', () => undefined);
  // A connection checked out of the pool (between two queries of a transaction, say) that the
  // server or the network drops emits 'error' on the client itself, where the pool's listener is
  // not attached: that too would crash the process (seen with a store outage). The query in flight
  // still fails with the error, which the API answers as 503.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
  let appliedMigrations: string[];
  try {
    appliedMigrations = await migrateToLatest(db as Kysely<unknown>, 'postgres');
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const notifier = new ChangeNotifier();
  const listener = new PostgresChangeListener(connection, () => notifier.notify());
  return kyselyStore({
    db,
    backend: 'postgres',
    capabilities: { multiProcess: true },
    appliedMigrations,
    notifier,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    beforeCommit: async (trx, lastSequence) => {
      await sql`select pg_notify(${CHANGES_CHANNEL}, ${String(lastSequence)})`.execute(trx);
    },
    watchReady: () => listener.ready(),
    close: () => listener.close(),
  });
}
