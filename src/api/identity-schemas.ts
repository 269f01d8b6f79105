/**
 * Request and response bodies of the identity routes (users, service accounts, tokens, login,
 * whoami), for validation and `/api/v1/openapi.json`. No response has a field for a password or a
 * hash; only a token's create answer (and login's) carries the token string.
 */
import { z } from '@hono/zod-openapi';

export const UserBody = z.object({
  id: z.string().openapi({ example: 'user:3xq7…' }),
  name: z.string().openapi({ example: 'alice' }),
  groups: z.array(z.string()),
  disabled: z.boolean(),
  hasPassword: z.boolean(),
  createdAt: z.string(),
});
export const UserList = z.object({ items: z.array(UserBody) });
export const UserCreate = z
  .object({
    name: z.string().openapi({ description: 'Unique, compared without case (stored lowercase)' }),
    groups: z.array(z.string()).optional(),
    password: z.string().optional().openapi({ description: '8 to 1024 characters; stored as a scrypt hash only' }),
  })
  .strict();
export const UserPatch = z
  .object({ groups: z.array(z.string()).optional(), disabled: z.boolean().optional() })
  .strict();
export const PasswordSet = z.object({ password: z.string() }).strict();

export const ServiceAccountBody = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
});
export const ServiceAccountList = z.object({ items: z.array(ServiceAccountBody) });
export const ServiceAccountCreate = z.object({ name: z.string(), description: z.string().optional() }).strict();

export const TokenBody = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  ownerName: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  state: z.enum(['active', 'expired', 'revoked']),
});
export const TokenCreated = TokenBody.extend({
  token: z.string().openapi({ description: 'The token string: shown in this answer only, never again' }),
});
export const TokenList = z.object({ items: z.array(TokenBody) });
export const TokenCreate = z
  .object({
    name: z.string(),
    scopes: z.array(z.string()).optional().openapi({ description: 'Default ["*"]: all your roles allow' }),
    expiresIn: z
      .string()
      .optional()
      .openapi({ example: '30d', description: 'm, h, d, w or y; at most 1y; default 30d' }),
    serviceAccount: z.string().optional().openapi({ description: 'Make it for this service account (tokens:admin)' }),
  })
  .strict();

export const LoginRequest = z.object({ name: z.string(), password: z.string() }).strict();
export const LoginResponse = z.object({
  token: z.string(),
  tokenId: z.string(),
  expiresAt: z.string(),
  user: z.object({ id: z.string(), name: z.string() }),
});
export const LogoutResponse = z.object({ revoked: z.string() });

export const WhoamiResponse = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  groups: z.array(z.string()),
  via: z.string(),
  tokenId: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  expiresAt: z.string().nullable(),
});
export const IdentityDeleted = z.object({ deleted: z.string(), revokedTokens: z.number() });

export type UserResponse = z.infer<typeof UserBody>;
export type ServiceAccountResponse = z.infer<typeof ServiceAccountBody>;
export type TokenResponse = z.infer<typeof TokenBody>;
export type TokenCreatedResponse = z.infer<typeof TokenCreated>;
export type LoginAnswerResponse = z.infer<typeof LoginResponse>;
export type WhoamiAnswer = z.infer<typeof WhoamiResponse>;
