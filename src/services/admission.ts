/**
 * Admission of a deployment change: reads what the pure evaluator (`core/admission-policies.ts`)
 * needs, inside the change's own transaction (the environment, the model version, the other
 * deployments of the environment), and refuses the change with `POLICY_VIOLATION` (403) naming
 * every broken policy and rule. Called by create and by every spec change (update, scale,
 * rollback; promotion is one of those), and by the dry run (`policy-test`), which answers the
 * violations instead of throwing.
 */
import { type AdmissionInput, evaluateAdmission, type PolicyViolation } from '../core/admission-policies.js';
import { deletionRequestedAt } from '../core/deployment-identity.js';
import { hasErrorCode, InvalidArgumentError, PolicyViolationError, unlessNotFound } from '../core/errors.js';
import { type Deployment, deploymentSpec, type DeploymentSpec, type Environment } from '../core/resources.js';
import type { StoreCollections } from '../store/store.js';

/** Deployments read per page when summing an environment's quota. */
const PAGE = 500;

/** The environment `name`, or `INVALID_ARGUMENT` on `environment` when there is none. */
export async function environmentOf(tx: StoreCollections, name: string): Promise<Environment> {
  return tx.environments.get(name).catch((e: unknown) => {
    throw hasErrorCode(e, 'NOT_FOUND')
      ? new InvalidArgumentError(`environment: no environment named ${JSON.stringify(name)}`)
      : e;
  });
}

/**
 * Every violation of `spec` in `environment`. `current` is the deployment being changed (absent on
 * a create); it is left out of the environment's other deployments.
 */
export async function admissionViolations(
  tx: StoreCollections,
  environment: Environment,
  spec: DeploymentSpec,
  current?: Pick<Deployment, 'id'> & DeploymentSpec,
): Promise<PolicyViolation[]> {
  const input: AdmissionInput = {
    environment,
    spec,
    others: hasQuota(environment) ? await otherSpecs(tx, environment.name, current?.id) : [],
  };
  if (current !== undefined) input.current = deploymentSpec(current);
  if (spec.model !== undefined) {
    const version = await unlessNotFound(tx.modelVersions.get({ model: spec.model.name, version: spec.model.version }));
    if (version !== undefined) input.modelVersion = version;
  }
  return evaluateAdmission(input);
}

/** Throws {@link PolicyViolationError} when {@link admissionViolations} finds any. */
export async function admit(
  tx: StoreCollections,
  environment: Environment,
  spec: DeploymentSpec,
  current?: Pick<Deployment, 'id'> & DeploymentSpec,
): Promise<void> {
  const violations = await admissionViolations(tx, environment, spec, current);
  if (violations.length > 0) throw new PolicyViolationError(violations);
}

function hasQuota(environment: Environment): boolean {
  return Object.keys(environment.policies.quota ?? {}).length > 0;
}

async function otherSpecs(
  tx: StoreCollections,
  environment: string,
  except: string | undefined,
): Promise<DeploymentSpec[]> {
  const specs: DeploymentSpec[] = [];
  let token: string | undefined;
  do {
    const page = await tx.deployments.list({ environment, limit: PAGE, ...(token ? { continue: token } : {}) });
    for (const d of page.items) {
      if (d.id !== except && deletionRequestedAt(d) === undefined) specs.push(deploymentSpec(d));
    }
    token = page.continue;
  } while (token);
  return specs;
}
