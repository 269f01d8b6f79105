/**
 * Request and response schemas of the access endpoints (roles, role bindings, can-i), in the same
 * style as `schemas.ts`: strict objects, so an unknown field is a 400 naming it.
 */
import { z } from '@hono/zod-openapi';

const SubjectType = z.enum(['user', 'serviceAccount', 'group'], {
  message: 'must be one of user, serviceAccount, group',
});

/** POST /api/v1/roles. */
export const RoleCreate = z
  .object({
    name: z.string().min(1),
    description: z.string().max(500).optional(),
    permissions: z.array(z.string()).min(1, 'must list at least one permission'),
  })
  .strict()
  .openapi('RoleCreate');

/** POST /api/v1/rolebindings: the subject by `id` (a principal id or group name) or by `name`. */
export const RoleBindingCreate = z
  .object({
    subject: z
      .object({ type: SubjectType, id: z.string().min(1).optional(), name: z.string().min(1).optional() })
      .strict()
      .refine((s) => (s.id === undefined) !== (s.name === undefined), 'give exactly one of id and name'),
    role: z.string().min(1),
    project: z.string().min(1).optional(),
    environment: z.string().min(1).optional(),
  })
  .strict()
  .openapi('RoleBindingCreate');

export const RoleBody = z
  .object({
    name: z.string(),
    description: z.string(),
    permissions: z.array(z.string()),
    builtin: z.boolean(),
    createdAt: z.string().optional(),
    createdBy: z.string().optional(),
  })
  .openapi('Role');
export const RoleList = z.object({ items: z.array(RoleBody) });

export const RoleBindingBody = z
  .object({
    id: z.string(),
    subject: z.object({ type: SubjectType, id: z.string() }),
    role: z.string(),
    project: z.string(),
    environment: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    resourceVersion: z.number(),
  })
  .openapi('RoleBinding');
export const RoleBindingList = z.object({ items: z.array(RoleBindingBody) });

/** GET /api/v1/auth/can-i. */
export const CanIQuery = z
  .object({
    permission: z.string().min(1).openapi({ description: 'A permission (deployments:create) or a verb (deploy)' }),
    environment: z.string().min(1).optional(),
    project: z.string().min(1).optional(),
    as: z.string().min(1).optional().openapi({ description: 'A user name or principal id; needs roles:admin' }),
  })
  .strict();
export const CanIResponse = z
  .object({
    allowed: z.boolean(),
    reason: z.string(),
    permission: z.string(),
    environment: z.string().optional(),
    principal: z.object({ id: z.string(), name: z.string() }),
  })
  .openapi('CanI');
