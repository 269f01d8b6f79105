/**
 * A throwaway PostgreSQL database for one test run. The server comes from WHARF_TEST_DATABASE_URL,
 * else postgres://postgres@127.0.0.1:5432/postgres (trust auth, as on CI). When no server answers,
 * the suite is skipped with the reason, except under CI (env CI set), where that is a failure:
 * CI must run the PostgreSQL half of the contract suite.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server used when WHARF_TEST_DATABASE_URL is not set. */
export const DEFAULT_TEST_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database created for this run. */
export interface TestDatabase {
  /** Connection URL of the new, empty database. */
  readonly url: string;
  /** Drops it, closing any connection still open to it. */
  drop(): Promise<void>;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
}

async function admin<R>(serverUrl: string, fn: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a uniquely named database (`wharf_test_<pid>_<random>`), or returns `{ skip }` with the
 * reason when no server is reachable outside CI. Throws under CI.
 */
export async function createTestDatabase(): Promise<TestDatabase | { skip: string }> {
  const serverUrl = process.env.WHARF_TEST_DATABASE_URL || DEFAULT_TEST_SERVER_URL;
  const name = `wharf_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await admin(serverUrl, (client) => client.query(`create database ${name}`));
  } catch (error) {
    const reason = `no PostgreSQL at ${redact(serverUrl)} (${(error as Error).message}); set WHARF_TEST_DATABASE_URL to run it`;
    if (process.env.CI) throw new Error(`${reason}. CI must run the PostgreSQL store suite.`, { cause: error });
    return { skip: reason };
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      admin(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
