/**
 * Picks the store backend: SQLite at `<home>/wharf.db` unless a PostgreSQL URL is given. The server
 * passes `WHARF_DATABASE_URL` as `url`; nothing here reads the environment.
 */
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** `postgres://…` or `postgresql://…` for PostgreSQL; absent or empty for the embedded SQLite. */
  url?: string;
  /** Wharf's data directory; SQLite keeps `wharf.db` there. */
  home: string;
  /** Longest a watcher sleeps without a notification; default 1000. */
  pollIntervalMs?: number;
}

/**
 * Opens the store, applying pending migrations first.
 *
 * @example
 *   const store = await openStore({ url: process.env.WHARF_DATABASE_URL, home: wharfHome });
 */
export function openStore(options: OpenStoreOptions): Promise<Store> {
  const { url, home, pollIntervalMs } = options;
  if (url === undefined || url === '') return openSqliteStore({ path: join(home, 'wharf.db'), pollIntervalMs });
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgresStore({ url, pollIntervalMs });
  return Promise.reject(
    new InvalidArgumentError(`database URL: expected postgres://…, got ${url.replace(/\/\/[^@/]*@/, '//…@')}`),
  );
}
