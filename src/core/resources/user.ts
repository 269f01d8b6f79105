/**
 * Local users: people who log in with a password. Keyed by name, which is normalised to lowercase
 * before it is used as a key (see `core/identity/names.ts`), so `Alice` and `alice` are one name and
 * a second user cannot take it. The stable id (`user:<uid>`, random) is what tokens, role bindings and
 * approvals hold; it is kept in the `parent` index column so a user is found by id without a scan.
 * Only a scrypt hash of the password is stored (`services/identity/passwords.ts`), never the password.
 */
import { defineKind, keyPart } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** A user as stored. */
export interface User extends StoredFields {
  /** Principal.id: `user:<uid>`; `user:admin` for the admin `wharf up` creates. */
  id: string;
  /** Lowercase, unique. */
  name: string;
  groups: string[];
  /** `scrypt$N$r$p$salt$hash` (base64url salt and hash); null: the user cannot log in with a password. */
  passwordHash: string | null;
  disabled: boolean;
  createdAt: string;
}

/** Users in the store: keyed by name, findable by id. */
export const userKind = defineKind<User, string, { id?: string }>()({
  kind: 'User',
  collection: 'users',
  key: (name) => keyPart('name', name),
  idOfKey: (key) => key,
  id: (o) => o.name,
  index: (o) => ({ environment: null, parent: o.id }),
  filter: (f) => (f.id === undefined ? {} : { parent: f.id }),
});
