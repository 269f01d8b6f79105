/**
 * The deployment reconciler's reading of revision history: revisions by number (immutable, so
 * cached), which workload runs the current revision (a warm earlier one when the spec runs the same
 * replicas), and `status.serving`, the revisions the traffic split gives a share with their model.
 */
import { unlessNotFound } from '../../core/errors.js';
import type { DeploymentSpec, DeploymentStatus, Revision, ServingRevision } from '../../core/resources.js';
import { jsonEqual } from '../../core/revision-diff.js';
import type { Store } from '../../store/store.js';

/** Revisions of deployments by number, read once each (revisions never change). */
export class RevisionCache {
  readonly #revisions = new Map<string, Revision>();

  constructor(private readonly store: Pick<Store, 'revisions'>) {}

  /** Revision `number` of deployment `id`. */
  async get(id: string, number: number): Promise<Revision> {
    const cacheKey = `${id}@${number}`;
    const cached = this.#revisions.get(cacheKey);
    if (cached !== undefined) return cached;
    const revision = await this.store.revisions.get({ deployment: id, number });
    this.#revisions.set(cacheKey, revision);
    return revision;
  }

  /**
   * The workload that runs revision N: the newest running workload whose revision's spec runs the
   * same replicas as N's (a rollback to a warm revision, a scale, a strategy change), else the
   * earliest revision M ≤ N such that every revision from M to N runs the same replicas, else N.
   */
  async workloadRevision(id: string, revision: Revision, running: readonly number[]): Promise<number> {
    for (const number of [...running].sort((a, b) => b - a)) {
      if (number === revision.number) return number;
      const other = await unlessNotFound(this.get(id, number));
      if (other !== undefined && sameWorkload(other.spec, revision.spec)) return number;
    }
    let current = revision;
    while (current.number > 1) {
      const previous = await unlessNotFound(this.get(id, current.number - 1));
      if (previous === undefined || !sameWorkload(previous.spec, current.spec)) break;
      current = previous;
    }
    return current.number;
  }

  /**
   * `status.serving`: the revisions the traffic split gives a share, each with its model version,
   * so that lists show what answers requests (the spec's model is only what is wanted).
   */
  async withServing(
    id: string,
    current: Revision | undefined,
    workloadRevision: number,
    status: DeploymentStatus,
  ): Promise<DeploymentStatus> {
    const targets = status.rollout?.traffic.targets;
    if (current === undefined || targets === undefined) return status;
    const serving: ServingRevision[] = [];
    for (const t of targets.filter((x) => x.weight > 0)) {
      const spec =
        t.revision === workloadRevision ? current.spec : (await unlessNotFound(this.get(id, t.revision)))?.spec;
      serving.push({
        revision: t.revision,
        weight: t.weight,
        ...(spec?.model === undefined ? {} : { model: { name: spec.model.name, version: spec.model.version } }),
      });
    }
    const total = serving.reduce((n, s) => n + s.weight, 0);
    return { ...status, serving: serving.map((s) => ({ ...s, weight: Math.round((s.weight * 100) / total) })) };
  }
}

/**
 * True when two specs run the same replicas: they differ at most in what changes in place (the
 * replica count, autoscaling bounds) or only steers rollouts (the strategy).
 */
export function sameWorkload(a: DeploymentSpec, b: DeploymentSpec): boolean {
  const strip = (s: DeploymentSpec) => ({
    ...s,
    strategy: undefined,
    configuration: { ...s.configuration, replicas: 0, scaling: undefined },
  });
  return jsonEqual(strip(a), strip(b));
}
