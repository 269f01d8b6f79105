/**
 * Workload kinds: what a deployment runs, one implementation per deployment `type`. A kind
 * validates the part of a spec that is its own, says which artifact a spec runs, defaults its
 * probes, builds the runtime {@link Workload} of a revision and reads the signature of a pushed
 * artifact. The spec rules (core), the reconciler, the registry and the exports ask the kind
 * instead of assuming ONNX.
 *
 * `onnx-model` (`type: model`), `application` and `worker` (a command, `command-spec.ts`); a new
 * kind is one folder under `workloads/` and one line in {@link KINDS}. A type that is named but
 * not implemented yet is refused with what to do instead.
 *
 * @example
 *   const kind = workloadKindOf(spec.type);        // throws `type: …` for a type nothing runs
 *   await runtime.apply(kind.buildWorkload({ environment, name, revision, spec, modelVersion, artifactPath }));
 */
import type { SpecKinds } from '../core/deployment-spec.js';
import { fail } from '../core/validation.js';
import type {
  BundleReference,
  BundleVersion,
  DeploymentSpec,
  DeploymentType,
  ModelReference,
  ModelVersion,
} from '../core/resources.js';
import type { Workload } from '../runtime/runtime.js';
import { applicationKind } from './application/application-kind.js';
import { onnxModelKind } from './onnx-model/onnx-model-kind.js';
import { workerKind } from './worker/worker-kind.js';
import type { ProbePaths } from './workload-base.js';

/** A model version's inputs and outputs, as a kind reads them from the artifact. */
export type Signature = ModelVersion['signature'];

/** What a kind builds a revision's workload from. */
export interface WorkloadSource {
  readonly environment: string;
  /** The deployment's name. */
  readonly name: string;
  readonly revision: number;
  readonly spec: DeploymentSpec;
  /** The model version {@link WorkloadKind.artifactOf} names, for a kind that runs one. */
  readonly modelVersion?: Pick<ModelVersion, 'version' | 'artifact'> & { readonly labels?: ModelVersion['labels'] };
  /** Where the replicas find that version's artifact (a local path, or `registry:<digest>` for an export). */
  readonly artifactPath?: string;
  /** The bundle version {@link WorkloadKind.bundleOf} names, for a kind that runs one. */
  readonly bundleVersion?: Pick<BundleVersion, 'version' | 'artifact'>;
  /** Where the replicas find that bundle's tarball (a local path, or `registry:<digest>` for an export). */
  readonly bundlePath?: string;
  /** Passed to the workload's probes. */
  readonly startupGraceMs?: number;
  /** Honour test-only fault labels (`wharf up --enable-test-faults`); never in production. */
  readonly testFaults?: boolean;
}

/** One kind of workload. */
export interface WorkloadKind {
  /** The kind's name, also its folder under `workloads/`: `onnx-model`. */
  readonly name: string;
  /** The deployment `type` it runs. */
  readonly type: DeploymentType;
  /** Probe paths of its replicas where the spec names none. */
  readonly probes: ProbePaths;
  /** The file extension its artifacts are read from (`.onnx`). */
  readonly artifactExtension: string;
  /** Throws `INVALID_ARGUMENT` naming the field unless the kind's own part of `spec` is valid. */
  validateSpec(spec: DeploymentSpec): void;
  /** The model version a spec runs (its artifact), or undefined when it names none. */
  artifactOf(spec: DeploymentSpec): ModelReference | undefined;
  /** The bundle a spec runs its command inside, or undefined when it names none (kinds without bundles omit it). */
  bundleOf?(spec: DeploymentSpec): BundleReference | undefined;
  /** The runtime workload of one revision. Pure: the same source always yields the same workload. */
  buildWorkload(source: WorkloadSource): Workload;
  /** Loads the artifact at `file` the way the replicas will and returns its signature; `INVALID_ARGUMENT` on `artifact` if it cannot run. */
  readSignature(file: string, id: { name: string; version: string }): Promise<Signature>;
}

/** Every implemented kind: one line each. */
const KINDS: readonly WorkloadKind[] = [onnxModelKind, applicationKind, workerKind];

/** Types named in the API but not implemented yet: why not, and what to do instead. */
const PLANNED: Readonly<Partial<Record<DeploymentType, string>>> = {};

/** Every deployment type, implemented or planned, in the order messages list them. */
const TYPES: readonly string[] = [...KINDS.map((k) => k.type), ...Object.keys(PLANNED)];

/**
 * The kind that runs deployments of `type`. Throws `INVALID_ARGUMENT` on `field` for a type that
 * does not exist or is not implemented yet.
 */
export function workloadKindOf(type: unknown, field = 'type'): WorkloadKind {
  const kind = KINDS.find((k) => k.type === type);
  if (kind !== undefined) return kind;
  const planned = typeof type === 'string' ? PLANNED[type as DeploymentType] : undefined;
  if (planned !== undefined) fail(field, planned, type);
  return fail(field, `must be ${TYPES.map((t) => `'${t}'`).join(' or ')}`, type);
}

/** The kinds as the spec rules of `core/deployment-spec.ts` need them. */
export const WORKLOAD_SPEC_KINDS: SpecKinds = {
  validate(spec) {
    workloadKindOf(spec.type).validateSpec(spec);
  },
  readinessPath(type) {
    return (KINDS.find((k) => k.type === type) ?? onnxModelKind).probes.readiness;
  },
};
