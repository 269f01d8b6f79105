/**
 * How the change gate replays an approved request: one executor per gated action, reading the
 * request exactly as the API stored it when it submitted the change (see change-gate.ts).
 */
import type { ChangeExecutor } from './change-gate.js';
import type { DeploymentService } from './deployment-service.js';
import type { PromotionPlan, Promotions } from './environment-promotion.js';
import type { Environments } from './environments.js';

/** The executors the gate replays approved requests with. */
export function approvalExecutors(
  deployments: DeploymentService,
  promotions: Promotions,
  environments: Environments,
): Readonly<Record<string, ChangeExecutor>> {
  type R = Record<string, never>;
  const str = (r: Record<string, unknown>, k: string) => r[k] as string;
  return {
    create: (r, o) => deployments.create(r.input as Parameters<DeploymentService['create']>[0], o),
    update: (r, o) => deployments.update(str(r, 'name'), str(r, 'environment'), r.patch as R, o),
    scale: (r, o) => deployments.scale(str(r, 'name'), str(r, 'environment'), r.replicas as number, o),
    rollback: (r, o) =>
      deployments.rollback(str(r, 'name'), str(r, 'environment'), {
        ...o,
        ...(r.toRevision === undefined ? {} : { toRevision: r.toRevision as number }),
      }),
    delete: (r, o) => deployments.delete(str(r, 'name'), str(r, 'environment'), o),
    promote: (r, o) => promotions.apply(r.plan as PromotionPlan, o),
    // A policy change that loosens a gate (see Environments.changePolicies).
    'set-policy': (r) =>
      environments.setPolicies(
        str(r, 'name'),
        r.policies as Parameters<Environments['setPolicies']>[1],
        r.region as string | null | undefined,
      ),
  };
}
