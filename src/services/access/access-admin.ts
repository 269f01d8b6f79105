/**
 * Roles and role bindings as administrators manage them: list, get, create and delete custom roles
 * (the built-in ones answer from `BUILTIN_ROLES` and cannot be changed), and list, create and delete
 * bindings. Every rule on the input is checked here and answered as a 4xx naming the field: a role
 * name, its permissions, a binding's subject, role, project and environment. Who may call these is
 * the API's business (roles:admin, checked in the binding's own environment).
 */
import { createHash } from 'node:crypto';
import { DEFAULT_PROJECT, isBuiltinRole } from '../../core/access/grants.js';
import { BUILTIN_ROLES, isPermission, type Permission } from '../../core/access/permissions.js';
import { hasErrorCode, InvalidArgumentError, NotFoundError, WharfError } from '../../core/errors.js';
import type { Role, RoleBinding, RoleBindingSubject } from '../../core/resources.js';
import { dnsLabel } from '../../core/validation.js';
import { AlreadyExistsError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import { listAll } from '../store-pages.js';

/** A role as the API shows it: built-in ones too, marked so. */
export interface RoleView {
  name: string;
  description: string;
  permissions: Permission[];
  builtin: boolean;
  createdAt?: string;
  createdBy?: string;
}

/** What a caller gives to create a custom role. */
export interface RoleInput {
  name: string;
  description?: string;
  permissions: string[];
}

/** What a caller gives to create a binding; `project` and `environment` default to `default` and `*`. */
export interface RoleBindingInput {
  subject: RoleBindingSubject;
  role: string;
  project?: string;
  environment?: string;
}

const BUILTIN_DESCRIPTIONS: Record<keyof typeof BUILTIN_ROLES, string> = {
  viewer: 'Reads models, deployments, approvals, environments, roles and policies',
  deployer: 'Pushes models, deploys, scales, rolls back and drives rollouts; reads and writes secrets',
  approver: 'Decides approvals and reads the audit trail',
  admin: 'Every permission',
};

const SUBJECT_TYPES = ['user', 'serviceAccount', 'group'] as const;

/** The deterministic id of a binding: creating the same grant twice is an ALREADY_EXISTS. */
export function bindingId(b: Pick<RoleBinding, 'subject' | 'role' | 'project' | 'environment'>): string {
  const text = JSON.stringify([b.subject.type, b.subject.id, b.role, b.project, b.environment]);
  return `rb-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** A custom role that bindings still name cannot be deleted (409, naming them). */
export class RoleInUseError extends WharfError {
  readonly code = 'CONFLICT';
  constructor(role: string, bindings: readonly RoleBinding[]) {
    const ids = bindings.slice(0, 5).map((b) => b.id);
    super(`role ${role} is used by ${bindings.length} binding(s) (${ids.join(', ')}); delete them first`);
  }
}

/** See the module comment. */
export class AccessAdmin {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Built-in roles first, then custom ones by name. */
  async listRoles(): Promise<RoleView[]> {
    const custom = await listAll<'Role'>(this.store.roles);
    return [
      ...Object.keys(BUILTIN_ROLES).map((n) => builtinView(n as keyof typeof BUILTIN_ROLES)),
      ...custom.map(view),
    ];
  }

  /** A built-in or custom role; NOT_FOUND names it. */
  async getRole(name: string): Promise<RoleView> {
    if (isBuiltinRole(name)) return builtinView(name);
    const role = await this.store.roles.get(name).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') || hasErrorCode(e, 'INVALID_ARGUMENT')
        ? new NotFoundError(`role ${JSON.stringify(name)} not found`)
        : e;
    });
    return view(role);
  }

  /** Creates a custom role; a built-in or taken name is refused. */
  async createRole(input: RoleInput, createdBy: string): Promise<RoleView> {
    const name = dnsLabel(input.name, 'name');
    if (isBuiltinRole(name))
      throw new InvalidArgumentError(`name: ${name} is a built-in role and cannot be defined again`);
    if (!Array.isArray(input.permissions) || input.permissions.length === 0)
      throw new InvalidArgumentError('permissions: must list at least one permission');
    const permissions: Permission[] = [];
    input.permissions.forEach((p, i) => {
      if (typeof p !== 'string' || !isPermission(p))
        throw new InvalidArgumentError(
          `permissions[${i}]: ${JSON.stringify(p)} is not a permission (see GET /api/v1/roles/admin for the list)`,
        );
      if (!permissions.includes(p)) permissions.push(p);
    });
    const description = input.description ?? '';
    if (typeof description !== 'string' || description.length > 500)
      throw new InvalidArgumentError('description: must be a string of at most 500 characters');
    try {
      const role = await this.store.roles.create({
        name,
        description,
        permissions,
        createdAt: this.now().toISOString(),
        createdBy,
      });
      return view(role);
    } catch (e) {
      if (e instanceof AlreadyExistsError) throw new AlreadyExistsError('Role', name);
      throw e;
    }
  }

  /** Deletes a custom role; one that a binding still names is a CONFLICT naming the bindings. */
  async deleteRole(name: string): Promise<void> {
    if (isBuiltinRole(name)) throw new InvalidArgumentError(`name: ${name} is a built-in role and cannot be deleted`);
    const role = await this.store.roles.get(name).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') ? new NotFoundError(`role ${JSON.stringify(name)} not found`) : e;
    });
    const using = (await listAll<'RoleBinding'>(this.store.roleBindings)).filter((b) => b.role === name);
    if (using.length > 0) throw new RoleInUseError(name, using);
    await this.store.roles.delete(name, role.resourceVersion);
  }

  /** Bindings, optionally of one subject or in one environment (a `*` binding is listed under `*`). */
  async listBindings(filter: { subject?: RoleBindingSubject; environment?: string } = {}): Promise<RoleBinding[]> {
    return listAll<'RoleBinding'>(this.store.roleBindings, {
      ...(filter.subject === undefined ? {} : { subject: filter.subject }),
      ...(filter.environment === undefined ? {} : { environment: filter.environment }),
    });
  }

  async getBinding(id: string): Promise<RoleBinding> {
    return this.store.roleBindings.get(id).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') || hasErrorCode(e, 'INVALID_ARGUMENT')
        ? new NotFoundError(`role binding ${JSON.stringify(id)} not found`)
        : e;
    });
  }

  /** The binding as it would be stored, every field checked; nothing is written. */
  async normalizeBinding(
    input: RoleBindingInput,
  ): Promise<Omit<RoleBinding, 'resourceVersion' | 'createdAt' | 'createdBy'>> {
    const subject = input.subject as Partial<RoleBindingSubject> | undefined;
    if (typeof subject !== 'object' || subject === null) throw new InvalidArgumentError('subject: is required');
    if (!SUBJECT_TYPES.includes(subject.type as RoleBindingSubject['type']))
      throw new InvalidArgumentError(`subject.type: must be one of ${SUBJECT_TYPES.join(', ')}`);
    if (typeof subject.id !== 'string' || subject.id === '' || subject.id.length > 300 || /[\s\0]/.test(subject.id))
      throw new InvalidArgumentError(
        'subject.id: must be a non-empty string of at most 300 characters, without spaces',
      );
    if (typeof input.role !== 'string' || input.role === '') throw new InvalidArgumentError('role: is required');
    if (!isBuiltinRole(input.role)) {
      const exists = await this.store.roles.get(input.role).then(
        () => true,
        (e: unknown) =>
          hasErrorCode(e, 'NOT_FOUND') || hasErrorCode(e, 'INVALID_ARGUMENT') ? false : Promise.reject(e),
      );
      if (!exists)
        throw new InvalidArgumentError(
          `role: no role named ${JSON.stringify(input.role)} (built-in: ${Object.keys(BUILTIN_ROLES).join(', ')})`,
        );
    }
    const project = input.project ?? DEFAULT_PROJECT;
    if (project !== '*') dnsLabel(project, 'project');
    const environment = input.environment ?? '*';
    if (environment !== '*') {
      const exists = await this.store.environments.get(environment).then(
        () => true,
        (e: unknown) =>
          hasErrorCode(e, 'NOT_FOUND') || hasErrorCode(e, 'INVALID_ARGUMENT') ? false : Promise.reject(e),
      );
      if (!exists) throw new InvalidArgumentError(`environment: no environment named ${JSON.stringify(environment)}`);
    }
    const binding = { subject: { type: subject.type!, id: subject.id }, role: input.role, project, environment };
    return { id: bindingId(binding), ...binding };
  }

  /** Creates a binding; the same grant twice is ALREADY_EXISTS. */
  async createBinding(input: RoleBindingInput, createdBy: string): Promise<RoleBinding> {
    const binding = await this.normalizeBinding(input);
    return this.store.roleBindings.create({ ...binding, createdAt: this.now().toISOString(), createdBy });
  }

  /** Deletes a binding: it stops granting at the next request (see authorizer.ts). */
  async deleteBinding(id: string): Promise<RoleBinding> {
    const binding = await this.getBinding(id);
    await this.store.roleBindings.delete(id, binding.resourceVersion);
    return binding;
  }
}

function builtinView(name: keyof typeof BUILTIN_ROLES): RoleView {
  return { name, description: BUILTIN_DESCRIPTIONS[name], permissions: [...BUILTIN_ROLES[name]], builtin: true };
}

function view(role: Role): RoleView {
  return {
    name: role.name,
    description: role.description,
    permissions: role.permissions,
    builtin: false,
    createdAt: role.createdAt,
    createdBy: role.createdBy,
  };
}
