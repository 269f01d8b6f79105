/**
 * Environments as users see them (list, get, set policy) and the incidents recorded in them.
 * Environments themselves are created by the server at start (server/environments.ts).
 */
import { hasErrorCode, NotFoundError } from '../core/errors.js';
import type { Approval, Environment, EnvironmentPolicies, Incident } from '../core/resources.js';
import { checkFailoverFor } from '../core/failover.js';
import type { Page, Store } from '../store/store.js';
import type { ChangeGate } from './change-gate.js';
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

  /**
   * Makes `name` the stand-in of `target` for disaster recovery (`null` removes it), checked by
   * {@link checkFailoverFor}: the target exists, is not `name`, and nothing chains.
   */
  async setFailoverFor(name: string, target: string | null): Promise<Environment> {
    const current = await this.get(name);
    const { failoverFor: _previous, ...rest } = current;
    if (target === null) return this.store.environments.update(rest);
    checkFailoverFor(name, target, await this.all());
    return this.store.environments.update({ ...rest, failoverFor: target });
  }

  /**
   * A policy change as callers ask for it: applied at once, except that in an environment that
   * requires approval a change that loosens anything (turning `requiresApproval` off, removing or
   * changing any other rule, changing the region) goes through the change gate as an approval of
   * its own (action `set-policy`, applied when another person approves it), so a gate cannot be
   * switched off, passed and switched back by one person. Only adding a rule that was not there
   * is applied at once.
   */
  async changePolicies(
    name: string,
    change: { policies?: PolicyUpdate; region?: string | null },
    gate: ChangeGate,
    options: { actor: string; reason?: string },
  ): Promise<{ applied: Environment } | { approval: Approval }> {
    const current = await this.get(name);
    const { policies = {}, region } = change;
    const apply = () => this.setPolicies(name, policies, region);
    if (!current.policies.requiresApproval || !loosens(current, policies, region)) return { applied: await apply() };
    return gate.submit(
      {
        environment: name,
        deploymentName: '',
        action: 'set-policy',
        request: { name, policies, ...(region === undefined ? {} : { region }) },
        summary: `loosen the policies of environment ${name}: ${describePolicyChange(policies, region)}`,
        actor: options.actor,
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      },
      apply,
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

/**
 * Whether a change may let through something the current policies refuse: `requiresApproval`
 * turned off, any existing rule removed or changed, or the region changed. Adding a rule the
 * environment did not have only tightens.
 */
function loosens(current: Environment, policies: PolicyUpdate, region: string | null | undefined): boolean {
  if (region !== undefined && (region ?? undefined) !== current.region) return true;
  const now = current.policies as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(policies)) {
    if (value === undefined) continue;
    if (key === 'requiresApproval') {
      if (value === false) return true;
      continue;
    }
    if (now[key] !== undefined && JSON.stringify(now[key]) !== JSON.stringify(value)) return true;
  }
  return false;
}

/** A short account of a policy change, for the approval's summary. */
function describePolicyChange(policies: PolicyUpdate, region: string | null | undefined): string {
  const parts = Object.entries(policies)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (v === null ? `remove ${k}` : `${k} = ${JSON.stringify(v)}`));
  if (region !== undefined) parts.push(region === null ? 'remove region' : `region = ${region}`);
  return parts.join(', ');
}
