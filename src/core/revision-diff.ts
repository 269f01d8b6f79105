/**
 * Field-level diff of two deployment specs (e.g. two revisions), for `wharf revisions diff`, the
 * console and revision reasons. Pure: no I/O.
 *
 * Objects are compared key by key (keys in alphabetical order, so the output is stable whatever order
 * the documents were written in); everything else — strings, numbers, booleans, null, arrays — is a
 * leaf compared by value. A field present on one side only is a change from or to `undefined`.
 * `configuration.env` is compared per variable (`configuration.env.DB_PASSWORD`), a secret-backed
 * one shown by secret, key and version only (`secret db key PASSWORD version 2`): never a value.
 */
import type { DeploymentSpec } from './resources.js';

/** One changed field. `from` / `to` are `undefined` when the field is absent on that side. */
export interface FieldChange {
  /** Dotted path from the spec's root, e.g. `configuration.replicas`. */
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
}

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON-like values (key order of objects does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!jsonEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}

/** `configuration.env` as variable name → how it is set (a plain value, or the secret it is read from). */
function envByName(env: unknown): Plain | undefined {
  if (!Array.isArray(env)) return undefined;
  const out: Plain = {};
  for (const v of env as {
    name: string;
    value?: string;
    secretRef?: { name: string; key: string; version?: number };
  }[])
    out[v.name] =
      v.secretRef === undefined
        ? v.value
        : `secret ${v.secretRef.name} key ${v.secretRef.key}${v.secretRef.version === undefined ? '' : ` version ${v.secretRef.version}`}`;
  return out;
}

function walk(from: unknown, to: unknown, path: string, out: FieldChange[]): void {
  if (path === 'configuration.env' && (Array.isArray(from) || Array.isArray(to))) {
    walk(envByName(from) ?? {}, envByName(to) ?? {}, path, out);
    return;
  }
  if (isPlainObject(from) && isPlainObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    for (const key of keys) walk(from[key], to[key], path === '' ? key : `${path}.${key}`, out);
    return;
  }
  if (!jsonEqual(from, to)) out.push({ path, from, to });
}

/**
 * The fields that differ between `from` and `to`; empty when the specs are equal.
 *
 * @example
 *   diffSpecs(rev2.spec, rev3.spec)
 *   // [{ path: 'configuration.replicas', from: 2, to: 3 }, { path: 'model.version', from: '1.3.0', to: '1.4.0' }]
 */
export function diffSpecs(from: DeploymentSpec, to: DeploymentSpec): FieldChange[] {
  const out: FieldChange[] = [];
  walk(from, to, '', out);
  return out;
}

function show(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

/**
 * One line per change, `path: from → to`, or `no changes`.
 *
 * @example
 *   renderDiff(changes) // 'configuration.replicas: 2 → 3\nmodel.version: "1.3.0" → "1.4.0"'
 */
export function renderDiff(changes: readonly FieldChange[]): string {
  if (changes.length === 0) return 'no changes';
  return changes.map((c) => `${c.path}: ${show(c.from)} → ${show(c.to)}`).join('\n');
}

/**
 * The changed paths as a short list for a revision's reason, e.g. `configuration.replicas, model.version`.
 */
export function changedFields(changes: readonly FieldChange[]): string {
  return changes.map((c) => c.path).join(', ');
}
