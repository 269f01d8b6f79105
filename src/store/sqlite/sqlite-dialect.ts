/**
 * Kysely's SQLite dialect with two changes the store relies on:
 *
 * - transactions start with `begin immediate`, taking SQLite's write lock up front. With the default
 *   deferred `begin`, a transaction that reads and then writes can fail at once with SQLITE_BUSY
 *   when another connection wrote in between (busy_timeout does not help there);
 * - the adapter declares transactional DDL (SQLite has it), so Kysely's Migrator runs migrations in
 *   one such transaction: two processes opening a new database at once do not both migrate it.
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** {@link SqliteDialect} with `begin immediate` transactions and transactional migrations. */
export class WharfSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}
