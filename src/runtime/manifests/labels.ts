/**
 * Names and labels of everything Wharf puts on a cluster. Pure.
 *
 * Every object carries the recommended `app.kubernetes.io/*` labels, Wharf's own
 * `wharf.dev/deployment`, `/revision` (revision objects only) and `/environment`, and the ownership
 * label `wharf.dev/owner`: clean-up deletes by label selector, and the owner value keeps two Wharf
 * installations on one cluster from deleting each other's objects.
 */
import type { WorkloadKey } from '../runtime.js';

/** Wharf's label keys. */
export const LABELS = {
  deployment: 'wharf.dev/deployment',
  revision: 'wharf.dev/revision',
  environment: 'wharf.dev/environment',
  owner: 'wharf.dev/owner',
} as const;

/** Annotation holding the hash of everything rendered for a revision (see `specHash`). */
export const SPEC_HASH_ANNOTATION = 'wharf.dev/spec-hash';

/** Labels the in-cluster gateway's pods carry; the NetworkPolicy admits only these. */
export const GATEWAY_POD_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/part-of': 'wharf',
  'app.kubernetes.io/component': 'gateway',
};

/**
 * The name of a revision's objects (Deployment, Service, ConfigMap, HPA), e.g. `risk-r3`. A
 * deployment name is a DNS label of at most 63 characters; the revision suffix may push it past
 * that, so a long name is cut and keeps a short hash of the full name to stay unique.
 */
export function revisionName(key: Pick<WorkloadKey, 'deployment' | 'revision'>): string {
  return dnsLabel(`${key.deployment}-r${key.revision}`);
}

/** Shortens `name` to a DNS label of at most 63 characters, keeping it unique with a hash suffix. */
export function dnsLabel(name: string): string {
  if (name.length <= 63) return name;
  return `${name.slice(0, 54).replace(/-+$/, '')}-${fnv1a(name).slice(0, 8)}`;
}

/**
 * A valid label value made from `value`: at most 63 of `A-Z a-z 0-9 - _ .`, alphanumeric at both
 * ends (so `1.0.0+build.5` becomes `1.0.0_build.5`).
 */
export function labelValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/** Labels shared by every object of one deployment (no revision). */
export function deploymentLabels(
  key: Pick<WorkloadKey, 'environment' | 'deployment'>,
  owner: string,
): Record<string, string> {
  return {
    'app.kubernetes.io/name': labelValue(key.deployment),
    'app.kubernetes.io/part-of': 'wharf',
    'app.kubernetes.io/managed-by': 'wharf',
    [LABELS.deployment]: labelValue(key.deployment),
    [LABELS.environment]: labelValue(key.environment),
    [LABELS.owner]: labelValue(owner),
  };
}

/** Labels of a revision's objects and pods. */
export function revisionLabels(
  key: WorkloadKey,
  owner: string,
  extra: { version?: string; component: string },
): Record<string, string> {
  return {
    ...deploymentLabels(key, owner),
    'app.kubernetes.io/instance': revisionName(key),
    'app.kubernetes.io/component': extra.component,
    ...(extra.version ? { 'app.kubernetes.io/version': labelValue(extra.version) } : {}),
    [LABELS.revision]: String(key.revision),
  };
}

/**
 * The immutable pod selector of a revision's Deployment and Service: only what never changes for
 * the revision (a Deployment's selector cannot be edited after creation).
 */
export function revisionSelector(key: WorkloadKey, owner: string): Record<string, string> {
  return {
    [LABELS.environment]: labelValue(key.environment),
    [LABELS.deployment]: labelValue(key.deployment),
    [LABELS.revision]: String(key.revision),
    [LABELS.owner]: labelValue(owner),
  };
}

/** `a=b,c=d` for a label selector query parameter. */
export function selectorString(labels: Readonly<Record<string, string>>, extra: readonly string[] = []): string {
  return [...Object.entries(labels).map(([k, v]) => `${k}=${v}`), ...extra].join(',');
}

/** 32-bit FNV-1a as 8 hex digits: a short, stable, non-cryptographic name suffix. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
