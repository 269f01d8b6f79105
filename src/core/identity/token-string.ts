/**
 * The text of an API token, `wharf_<id>_<secret>`: a fixed prefix (so secret scanners and people
 * recognise one), a 12-character public id (how the stored record is found without scanning), and
 * 32 random bytes. Only the SHA-256 of the whole string is ever kept. Pure apart from randomness;
 * the gateway uses it too, to check tokens locally.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every token starts with this. */
export const TOKEN_PREFIX = 'wharf_';
const ID_LENGTH = 12;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN_PATTERN = /^wharf_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;

/** A new token: its public id and the whole string (shown once, then only its hash is kept). */
export function newTokenString(): { id: string; token: string } {
  const bytes = randomBytes(ID_LENGTH);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return { id, token: `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}` };
}

/** The id of a well-formed token string, or undefined for anything else. */
export function tokenIdOf(token: string): string | undefined {
  return TOKEN_PATTERN.exec(token)?.[1];
}

/**
 * SHA-256 of a token string as bytes. One-shot `crypto.hash` (Node ≥ 20.12), about half the cost of
 * a `createHash` object: the gateway computes it on a protected route's requests.
 */
export function tokenDigest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Hex SHA-256 of a token string, as stored. */
export function tokenHash(token: string): string {
  return tokenDigest(token).toString('hex');
}

/** Whether `token` hashes to `storedHash` (hex), compared in constant time. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const a = tokenDigest(token);
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer …` header value, or undefined when it is not one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
