/**
 * Custom roles: a named set of permissions an administrator defines beside the built-in roles
 * (`viewer`, `deployer`, `approver`, `admin`, which live in code, `core/access/permissions.ts`,
 * and cannot be stored, changed or deleted). A role grants nothing by itself; a RoleBinding
 * grants it to a subject in a project and an environment. Keyed by name.
 */
import type { Permission } from '../access/permissions.js';
import { defineKind, keyPart, NO_INDEX } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** A custom role. */
export interface Role extends StoredFields {
  /** Lowercase letters, digits and dashes; never a built-in role's name. */
  name: string;
  description: string;
  /** What it grants, each one of `PERMISSIONS`, without duplicates. */
  permissions: Permission[];
  createdAt: string;
  /** The {@link Principal.id} that created it. */
  createdBy: string;
}

/** Custom roles in the store: keyed by name, listed whole. */
export const roleKind = defineKind<Role, string>()({
  kind: 'Role',
  collection: 'roles',
  key: (name) => keyPart('name', name),
  idOfKey: (key) => key,
  id: (o) => o.name,
  index: () => NO_INDEX,
  filter: () => ({}),
});
