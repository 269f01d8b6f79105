/**
 * Password hashing with scrypt (node:crypto): a random 16-byte salt per password, the cost
 * parameters stored beside the hash (`scrypt$N$r$p$salt$hash`, salt and hash in base64url) so they
 * can be raised later without breaking stored hashes, and verification in constant time. The
 * password itself is never kept, logged or returned.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { fail } from '../../core/validation.js';

/** The parameters new hashes use: N = 2^15, r = 8, p = 1 (32 MiB, ~50 ms), 32-byte key. */
const COST = { N: 1 << 15, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
/** The most memory a verification may take, so a stored hash cannot make the server allocate more. */
const MAX_MEMORY = 256 * 1024 * 1024;

/** Passwords are 8 to 1024 characters. */
export function checkPasswordRules(password: unknown, field = 'password'): string {
  if (typeof password !== 'string') fail(field, 'must be a string');
  if (password.length < 8 || password.length > 1024) fail(field, 'must be 8 to 1024 characters');
  return password;
}

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N, r, p, maxmem: MAX_MEMORY }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** The stored form of a password. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST.N, COST.r, COST.p);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` matches `stored`; false for anything that is not a hash this module wrote. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || r < 1 || p < 1 || 128 * N * r * p > MAX_MEMORY) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const actual = await derive(password, salt, N, r, p).catch(() => undefined);
  return actual !== undefined && timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password, made once: login verifies against it when the user does not exist,
 * so an unknown name costs as long as a wrong password and the two cannot be told apart by time.
 */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(18).toString('base64url'));
  return decoy;
}
