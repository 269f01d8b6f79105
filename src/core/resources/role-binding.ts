/**
 * Role bindings: "this subject has this role in this project and environment". Authorization
 * (services/access) grants a permission when a binding of the caller (its own id, or one of its
 * groups) names a role that includes it, in the project and environment asked about. Keyed by id;
 * indexed by environment and by subject (`parent` = `<type>:<id>`), so the bindings of one caller
 * are found without a scan.
 */
import { defineKind, keyPart } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** Who a binding is for. */
export interface RoleBindingSubject {
  type: 'user' | 'serviceAccount' | 'group';
  /** A {@link Principal.id} for users and service accounts (`user:…`, `sa:…`), a group name for groups. */
  id: string;
}

/** A role granted to a subject in a project and an environment. */
export interface RoleBinding extends StoredFields {
  /** `rb-` and 16 hex digits of the hash of subject, role, project and environment: one binding per grant. */
  id: string;
  subject: RoleBindingSubject;
  /** A built-in or custom role's name. */
  role: string;
  /** `*` (every project) or a project's name; every resource lives in project `default` today. */
  project: string;
  /** `*` (every environment) or an environment's name. */
  environment: string;
  createdAt: string;
  /** The {@link Principal.id} that created it. */
  createdBy: string;
}

/** The `parent` index value of a subject: `<type>:<id>`. */
export function subjectIndex(subject: RoleBindingSubject): string {
  return `${subject.type}:${subject.id}`;
}

/** Role bindings in the store: keyed by id, indexed by environment and (`parent`) subject. */
export const roleBindingKind = defineKind<
  RoleBinding,
  string,
  { environment?: string; subject?: RoleBindingSubject }
>()({
  kind: 'RoleBinding',
  collection: 'roleBindings',
  key: (id) => keyPart('id', id),
  idOfKey: (key) => key,
  id: (o) => o.id,
  index: (o) => ({ environment: o.environment, parent: subjectIndex(o.subject) }),
  filter: (f) => ({
    ...(f.environment === undefined ? {} : { environment: f.environment }),
    ...(f.subject === undefined ? {} : { parent: subjectIndex(f.subject) }),
  }),
});
