/**
 * Environments as users see them (list, get, set policy) and the incidents recorded in them.
 * Environments themselves are created by the server at start (server/environments.ts).
 */
import { hasErrorCode, NotFoundError } from '../core/errors.js';
import type { Environment, EnvironmentPolicies, Incident } from '../core/resources.js';
import type { Page, Store } from '../store/store.js';
import type { PageOptions } from './deployment-changes.js';

/** A change of policies: each field optional, `null` removes that rule (`requiresApproval` cannot be removed). */
export type PolicyUpdate = {
  [K in keyof EnvironmentPolicies]?: K extends 'requiresApproval' ? boolean : EnvironmentPolicies[K] | null;
};

/** Environments listed at once where a view spans all of them (the deployments list, the console). */
const ALL_ENVIRONMENTS_LIMIT = 500;

/** See the module comment. */
export class Environments {
  constructor(private readonly store: Store) {}

  /** One page of environments, in name order. */
  list(page: PageOptions = {}): Promise<Page<Environment>> {
    return this.store.environments.list(page);
  }

  /** Every environment (up to {@link ALL_ENVIRONMENTS_LIMIT}), for views across all of them. */
  async all(): Promise<Environment[]> {
    return (await this.store.environments.list({ limit: ALL_ENVIRONMENTS_LIMIT })).items;
  }

  /** The environment `name`; `NOT_FOUND` if there is none. */
  get(name: string): Promise<Environment> {
    return this.store.environments.get(name).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') ? new NotFoundError(`environment ${JSON.stringify(name)} not found`) : e;
    });
  }

  /**
   * Merges `policies` into the environment's policies (a `null` removes that rule) and sets or
   * (`null`) removes its `region`. Fields left out stay as they are.
   */
  async setPolicies(name: string, policies: PolicyUpdate = {}, region?: string | null): Promise<Environment> {
    const current = await this.get(name);
    const merged: Record<string, unknown> = { ...current.policies };
    for (const [key, value] of Object.entries(policies)) {
      if (value === null) delete merged[key];
      else if (value !== undefined) merged[key] = value;
    }
    const { region: _region, ...rest } = current;
    const next: Environment = { ...rest, policies: merged as unknown as EnvironmentPolicies };
    const newRegion = region === undefined ? current.region : (region ?? undefined);
    if (newRegion !== undefined) next.region = newRegion;
    return this.store.environments.update(next);
  }

  /** Incidents, oldest first; `deployment` alone is that name in every environment. */
  incidents(filter: { environment?: string; deployment?: string }, page: PageOptions = {}): Promise<Page<Incident>> {
    return this.store.incidents.list({
      ...(filter.environment ? { environment: filter.environment } : {}),
      ...(filter.deployment ? { deploymentName: filter.deployment } : {}),
      ...page,
    });
  }
}
