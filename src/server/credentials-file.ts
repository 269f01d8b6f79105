/**
 * Credentials kept on disk, readable by their owner only (0600): the admin token `wharf up` writes
 * to `$WHARF_HOME/credentials` on first start (which the CLI on the same machine reads), and the
 * gateway component's token. JSON, so that more fields can come without breaking readers.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a credentials file holds. */
export interface CredentialsFile {
  /** The API it was made for, when known. */
  apiUrl?: string;
  /** The principal's name, for people reading it. */
  user: string;
  token: string;
}

/** `$WHARF_HOME/credentials`. */
export function credentialsPath(home: string): string {
  return join(home, 'credentials');
}

/** The file's content, or undefined when it does not exist or is not a credentials file. */
export function readCredentials(path: string): CredentialsFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CredentialsFile>;
    return typeof parsed.token === 'string' && typeof parsed.user === 'string'
      ? (parsed as CredentialsFile)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the file with mode 0600 (created so, never readable by others even for an instant). */
export function writeCredentials(path: string, credentials: CredentialsFile): void {
  const temp = `${path}.${process.pid}.tmp`;
  // A leftover temp file could have a wider mode: remove it so that the file is created 0600.
  rmSync(temp, { force: true });
  writeFileSync(temp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temp, path);
}
