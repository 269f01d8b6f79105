/**
 * Where the key-encryption keys (KEKs) of secrets come from, and how a rotation gets its new one.
 *
 * - `WHARF_SECRET_KEY` (base64 of 32 bytes) is the current KEK when set; `WHARF_SECRET_KEY_PREVIOUS`
 *   may name the one it replaces, so that an operator rotates by setting both, restarting and
 *   running `wharf secret rotate-key` (every data key is re-wrapped under the current one), then
 *   dropping the previous.
 * - Otherwise the key file `$WHARF_HOME/secret.key` (created at first start, mode 0600) holds it. A
 *   rotation writes the new key to `secret.key.next` (0600) first, re-wraps every data key in one
 *   transaction, then renames it over `secret.key`; after a crash in between, both files are read,
 *   and each row's KEK id says which key opens it.
 *
 * A KEK's id is a short hash of the key (it says which key wrapped a row; it cannot recover the
 * key). No key material reaches an error message or a log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, UnavailableError } from '../../core/errors.js';
import type { Kek } from './envelope.js';

/** The key file's name under the Wharf home. */
export const KEY_FILE = 'secret.key';
const NEXT_KEY_FILE = `${KEY_FILE}.next`;

/** A rotation under way: the new KEK, made current by `commit` once every data key is re-wrapped. */
export interface PendingRotation {
  readonly next: Kek;
  commit(): void;
  abort(): void;
}

/** The KEKs a control plane can use. */
export interface KeyRing {
  /** `env` (from WHARF_SECRET_KEY) or `file` (the key file). */
  readonly source: 'env' | 'file';
  /** The KEK new versions are wrapped with. */
  current(): Kek;
  /** The KEK with this id; throws when none is known (a row wrapped by a key this process lacks). */
  byId(id: string): Kek;
  /**
   * Starts a rotation. Key file: a freshly generated KEK. Environment: the current KEK (the new key
   * was given as WHARF_SECRET_KEY, the old one as WHARF_SECRET_KEY_PREVIOUS).
   */
  beginRotation(): PendingRotation;
}

function kekOf(source: string, key: Buffer): Kek {
  return { id: `${source}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`, key };
}

function parseKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== 32)
    throw new InvalidArgumentError(
      `${where}: must be the base64 of exactly 32 bytes (e.g. \`openssl rand -base64 32\`)`,
    );
  return key;
}

function writeKeyFile(path: string, key: Buffer): void {
  // 'wx': never overwrite; 0600 from the start, so the key is never readable by others.
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${key.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
}

function readKeyFile(path: string): Buffer {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new InvalidArgumentError(
      `${path}: is readable by other users (mode ${mode.toString(8)}); run \`chmod 600 ${path}\``,
    );
  return parseKey(readFileSync(path, 'utf8'), path);
}

/** The key ring of a control plane whose home is `home`, reading `env` (default `process.env`). */
export function loadKeyRing(home: string, env: NodeJS.ProcessEnv = process.env): KeyRing {
  const given = env.WHARF_SECRET_KEY;
  if (given !== undefined && given !== '') {
    const current = kekOf('env', parseKey(given, 'WHARF_SECRET_KEY'));
    const previousText = env.WHARF_SECRET_KEY_PREVIOUS;
    const keys = [current];
    if (previousText !== undefined && previousText !== '')
      keys.push(kekOf('env', parseKey(previousText, 'WHARF_SECRET_KEY_PREVIOUS')));
    return ring(
      'env',
      () => current,
      () => keys,
      () => ({ next: current, commit: () => undefined, abort: () => undefined }),
    );
  }
  const path = join(home, KEY_FILE);
  const nextPath = join(home, NEXT_KEY_FILE);
  if (!existsSync(path)) writeKeyFile(path, randomBytes(32));
  let current = kekOf('file', readKeyFile(path));
  let interrupted = existsSync(nextPath) ? kekOf('file', readKeyFile(nextPath)) : undefined;
  let rotating = false;
  return ring(
    'file',
    () => current,
    () => [current, ...(interrupted ? [interrupted] : [])],
    () => {
      if (rotating) throw new UnavailableError('a key rotation is already under way; try again when it has finished');
      rotating = true;
      // An interrupted rotation's key may already wrap some rows: finish with it rather than a new one.
      let next = interrupted;
      if (next === undefined) {
        const key = randomBytes(32);
        writeKeyFile(nextPath, key);
        next = kekOf('file', key);
      }
      interrupted = next; // readable while the transaction runs and after a crash
      return {
        next: next,
        commit: () => {
          renameSync(nextPath, path);
          current = next;
          interrupted = undefined;
          rotating = false;
        },
        // The transaction failed: no row is wrapped by `next`, unless an earlier attempt's were.
        abort: () => {
          rotating = false;
        },
      };
    },
  );
}

function ring(
  source: 'env' | 'file',
  current: () => Kek,
  all: () => Kek[],
  beginRotation: () => PendingRotation,
): KeyRing {
  return {
    source,
    current,
    byId: (id) => {
      const kek = all().find((k) => k.id === id);
      if (kek === undefined)
        throw new UnavailableError(
          `secret key ${id} is not available to this control plane (set WHARF_SECRET_KEY_PREVIOUS, or restore the key file)`,
        );
      return kek;
    },
    beginRotation,
  };
}
