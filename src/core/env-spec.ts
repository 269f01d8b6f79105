/**
 * `configuration.env`: the environment variables of a deployment's replicas, each a plain `value`
 * or a `secretRef` to an item of a secret in the deployment's environment (the revision pins the
 * secret's version, so a new version of the secret is a visible change, and a rollback gets the
 * value the old revision ran with). The rules, and the split into the runtime's plain `env` and
 * `secretEnv`. Pure. Messages never repeat a value: a user may paste a secret into `value`.
 */
import type { EnvVar } from './resources/deployment-configuration.js';
import { validateSecretKey, validateSecretName } from './secret-rules.js';
import { fail } from './validation.js';

/** Most variables per deployment. */
export const MAX_ENV_VARS = 100;
const MAX_VALUE_BYTES = 32 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the runtime for every replica: a deployment may not override them. */
const RESERVED = /^(PORT|WHARF_.*)$/;

/** Throws unless `env` is a list of at most 100 distinct variables, each a value or a secret ref. */
export function validateEnv(env: unknown, field = 'configuration.env'): asserts env is EnvVar[] {
  if (!Array.isArray(env)) fail(field, 'must be a list of { name, value } or { name, secretRef: { name, key } }');
  if (env.length > MAX_ENV_VARS) fail(field, `at most ${MAX_ENV_VARS} variables, got ${env.length}`);
  const seen = new Set<string>();
  env.forEach((item: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) fail(at, 'must be an object');
    const v = item as Record<string, unknown>;
    for (const key of Object.keys(v))
      if (!['name', 'value', 'secretRef'].includes(key))
        fail(`${at}.${key}`, 'unknown field (allowed: name, value, secretRef)');
    if (typeof v.name !== 'string' || !ENV_NAME.test(v.name) || v.name.length > 253)
      fail(`${at}.name`, 'must match [A-Za-z_][A-Za-z0-9_]*');
    if (RESERVED.test(v.name)) fail(`${at}.name`, 'PORT and WHARF_* are set by Wharf', v.name);
    if (seen.has(v.name)) fail(`${at}.name`, 'is given twice', v.name);
    seen.add(v.name);
    if ((v.value === undefined) === (v.secretRef === undefined)) fail(at, 'needs exactly one of value and secretRef');
    if (v.value !== undefined) {
      if (typeof v.value !== 'string') fail(`${at}.value`, 'must be a string');
      if (Buffer.byteLength(v.value, 'utf8') > MAX_VALUE_BYTES)
        fail(`${at}.value`, `must be at most ${MAX_VALUE_BYTES} bytes`);
      return;
    }
    const ref = v.secretRef;
    if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) fail(`${at}.secretRef`, 'must be { name, key }');
    const r = ref as Record<string, unknown>;
    for (const key of Object.keys(r))
      if (!['name', 'key', 'version'].includes(key))
        fail(`${at}.secretRef.${key}`, 'unknown field (allowed: name, key, version)');
    validateSecretName(r.name, `${at}.secretRef.name`);
    validateSecretKey(r.key, `${at}.secretRef.key`);
    if (r.version !== undefined && (!Number.isSafeInteger(r.version) || (r.version as number) < 1))
      fail(`${at}.secretRef.version`, 'must be a positive integer', r.version);
  });
}

/** The plain variables of `env`, by name. */
export function plainEnv(env: readonly EnvVar[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of env ?? []) if ('value' in v) out[v.name] = v.value;
  return out;
}

/** The secret-backed variables of `env`: name → secret, key and pinned version. */
export function secretEnvRefs(
  env: readonly EnvVar[] | undefined,
): Record<string, { secret: string; key: string; version?: number }> {
  const out: Record<string, { secret: string; key: string; version?: number }> = {};
  for (const v of env ?? [])
    if ('secretRef' in v)
      out[v.name] = {
        secret: v.secretRef.name,
        key: v.secretRef.key,
        ...(v.secretRef.version === undefined ? {} : { version: v.secretRef.version }),
      };
  return out;
}
