/**
 * Environments as users see them (list, get, set policy) and the incidents recorded in them.
 * Environments themselves are created by the server at start (server/environments.ts).
 */
import { hasErrorCode, NotFoundError } from '../core/errors.js';
import type { Approval, Environment, EnvironmentPolicies, Incident } from '../core/resources.js';
import type { Page, Store } from '../store/store.js';
import type { ChangeGate } from './change-gate.js';
import type { PageOptions } from './deployment-changes.js';

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

  /** Merges `policies` into the environment's policies. */
  async setPolicies(name: string, policies: Partial<EnvironmentPolicies>): Promise<Environment> {
    const current = await this.get(name);
    return this.store.environments.update({ ...current, policies: { ...current.policies, ...policies } });
  }

  /**
   * A policy change as callers ask for it: applied at once, except that turning `requiresApproval`
   * off where it is on goes through the change gate as an approval of its own (action `set-policy`,
   * applied when another person approves it), so the gate cannot be switched off, passed and
   * switched back by one person.
   */
  async changePolicies(
    name: string,
    policies: Partial<EnvironmentPolicies>,
    gate: ChangeGate,
    options: { actor: string; reason?: string },
  ): Promise<{ applied: Environment } | { approval: Approval }> {
    const current = await this.get(name);
    const loosens = current.policies.requiresApproval && policies.requiresApproval === false;
    if (!loosens) return { applied: await this.setPolicies(name, policies) };
    return gate.submit(
      {
        environment: name,
        deploymentName: '',
        action: 'set-policy',
        request: { name, policies },
        summary: `turn requiresApproval off in environment ${name}`,
        actor: options.actor,
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      },
      () => this.setPolicies(name, policies),
    );
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
