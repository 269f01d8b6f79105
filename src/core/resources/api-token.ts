/**
 * API tokens: bearer credentials `wharf_<id>_<secret>`. The store keeps the id in clear (it is how a
 * presented token is found) and only the SHA-256 of the whole token string: the secret has 256 bits
 * of randomness, so a fast hash is safe, and it lets a gateway check a token locally from the
 * hashes pushed with its route table. Keyed by id.
 */
import { defineKind, keyPart, NO_INDEX } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** A token as stored: never its secret. */
export interface ApiToken extends StoredFields {
  /** Public id, the `<id>` part of the token string (lowercase letters and digits). */
  id: string;
  /** What it is for, as its creator named it. */
  name: string;
  /** The {@link Principal.id} it acts as (`user:…`, `sa:…`). */
  owner: string;
  /** The owner's name when the token was made, for listings. */
  ownerName: string;
  /** Hex SHA-256 of the whole token string. */
  hash: string;
  /** See {@link Principal.scopes}; `['*']` for everything the owner's roles allow. */
  scopes: string[];
  createdAt: string;
  /** ISO time after which it is refused; null = never (only the bootstrap admin token). */
  expiresAt: string | null;
  revokedAt: string | null;
  /** Updated at most once a minute per token. */
  lastUsedAt: string | null;
}

/** Tokens in the store: keyed by id, listed whole. */
export const apiTokenKind = defineKind<ApiToken, string>()({
  kind: 'ApiToken',
  collection: 'tokens',
  key: (id) => keyPart('id', id),
  idOfKey: (key) => key,
  id: (o) => o.id,
  index: () => NO_INDEX,
  filter: () => ({}),
});
