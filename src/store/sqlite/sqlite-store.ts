/**
 * The embedded backend: one SQLite file in WAL mode through better-sqlite3.
 *
 * Durability: `synchronous=FULL` fsyncs the WAL at every commit. `NORMAL` would already survive
 * `kill -9` of this process (a committed transaction is in the WAL, in the OS page cache), but not
 * an OS crash or power cut, which can drop the last commits; a control plane writes a few rows a
 * second, so the fsync per commit is cheap insurance that "acknowledged" means "on disk".
 *
 * Concurrency: one process owns the file (`multiProcess: false`). Other processes may still open it
 * (the CLI, a test); `busy_timeout` makes their writes wait rather than fail. Several stores on one
 * file in one process share a write lock and a notifier here, because better-sqlite3 waits for a busy
 * database synchronously and would otherwise block the event loop that the lock holder needs.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { ChangeNotifier } from '../change-feed.js';
import { kyselyStore } from '../kysely-store.js';
import { migrateToLatest } from '../migrations/index.js';
import type { StoreSchema } from '../schema.js';
import type { Store } from '../store.js';
import { WharfSqliteDialect } from './sqlite-dialect.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file (created with its directory if missing), or `:memory:`. */
  path: string;
  /** Longest a watcher sleeps without an in-process notification (writes by other processes). Default 1000. */
  pollIntervalMs?: number;
  /** How long a write waits for another process's write lock before failing. Default 5000. */
  busyTimeoutMs?: number;
}

/** Serialises async critical sections, in call order. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<R>(fn: () => Promise<R>): Promise<R> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

interface SharedFile {
  notifier: ChangeNotifier;
  mutex: Mutex;
  stores: number;
}

// What stores on the same file in this process share; entries go when their last store closes.
const sharedFiles = new Map<string, SharedFile>();

function share(path: string): { shared: SharedFile; release: () => void } {
  const shared = (path !== ':memory:' && sharedFiles.get(path)) || {
    notifier: new ChangeNotifier(),
    mutex: new Mutex(),
    stores: 0,
  };
  if (path !== ':memory:') sharedFiles.set(path, shared);
  shared.stores += 1;
  const release = (): void => {
    shared.stores -= 1;
    if (shared.stores === 0 && sharedFiles.get(path) === shared) sharedFiles.delete(path);
  };
  return { shared, release };
}

/**
 * Opens (creating if needed) and migrates the SQLite store at `options.path`.
 *
 * @example
 *   const store = await openSqliteStore({ path: join(home, 'wharf.db') });
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const { shared, release } = share(path);
  let database: Database.Database | undefined;
  let db: Kysely<StoreSchema> | undefined;
  try {
    database = new Database(path);
    database.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    const opened = (db = new Kysely<StoreSchema>({ dialect: new WharfSqliteDialect({ database }) }));
    const appliedMigrations = await shared.mutex.run(() => migrateToLatest(opened as Kysely<unknown>, 'sqlite'));
    return kyselyStore({
      db,
      backend: 'sqlite',
      capabilities: { multiProcess: false },
      appliedMigrations,
      notifier: shared.notifier,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      serializeWrites: (fn) => shared.mutex.run(fn),
      close: () => Promise.resolve(release()),
    });
  } catch (error) {
    release();
    if (db !== undefined) await db.destroy();
    else database?.close();
    throw error;
  }
}
