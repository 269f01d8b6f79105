/**
 * What an export starts from: the current revision of one deployment as a {@link Workload}, built
 * by its workload kind as for the deployment controller, so an exported revision runs exactly
 * what Wharf would run (test-only fault labels never act in an export). Pure.
 */
import type { BundleVersion, Deployment, ModelVersion } from '../core/resources.js';
import { InvalidArgumentError } from '../core/errors.js';
import { workloadKindOf } from '../workloads/workload-kind.js';
import type { ManifestOptions } from '../runtime/manifests/manifest-options.js';
import type { Workload } from '../runtime/runtime.js';

/** The export formats. */
export const EXPORT_FORMATS = ['manifests', 'helm', 'compose', 'terraform'] as const;
/** One of {@link EXPORT_FORMATS}. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Ownership label of exported objects: not `wharf`, so no Wharf runtime ever deletes them as its own. */
export const EXPORT_OWNER = 'gitops';

/** Everything an exporter needs. */
export interface ExportInput {
  readonly workload: Workload;
  /** Kubernetes namespace of the objects. */
  readonly namespace: string;
  readonly manifests: ManifestOptions;
  /** Also write a Gateway API HTTPRoute (all traffic to this revision) attached to this Gateway. */
  readonly httpRoute?: {
    readonly parentGateway: string;
    readonly parentNamespace?: string;
    readonly hostname?: string;
  };
}

/**
 * The workload of `deployment`'s current revision: serving `version` (a model version, or for an
 * application or worker the version of its bundle, when it has one).
 */
export function exportWorkload(
  deployment: Pick<
    Deployment,
    'environment' | 'name' | 'revision' | 'type' | 'model' | 'configuration' | 'strategy'
  > & { bundle?: Deployment['bundle'] },
  version?: Pick<ModelVersion | BundleVersion, 'version' | 'artifact'>,
): Workload {
  if (deployment.type === 'model' && version === undefined)
    throw new InvalidArgumentError(
      `model: the version of ${deployment.model?.name ?? 'the model'} is required to export it`,
    );
  if (deployment.type !== 'model' && deployment.bundle !== undefined && version === undefined)
    throw new InvalidArgumentError(`bundle: the version of ${deployment.bundle.name} is required to export it`);
  const workload = workloadKindOf(deployment.type).buildWorkload({
    environment: deployment.environment,
    name: deployment.name,
    revision: deployment.revision,
    spec: {
      type: deployment.type,
      ...(deployment.model === undefined ? {} : { model: deployment.model }),
      ...(deployment.bundle === undefined ? {} : { bundle: deployment.bundle }),
      configuration: deployment.configuration,
      strategy: deployment.strategy,
    },
    // Exported pods fetch the artifact (or bundle) by digest from the registry; no local path is involved.
    ...(version === undefined
      ? {}
      : deployment.type === 'model'
        ? { modelVersion: version, artifactPath: `registry:${version.artifact.digest}` }
        : { bundleVersion: version, bundlePath: `registry:${version.artifact.digest}` }),
  });
  if (workload.secretEnv === undefined) return workload;
  // Exports reference Secrets by name (ones the target's operators provide), never a pinned
  // version's Wharf-written Secret, and never a value.
  const secretEnv = Object.fromEntries(
    Object.entries(workload.secretEnv).map(([name, ref]) => [name, { secret: ref.secret, key: ref.key }]),
  );
  return { ...workload, secretEnv };
}

/** Throws unless `value` is an export format. */
export function parseExportFormat(value: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--format: must be one of ${EXPORT_FORMATS.join(', ')}, got ${value}`);
  }
  return value as ExportFormat;
}
