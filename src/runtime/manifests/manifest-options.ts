/** Settings of the manifest renderers, with every default declared in one place. */
import { InvalidArgumentError } from '../../core/errors.js';
import { WHARF_VERSION } from '../../core/version.js';

/** What the renderers need beyond the workload itself. */
export interface ManifestOptions {
  /** Image with the `wharf` command, used by model servers and the artifact and bundle init containers. */
  readonly image?: string;
  /**
   * Image an application or worker with a bundle and no `image` of its own runs in: its command
   * runs with the unpacked bundle as working directory. Default: {@link ManifestOptions.image}
   * (the Wharf image, which has Node.js); a Python app needs one with its interpreter and packages.
   */
  readonly appBaseImage?: string;
  /** Base URL pods download artifacts from (`<url>/api/v1/blobs/<digest>`), e.g. `http://wharf.wharf-system:8080`. */
  readonly registryUrl: string;
  /** Value of the ownership label `wharf.dev/owner` (default `wharf`). */
  readonly owner?: string;
  /** Port the model server listens on inside the pod. */
  readonly port?: number;
  /** Seconds the pod waits in `preStop` so endpoints are removed before the server drains. */
  readonly preStopSeconds?: number;
  /** Seconds the server may drain after the preStop delay before the kubelet kills it. */
  readonly drainSeconds?: number;
  /**
   * Name of the Kubernetes Secret (in the workload's namespace) whose key `token` holds a scoped,
   * expiring pull token (`models:read`) for `/api/v1/blobs/…`: the artifact init container reads it
   * as `WHARF_PULL_TOKEN` through `secretKeyRef`, so the token is never in the manifest. '' (the
   * default): none, for a registry that serves blobs without a credential.
   */
  readonly pullTokenSecret?: string;
}

/** Options with every default filled in. */
export type ResolvedManifestOptions = Required<ManifestOptions>;

/** The defaults. */
export const MANIFEST_DEFAULTS = {
  image: `ghcr.io/wharf-dev/wharf:${WHARF_VERSION}`,
  owner: 'wharf',
  port: 8080,
  preStopSeconds: 5,
  drainSeconds: 25,
  pullTokenSecret: '',
} as const;

/** Fills in defaults and rejects values Kubernetes would reject later with a less clear message. */
export function resolveManifestOptions(options: ManifestOptions): ResolvedManifestOptions {
  const resolved: ResolvedManifestOptions = {
    image: options.image ?? MANIFEST_DEFAULTS.image,
    appBaseImage: options.appBaseImage ?? options.image ?? MANIFEST_DEFAULTS.image,
    registryUrl: options.registryUrl,
    owner: options.owner ?? MANIFEST_DEFAULTS.owner,
    port: options.port ?? MANIFEST_DEFAULTS.port,
    preStopSeconds: options.preStopSeconds ?? MANIFEST_DEFAULTS.preStopSeconds,
    drainSeconds: options.drainSeconds ?? MANIFEST_DEFAULTS.drainSeconds,
    pullTokenSecret: options.pullTokenSecret ?? MANIFEST_DEFAULTS.pullTokenSecret,
  };
  if (typeof resolved.registryUrl !== 'string' || !/^https?:\/\/[^/]/.test(resolved.registryUrl)) {
    throw new InvalidArgumentError(`registryUrl: must be an http(s) URL, got ${JSON.stringify(resolved.registryUrl)}`);
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 1 || resolved.port > 65535) {
    throw new InvalidArgumentError(`port: must be an integer from 1 to 65535, got ${resolved.port}`);
  }
  for (const field of ['preStopSeconds', 'drainSeconds'] as const) {
    if (!Number.isInteger(resolved[field]) || resolved[field] < 0) {
      throw new InvalidArgumentError(`${field}: must be a non-negative integer, got ${resolved[field]}`);
    }
  }
  for (const field of ['image', 'appBaseImage'] as const) {
    if (typeof resolved[field] !== 'string' || resolved[field].trim() === '' || /\s/.test(resolved[field]))
      throw new InvalidArgumentError(
        `${field}: must be an image reference without spaces, got ${JSON.stringify(resolved[field])}`,
      );
  }
  if (!/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/i.test(resolved.owner)) {
    throw new InvalidArgumentError(
      `owner: must be a label value (1-63 of A-Z a-z 0-9 . _ -), got ${JSON.stringify(resolved.owner)}`,
    );
  }
  return resolved;
}
