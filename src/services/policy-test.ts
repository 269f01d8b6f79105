/**
 * The dry run of admission (`wharf policy test -f deployment.yaml -e production`): what the
 * environment's policies would say to a deployment document, as `apply` would send it (a create
 * when no deployment of that name is there, else an update merged into its spec), changing nothing.
 */
import type { PolicyViolation } from '../core/admission-policies.js';
import { deploymentId } from '../core/deployment-identity.js';
import {
  applyPatch,
  type DeploymentInput,
  type DeploymentPatch,
  specFromInput,
  validateDeploymentName,
} from '../core/deployment-spec.js';
import { InvalidArgumentError, unlessNotFound } from '../core/errors.js';
import { deploymentSpec } from '../core/resources.js';
import type { StoreCollections } from '../store/store.js';
import { WORKLOAD_SPEC_KINDS } from '../workloads/workload-kind.js';
import { admissionViolations, environmentOf } from './admission.js';
import { environmentName } from './deployment-lookup.js';

/** A deployment document to test: `environment` may be left out (the test names it). */
export type PolicyTestDocument = Omit<DeploymentInput, 'environment' | 'model' | 'bundle'> & {
  environment?: string;
  model?: Partial<NonNullable<DeploymentInput['model']>>;
  bundle?: Partial<NonNullable<DeploymentInput['bundle']>>;
};

/** What the dry run answers. */
export interface PolicyTestOutcome {
  environment: string;
  name: string;
  change: 'create' | 'update';
  allowed: boolean;
  violations: PolicyViolation[];
}

/** Every violation `document` would meet in `environment`; reads only. */
export async function testPolicies(
  store: StoreCollections,
  environment: string,
  document: PolicyTestDocument,
): Promise<PolicyTestOutcome> {
  environmentName(environment);
  if (typeof document !== 'object' || document === null) throw new InvalidArgumentError('body: must be an object');
  validateDeploymentName(document.name);
  if (document.environment !== undefined && document.environment !== environment)
    throw new InvalidArgumentError(
      `environment: the document is for ${JSON.stringify(document.environment)}, the test for ${JSON.stringify(environment)}`,
    );
  const env = await environmentOf(store, environment);
  const existing = await unlessNotFound(store.deployments.get(deploymentId(environment, document.name)));
  const { name, environment: _environment, type: _type, ...patch } = document;
  const spec =
    existing === undefined
      ? specFromInput({ ...document, environment } as DeploymentInput, WORKLOAD_SPEC_KINDS)
      : applyPatch(deploymentSpec(existing), patch as DeploymentPatch, WORKLOAD_SPEC_KINDS);
  const violations = await admissionViolations(store, env, spec, existing);
  return {
    environment,
    name,
    change: existing === undefined ? 'create' : 'update',
    allowed: violations.length === 0,
    violations,
  };
}
